#pragma once
// Classification metrics over predicted and true labels (host vectors of class indices), and
// the predicted labels of a batch of logits (argmax on the device, one copy to the host).
#include <cstdint>
#include <vector>

#include "axon/export.h"
#include "axon/tensor.h"

namespace axon::nn {

// argmax of each row of logits [rows, classes], as host labels.
AXON_API std::vector<std::int32_t> predicted_labels(const Tensor& logits);

// The fraction of equal labels. ValueError for different lengths or none.
AXON_API double accuracy(const std::vector<std::int32_t>& predicted, const std::vector<std::int32_t>& truth);

// counts[t][p]: how many samples of true class t were predicted as p. ValueError for a label
// outside [0, classes).
class AXON_API ConfusionMatrix {
 public:
  ConfusionMatrix(const std::vector<std::int32_t>& predicted, const std::vector<std::int32_t>& truth,
                  int classes);
  int classes() const { return classes_; }
  std::int64_t count(int truth, int predicted) const;
  std::int64_t total() const { return total_; }

  // Per class; 0 where the denominator is 0 (as scikit-learn's zero_division=0).
  double precision(int c) const;
  double recall(int c) const;
  double f1(int c) const;
  // Unweighted means over the classes.
  double macro_precision() const;
  double macro_recall() const;
  double macro_f1() const;
  double accuracy() const;

 private:
  int classes_;
  std::int64_t total_ = 0;
  std::vector<std::int64_t> counts_;  // classes x classes, row = truth
};

}  // namespace axon::nn

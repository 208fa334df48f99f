#pragma once
// Dataset: features and targets as tensors, held on the training device once (never copied
// per batch); mini-batches are gathered on that device (gather_rows) from a permutation that
// is reshuffled each epoch from the seed.
#include <cstdint>
#include <filesystem>
#include <utility>
#include <vector>

#include "axon/export.h"
#include "axon/tensor.h"

namespace axon::data {

class AXON_API Dataset {
 public:
  Dataset() = default;
  // features float32 [N, ...]; targets float32 [N, ...] or int32 class labels [N]. ShapeError
  // when the row counts differ, DTypeError for other dtypes, DeviceError when on two devices.
  Dataset(Tensor features, Tensor targets);

  std::int64_t size() const { return features_.defined() ? features_.dim(0) : 0; }
  bool empty() const { return size() == 0; }
  const Tensor& features() const { return features_; }
  const Tensor& targets() const { return targets_; }
  bool has_labels() const { return targets_.dtype() == DType::kInt32; }
  Device device() const { return features_.device(); }

  Dataset to(Device device) const;                               // a copy there
  Dataset rows(std::int64_t begin, std::int64_t end) const;      // a view of rows [begin, end)
  Dataset select(const std::vector<std::int32_t>& indices) const;  // a copy of those rows

 private:
  Tensor features_;
  Tensor targets_;
};

// A permutation of [0, n), the same on every machine: Fisher-Yates driven by Philox keyed by
// (seed, epoch).
AXON_API std::vector<std::int32_t> shuffled_indices(std::int64_t n, std::uint64_t seed, std::uint64_t epoch);

// Shuffles (with the seed) and splits: the first part for training, the last
// validation_fraction of the rows for validation. ValueError unless 0 < fraction < 1 and both
// parts have rows.
AXON_API std::pair<Dataset, Dataset> train_validation_split(const Dataset& data, double validation_fraction,
                                                            std::uint64_t seed);

// The k folds of k-fold cross-validation: fold i validates on the i-th k-th of a shuffled
// order and trains on the rest. ValueError unless 2 <= k <= rows.
AXON_API std::vector<std::pair<Dataset, Dataset>> k_folds(const Dataset& data, int k, std::uint64_t seed);

// Fashion-MNIST (or MNIST) from a folder of the four gzipped IDX files as Debian's
// dataset-fashion-mnist ships them (/usr/share/datasets/fashion-mnist): pixels scaled to
// [0, 1] as float32 [N, 784], labels int32 [N]. train selects the 60000, else the 10000.
AXON_API Dataset load_mnist_folder(const std::filesystem::path& folder, bool train);

}  // namespace axon::data

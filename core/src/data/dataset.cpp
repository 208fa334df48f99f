#include "axon/data/dataset.h"

#include <algorithm>
#include <limits>

#include "axon/data/idx.h"
#include "axon/error.h"
#include "axon/ops.h"
#include "core/src/philox.h"

namespace axon::data {

Dataset::Dataset(Tensor features, Tensor targets) : features_(std::move(features)), targets_(std::move(targets)) {
  if (!features_.defined() || !targets_.defined()) throw ValueError("Dataset: features and targets must be defined");
  if (features_.dtype() != DType::kFloat32) {
    throw DTypeError("Dataset: features must be float32, got " + features_.describe());
  }
  if (features_.rank() < 1 || targets_.rank() < 1 || features_.dim(0) != targets_.dim(0)) {
    throw ShapeError("Dataset: features and targets need the same number of rows, got features " +
                     features_.describe() + " and targets " + targets_.describe());
  }
  if (targets_.dtype() == DType::kInt32 && targets_.rank() != 1) {
    throw ShapeError("Dataset: int32 labels must be [rows], got " + targets_.describe());
  }
  if (features_.device() != targets_.device()) {
    throw DeviceError("Dataset: features on " + features_.device().str() + " but targets on " +
                      targets_.device().str());
  }
}

Dataset Dataset::to(Device device) const { return Dataset(features_.to(device), targets_.to(device)); }

Dataset Dataset::rows(std::int64_t begin, std::int64_t end) const {
  return Dataset(features_.rows(begin, end), targets_.rows(begin, end));
}

Dataset Dataset::select(const std::vector<std::int32_t>& indices) const {
  const Tensor index = Tensor::from_vector({static_cast<std::int64_t>(indices.size())},
                                           std::span<const std::int32_t>(indices), device());
  return Dataset(gather_rows(features_, index), gather_rows(targets_, index));
}

std::vector<std::int32_t> shuffled_indices(std::int64_t n, std::uint64_t seed, std::uint64_t epoch) {
  if (n < 0 || n > std::numeric_limits<std::int32_t>::max()) {
    throw ValueError("shuffled_indices: n must be in [0, 2^31), got " + std::to_string(n));
  }
  std::vector<std::int32_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i);
  // Fisher-Yates; draw i uses 64 random bits from Philox block i of the key (seed ^ epoch mix).
  const std::uint64_t key = seed * 0x9E3779B97F4A7C15ull + epoch;
  for (std::int64_t i = n - 1; i > 0; --i) {
    const philox::Block block = philox::generate(key, static_cast<std::uint64_t>(i));
    const std::uint64_t bits = (static_cast<std::uint64_t>(block.v[0]) << 32) | block.v[1];
    const auto j = static_cast<std::int64_t>(bits % static_cast<std::uint64_t>(i + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

std::pair<Dataset, Dataset> train_validation_split(const Dataset& data, double validation_fraction,
                                                   std::uint64_t seed) {
  if (!(validation_fraction > 0.0 && validation_fraction < 1.0)) {
    throw ValueError("train_validation_split: validation_fraction must be in (0, 1), got " +
                     std::to_string(validation_fraction));
  }
  const std::int64_t n = data.size();
  const auto validation = static_cast<std::int64_t>(static_cast<double>(n) * validation_fraction + 0.5);
  if (validation < 1 || validation >= n) {
    throw ValueError("train_validation_split: " + std::to_string(n) + " rows cannot be split " +
                     std::to_string(validation_fraction) + " for validation with rows on both sides");
  }
  const std::vector<std::int32_t> order = shuffled_indices(n, seed, 0);
  const std::vector<std::int32_t> train(order.begin(), order.end() - validation);
  const std::vector<std::int32_t> held(order.end() - validation, order.end());
  return {data.select(train), data.select(held)};
}

std::vector<std::pair<Dataset, Dataset>> k_folds(const Dataset& data, int k, std::uint64_t seed) {
  const std::int64_t n = data.size();
  if (k < 2 || k > n) {
    throw ValueError("k_folds: k must be in [2, rows] = [2, " + std::to_string(n) + "], got " + std::to_string(k));
  }
  const std::vector<std::int32_t> order = shuffled_indices(n, seed, 0);
  std::vector<std::pair<Dataset, Dataset>> folds;
  for (int fold = 0; fold < k; ++fold) {
    const std::int64_t begin = n * fold / k, end = n * (fold + 1) / k;
    std::vector<std::int32_t> train, held;
    for (std::int64_t i = 0; i < n; ++i) {
      (i >= begin && i < end ? held : train).push_back(order[static_cast<std::size_t>(i)]);
    }
    folds.emplace_back(data.select(train), data.select(held));
  }
  return folds;
}

Dataset load_mnist_folder(const std::filesystem::path& folder, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  const auto find = [&](const std::string& stem) {
    for (const char* suffix : {".gz", ""}) {
      const std::filesystem::path path = folder / (stem + suffix);
      if (std::filesystem::exists(path)) return path;
    }
    throw FormatError("load_mnist_folder: neither " + (folder / (stem + ".gz")).string() + " nor " +
                      (folder / stem).string() + " exists");
  };
  Tensor images = read_idx(find(prefix + "-images-idx3-ubyte"), DType::kFloat32);
  Tensor labels = read_idx(find(prefix + "-labels-idx1-ubyte"), DType::kInt32);
  if (images.rank() != 3 || labels.rank() != 1 || images.dim(0) != labels.dim(0)) {
    throw FormatError("load_mnist_folder: " + folder.string() + " holds images " + images.describe() +
                      " and labels " + labels.describe() + ", which do not pair up");
  }
  const std::int64_t pixels = images.dim(1) * images.dim(2);
  Tensor features = images.reshape({images.dim(0), pixels});
  scale_out(features, 1.0f / 255.0f, features);
  return Dataset(features, labels);
}

}  // namespace axon::data

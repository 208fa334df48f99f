// BatchNorm: training forward and backward are one op each (the batch statistics kept for the
// backward in two [C] buffers); evaluation is one op with the running statistics.
#include "axon/nn/batch_norm.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "axon/error.h"
#include "axon/nn/registry.h"
#include "axon/ops.h"

namespace axon::nn {

namespace {
constexpr std::int64_t kMaxFeatures = std::int64_t{1} << 24;

const bool kRegistered = [] {
  for (const int dims : {1, 2}) {
    register_layer(
        dims == 1 ? "BatchNorm1d" : "BatchNorm2d",
        [dims](const LayerConfig& c) {
          BatchNormOptions o;
          o.eps = c.number_or("eps", 1e-5);
          if (c.has("momentum")) o.momentum = c.number("momentum");
          else o.momentum.reset();
          o.affine = c.boolean_or("affine", true);
          o.track_running_stats = c.boolean_or("track_running_stats", true);
          return std::make_unique<BatchNorm>(dims, c.integer("num_features", 1, kMaxFeatures), o);
        },
        [](const LayerConfig& c) {  // the values of its parameters and buffers
          const std::int64_t features = c.integer("num_features", 1, kMaxFeatures);
          return (c.boolean_or("affine", true) ? 2 * features : 0) +
                 (c.boolean_or("track_running_stats", true) ? 2 * features + 1 : 0);
        });
  }
  return true;
}();
}  // namespace

BatchNorm::BatchNorm(int spatial_dims, std::int64_t num_features, BatchNormOptions options)
    : dims_(spatial_dims), features_(num_features), options_(options) {
  const std::string name = spatial_dims == 1 ? "BatchNorm1d" : "BatchNorm2d";
  if (spatial_dims != 1 && spatial_dims != 2) throw ValueError("BatchNorm: spatial_dims must be 1 or 2");
  if (num_features < 1 || num_features > kMaxFeatures) {
    throw ValueError(name + ": num_features must be in [1, 2^24], got " + std::to_string(num_features));
  }
  if (!(options.eps >= 0.0) || !std::isfinite(options.eps)) {
    throw ValueError(name + ": eps must be finite and >= 0, got " + std::to_string(options.eps));
  }
  if (options.momentum && !(*options.momentum >= 0.0 && *options.momentum <= 1.0)) {
    throw ValueError(name + ": momentum must be in [0, 1], got " + std::to_string(*options.momentum));
  }
  const Device device = options.device;
  if (options.affine) {
    weight_ = {"weight", Tensor::empty({features_}, device), Tensor::zeros({features_}, device)};
    bias_ = {"bias", Tensor::empty({features_}, device), Tensor::zeros({features_}, device)};
  }
  if (options.track_running_stats) {
    running_mean_ = {"running_mean", Tensor::empty({features_}, device)};
    running_var_ = {"running_var", Tensor::empty({features_}, device)};
    batches_ = {"num_batches_tracked", Tensor::empty(Shape{}, device, DType::kInt32)};
  }
  Generator unused(0);
  reset_parameters(unused);
}

LayerConfig BatchNorm::config() const {
  LayerConfig c;
  c.set("num_features", features_).set("eps", options_.eps);
  if (options_.momentum) c.set("momentum", *options_.momentum);
  c.set("affine", options_.affine).set("track_running_stats", options_.track_running_stats);
  return c;
}

std::string BatchNorm::settings() const {
  char text[96];
  if (options_.momentum) {
    std::snprintf(text, sizeof(text), "%lld, eps=%g, momentum=%g", static_cast<long long>(features_), options_.eps,
                  *options_.momentum);
  } else {
    std::snprintf(text, sizeof(text), "%lld, eps=%g, momentum=cumulative", static_cast<long long>(features_),
                  options_.eps);
  }
  std::string result = text;
  if (!options_.affine) result += ", no affine";
  if (!options_.track_running_stats) result += ", batch statistics only";
  return result;
}

Shape BatchNorm::output_shape(const Shape& input) const {
  const bool rank_fits = dims_ == 1 ? (input.rank() == 2 || input.rank() == 3) : input.rank() == 4;
  if (!rank_fits || input[1] != features_) {
    throw ShapeError(type() + "(" + settings() + "): input must be " +
                     (dims_ == 1 ? "[batch, " + std::to_string(features_) + "] or [batch, " + std::to_string(features_) + ", length]"
                                 : "[batch, " + std::to_string(features_) + ", height, width]") +
                     ", got " + input.str());
  }
  return input;
}

std::vector<Parameter*> BatchNorm::parameters() {
  if (options_.affine) return {&weight_, &bias_};
  return {};
}

std::vector<Buffer*> BatchNorm::buffers() {
  if (options_.track_running_stats) return {&running_mean_, &running_var_, &batches_};
  return {};
}

void BatchNorm::reset_parameters(Generator&) {
  if (options_.affine) {
    fill(weight_.value, 1.0f);
    fill(bias_.value, 0.0f);
  }
  if (options_.track_running_stats) {
    fill(running_mean_.value, 0.0f);
    fill(running_var_.value, 1.0f);
    fill(batches_.value, 0.0f);
    tracked_ = 0;
  }
}

void BatchNorm::on_buffers_loaded() {
  if (!options_.track_running_stats) return;
  const std::int32_t count = batches_.value.to(Device::cpu()).data<std::int32_t>()[0];
  if (count < 0) throw ValueError(type() + ": num_batches_tracked must be >= 0, got " + std::to_string(count));
  tracked_ = count;
}

void BatchNorm::reserve(const Shape& input, Device device) {
  (void)output_shape(input);
  if (!save_mean_.defined() || save_mean_.device() != device) {
    Tensor mean = Tensor::empty({features_}, device);
    save_invstd_ = Tensor::empty({features_}, device);
    save_mean_ = std::move(mean);
  }
}

void BatchNorm::forward(const Tensor& x, const Tensor& y, const StepContext& context) {
  const Tensor weight = options_.affine ? weight_.value : Tensor();
  const Tensor bias = options_.affine ? bias_.value : Tensor();
  const auto eps = static_cast<float>(options_.eps);
  if (!context.training && options_.track_running_stats) {
    batch_norm_eval_out(x, weight, bias, running_mean_.value, running_var_.value, y, eps);
    return;
  }
  // The running statistics move in training; num_batches_tracked counts the batch once the op
  // took it (a refused batch changes nothing).
  const bool update = context.training && options_.track_running_stats;
  const std::int64_t batches = tracked_ + 1;
  const double momentum = !update ? 0.0 : options_.momentum ? *options_.momentum : 1.0 / static_cast<double>(batches);
  batch_norm_train_out(x, weight, bias, y, save_mean_, save_invstd_, update ? running_mean_.value : Tensor(),
                       update ? running_var_.value : Tensor(), static_cast<float>(momentum), eps);
  if (update) {
    tracked_ = batches;
    // The buffer holds int32, written through fill's float: exact up to 2^24 batches.
    fill(batches_.value, static_cast<float>(std::min<std::int64_t>(tracked_, (std::int64_t{1} << 31) - 1)));
  }
}

void BatchNorm::backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const Tensor& grad_x) {
  batch_norm_backward_out(x, grad_y, options_.affine ? weight_.value : Tensor(), save_mean_, save_invstd_, grad_x,
                          options_.affine ? weight_.grad : Tensor(), options_.affine ? bias_.grad : Tensor());
}

}  // namespace axon::nn

#include "axon/nn/sequential.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <cstdio>
#include <sstream>

#include "axon/error.h"
#include "axon/nn/dense.h"
#include "axon/nn/layers.h"
#include "axon/ops.h"

namespace axon::nn {

struct Sequential::Concurrency {
  std::mutex predict;
  std::atomic<bool> busy{false};
};

namespace {
// Marks a forward or backward in progress; a second thread entering gets a clear error.
class OneThread {
 public:
  OneThread(std::atomic<bool>& busy, const char* what) : busy_(busy) {
    if (busy.exchange(true, std::memory_order_acquire)) {
      throw ValueError(std::string("Sequential::") + what +
                       ": another thread is using the model (forward and backward serve one thread at a time; "
                       "predict may be called from several)");
    }
  }
  ~OneThread() { busy_.store(false, std::memory_order_release); }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  std::atomic<bool>& busy_;
};
}  // namespace

Sequential::Sequential() : concurrency_(std::make_shared<Concurrency>()) {}

Sequential& Sequential::add(std::unique_ptr<Layer> layer) {
  if (!layer) throw ValueError("Sequential::add: the layer is null");
  layers_.push_back(std::move(layer));
  arena_built_ = false;
  planned_ = false;
  return *this;
}

Layer& Sequential::layer(std::size_t i) const {
  if (i >= layers_.size()) {
    throw ValueError("Sequential::layer: index " + std::to_string(i) + " is out of range for " +
                     std::to_string(layers_.size()) + " layers");
  }
  return *layers_[i];
}

// ---- parameters ----

void Sequential::build_arena() {
  if (arena_built_) return;
  const Device device = arena_.values().defined() ? arena_.device() : Device::cpu();
  std::vector<NamedParameter> named;
  std::vector<NamedBuffer> buffers;
  int index = 0;
  for (const auto& layer : layers_) {
    for (const NamedBuffer& named_buffer : named_buffers(*layer)) {
      Buffer* b = named_buffer.buffer;
      if (b->value.device() != device) b->value = b->value.to(device);
      buffers.push_back({std::to_string(index) + "." + named_buffer.name, b});
    }
    for (const NamedParameter& named_parameter : named_parameters(*layer)) {
      Parameter* p = named_parameter.parameter;
      // Parameters of layers added after a move come to the model's device first.
      if (p->value.device() != device) {
        p->value = p->value.to(device);
        p->grad = p->grad.to(device);
      }
      named.push_back({std::to_string(index) + "." + named_parameter.name, p});
    }
    index += layer->index_span();
  }
  arena_.bind(std::move(named));
  buffers_ = std::move(buffers);
  arena_built_ = true;
}

const std::vector<NamedBuffer>& Sequential::buffers() {
  build_arena();
  return buffers_;
}

ParamArena& Sequential::parameters() {
  build_arena();
  return arena_;
}

std::int64_t Sequential::parameter_count() { return parameters().parameter_count(); }

void Sequential::zero_grad() { parameters().zero_grad(); }

void Sequential::reset_parameters(Generator& generator) {
  build_arena();
  for (const auto& layer : layers_) layer->reset_parameters(generator);
}

Sequential& Sequential::to(Device device) {
  if (!is_available(device)) (void)Tensor::empty({0}, device);  // throws the one-sentence DeviceError
  build_arena();
  // The buffers first (each a copy): a failed copy leaves the parameters where they were.
  std::vector<Tensor> moved;
  for (const NamedBuffer& b : buffers_) moved.push_back(b.buffer->value.to(device));
  arena_.to(device);
  for (std::size_t i = 0; i < buffers_.size(); ++i) buffers_[i].buffer->value = std::move(moved[i]);
  return *this;
}

Device Sequential::device() {
  build_arena();
  return arena_.device();
}

// ---- the plan ----

Shape Sequential::output_shape(const Shape& input) const {
  Shape shape = input;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    try {
      shape = layers_[i]->output_shape(shape);
    } catch (const ShapeError& e) {
      throw ShapeError("Sequential: layer " + std::to_string(i) + " (" + layers_[i]->type() + ") does not fit: " +
                       e.what());
    }
  }
  return shape;
}

std::optional<Shape> Sequential::sample_input() const {
  if (planned_) return Shape(row_shape_.dims().subspan(1));
  if (!layers_.empty()) return layers_.front()->sample_input();
  return std::nullopt;
}

void Sequential::plan(const Shape& input, Device device) {
  if (layers_.empty()) throw ValueError("Sequential: the model has no layers");
  (void)output_shape(input);  // names the layer that does not fit
  // All or nothing: the new plan is built aside and taken only when every buffer exists. A
  // plan that fails (a batch too big for memory) leaves the model unplanned, so the next
  // forward plans afresh instead of running a half-made plan into the old buffers.
  planned_ = false;
  steps_.clear();
  std::vector<Step> steps;
  std::vector<Shape> shapes(1, input);
  // Which layers run: an activation right after a Dense without one runs inside it.
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Layer* layer = layers_[i].get();
    if (auto* dense = dynamic_cast<Dense*>(layer)) dense->unfuse_activation();
    const std::size_t in = shapes.size() - 1;
    Shape out_shape = layer->output_shape(shapes.back());
    if (auto* dense = dynamic_cast<Dense*>(layer); dense != nullptr && i + 1 < layers_.size()) {
      if (auto* next = dynamic_cast<ActivationLayer*>(layers_[i + 1].get());
          next != nullptr && dense->fuse_activation(next->kind(), next->params())) {
        layer->reserve(shapes.back(), device);
        shapes.push_back(out_shape);
        steps.push_back({layer, in, in + 1});
        ++i;  // the activation layer runs inside the Dense
        continue;
      }
    }
    layer->reserve(shapes.back(), device);
    shapes.push_back(out_shape);
    steps.push_back({layer, in, in + 1});
  }
  std::vector<Tensor> activations(shapes.size()), gradients(shapes.size());
  for (std::size_t i = 1; i < shapes.size(); ++i) {
    activations[i] = Tensor::empty(shapes[i], device);
    gradients[i] = Tensor::empty(shapes[i], device);
  }
  steps_ = std::move(steps);
  shapes_ = std::move(shapes);
  activations_ = std::move(activations);
  gradients_ = std::move(gradients);
  capacity_ = input[0];
  row_shape_ = input;
  plan_device_ = device;
  planned_ = true;
}

namespace {
// Whether two shapes agree past the batch axis.
bool same_rows(const Shape& a, const Shape& b) {
  if (a.rank() != b.rank()) return false;
  for (int axis = 1; axis < a.rank(); ++axis) {
    if (a[axis] != b[axis]) return false;
  }
  return true;
}
}  // namespace

const Tensor& Sequential::forward(const Tensor& x) {
  if (!concurrency_) concurrency_ = std::make_shared<Concurrency>();  // (a moved-from model)
  const OneThread one(concurrency_->busy, "forward");
  build_arena();
  if (!x.defined() || x.rank() < 1) {
    throw ShapeError("Sequential::forward: needs a batch [batch, ...], got " + x.describe());
  }
  const Device device = arena_.device();
  if (x.device() != device) {
    throw DeviceError("Sequential::forward: the input is on " + x.device().str() + ", the model on " +
                      device.str() + " (move one of them with to())");
  }
  for (const Tensor& buffer : activations_) {
    if (buffer.defined() && x.overlaps(buffer)) {
      throw ValueError("Sequential::forward: the input is the model's own buffer (the output of a forward?), which the "
                       "pass overwrites: pass x.clone()");
    }
  }
  const std::int64_t rows = x.dim(0);
  // Until this forward succeeds there is nothing to go back through.
  last_input_ = Tensor();
  output_view_ = Tensor();
  if (!planned_ || plan_device_ != device || rows > capacity_ || !same_rows(x.shape(), row_shape_)) {
    Shape wanted = x.shape();
    if (planned_ && plan_device_ == device && same_rows(x.shape(), row_shape_)) {
      // Larger batch: grow. (Smaller ones reuse the first rows of the buffers.)
      wanted = wanted.with_rows(std::max(rows, capacity_));
    }
    plan(wanted, device);
  }
  const StepContext context{training_, generator_};
  for (const Step& step : steps_) {
    const Tensor input = step.input == 0 ? x : activations_[step.input].rows(0, rows);
    step.layer->forward(input, activations_[step.output].rows(0, rows), context);
  }
  last_input_ = x;
  last_rows_ = rows;
  last_training_ = training_;
  output_view_ = activations_.back().rows(0, rows);
  return output_view_;
}

Tensor Sequential::backward(const Tensor& grad_output, bool want_input_grad) {
  if (!concurrency_) concurrency_ = std::make_shared<Concurrency>();
  const OneThread one(concurrency_->busy, "backward");
  if (!last_input_.defined()) throw ValueError("Sequential::backward: no forward pass to go back through");
  if (!last_training_) {
    throw ValueError("Sequential::backward: the last forward ran in evaluation mode (eval()); call train() "
                     "before the forward whose gradients you want");
  }
  if (grad_output.shape() != output_view_.shape() || grad_output.device() != output_view_.device()) {
    throw ShapeError("Sequential::backward: grad_output must be " + output_view_.describe() + ", got " +
                     grad_output.describe());
  }
  const std::int64_t rows = last_rows_;
  Tensor input_grad;
  if (want_input_grad) {
    if (!gradients_[0].defined() || gradients_[0].dim(0) < capacity_ || gradients_[0].device() != plan_device_) {
      gradients_[0] = Tensor::empty(shapes_[0], plan_device_);
    }
    input_grad = gradients_[0].rows(0, rows);
  }
  for (std::size_t k = steps_.size(); k-- > 0;) {
    const Step& step = steps_[k];
    const Tensor input = step.input == 0 ? last_input_ : activations_[step.input].rows(0, rows);
    const Tensor output = activations_[step.output].rows(0, rows);
    const Tensor grad_y = k + 1 == steps_.size() ? grad_output : gradients_[step.output].rows(0, rows);
    const Tensor grad_x = step.input == 0 ? input_grad : gradients_[step.input].rows(0, rows);
    step.layer->backward(input, output, grad_y, grad_x);
  }
  return input_grad;
}

Tensor Sequential::predict(const Tensor& x) {
  if (!concurrency_) concurrency_ = std::make_shared<Concurrency>();
  const std::lock_guard turn(concurrency_->predict);
  const bool was_training = training_;
  training_ = false;
  try {
    const Device device = this->device();
    const Tensor input = x.device() == device ? x : x.to(device);
    Tensor result = forward(input).clone();
    training_ = was_training;
    return result;
  } catch (...) {
    training_ = was_training;
    throw;
  }
}

std::string Sequential::summary(const Shape& input) {
  build_arena();
  std::ostringstream out;
  char line[160];
  std::snprintf(line, sizeof(line), "%-5s %-34s %-18s %12s\n", "#", "Layer (type)", "Output Shape", "Param #");
  out << line << std::string(72, '=') << '\n';
  Shape shape = input;
  int index = 0;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = *layers_[i];
    shape = layer.output_shape(shape);
    std::int64_t count = 0;
    for (const NamedParameter& p : named_parameters(layer)) count += p.parameter->value.numel();
    std::string name = layer.type();
    const std::string settings = layer.settings();
    if (!settings.empty()) name += "(" + settings + ")";
    std::snprintf(line, sizeof(line), "%-5d %-34s %-18s %12lld\n", index, name.c_str(), shape.str().c_str(),
                  static_cast<long long>(count));
    out << line;
    index += layer.index_span();
  }
  out << std::string(72, '=') << '\n';
  out << "Total params: " << arena_.parameter_count() << "\n";
  out << "Trainable params: " << arena_.parameter_count() << "\n";
  out << "Device: " << arena_.device().str() << '\n';
  return out.str();
}

}  // namespace axon::nn

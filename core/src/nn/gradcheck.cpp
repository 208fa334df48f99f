#include "axon/nn/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <sstream>

#include "axon/error.h"
#include "axon/ops.h"

namespace axon::nn {

std::string GradientCheckResult::str() const {
  std::ostringstream out;
  for (const GradientCheckEntry& entry : entries) {
    out << entry.name << ": worst relative error " << entry.worst_error << " over " << entry.checked
        << " elements (" << entry.skipped << " skipped at kinks)\n";
  }
  return out.str();
}

namespace {

// What the check needs of a layer or a model: the output for the current parameters (a fresh
// tensor), and backward for a given dL/doutput (gradients into the parameters and grad_input).
struct Network {
  std::function<Tensor(const Tensor& x)> forward;
  std::function<void(const Tensor& grad_output, const Tensor& grad_input)> backward;
  std::vector<std::pair<std::string, Parameter*>> parameters;
};

double projected_sum(const Tensor& output, const std::vector<double>& projection) {
  const std::vector<float> y = output.to_vector();
  double total = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) total += projection[i] * y[i];
  return total;
}

// Perturbs chosen elements of `tensor` (a parameter value or the input) and compares the
// numeric derivative of L with `analytic` (host copy of the gradient).
GradientCheckEntry check_tensor(const std::string& name, const Tensor& tensor, const std::vector<float>& analytic,
                                const std::function<double()>& loss, const GradientCheckOptions& options,
                                std::mt19937_64& rng) {
  GradientCheckEntry entry{name, 0.0, 0, 0};
  const double center = loss();
  const auto n = static_cast<std::int64_t>(tensor.numel());
  std::vector<std::int64_t> indices(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) indices[static_cast<std::size_t>(i)] = i;
  std::shuffle(indices.begin(), indices.end(), rng);
  indices.resize(static_cast<std::size_t>(std::min(n, options.max_checks)));
  const Tensor flat = tensor.reshape({n});
  for (const std::int64_t i : indices) {
    const Tensor element = flat.rows(i, i + 1);
    const float original = element.item();
    const auto set = [&](double value) {
      const float v = static_cast<float>(value);
      element.copy_from(Tensor::from_vector({1}, std::span<const float>(&v, 1), Device::cpu()));
    };
    set(original + options.epsilon);
    const double plus = loss();
    set(original - options.epsilon);
    const double minus = loss();
    set(original);
    const double numeric = (plus - minus) / (2.0 * options.epsilon);
    // One-sided differences that disagree far beyond curvature: a kink between them.
    const double right = (plus - center) / options.epsilon, left = (center - minus) / options.epsilon;
    if (std::abs(right - left) > 0.1 * std::max({std::abs(right), std::abs(left), 1e-2})) {
      ++entry.skipped;
      continue;
    }
    const double exact = analytic[static_cast<std::size_t>(i)];
    const double error = std::abs(exact - numeric) / std::max({std::abs(exact), std::abs(numeric), 1e-2});
    entry.worst_error = std::max(entry.worst_error, error);
    ++entry.checked;
  }
  return entry;
}

GradientCheckResult run_check(Network& network, const Tensor& input, const GradientCheckOptions& options) {
  if (!input.defined() || input.dtype() != DType::kFloat32) {
    throw ValueError("check_gradients: the input must be a float32 tensor, got " + input.describe());
  }
  if (!(options.epsilon > 0.0) || options.max_checks < 1) {
    throw ValueError("check_gradients: needs epsilon > 0 and max_checks >= 1");
  }
  std::mt19937_64 rng(options.seed);
  const Tensor x = input.clone();
  const Tensor first = network.forward(x);
  std::vector<double> projection(static_cast<std::size_t>(first.numel()));
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<float> projection_f(projection.size());
  for (std::size_t i = 0; i < projection.size(); ++i) {
    projection_f[i] = static_cast<float>(uniform(rng));
    projection[i] = projection_f[i];
  }
  // Analytic gradients: one forward (above) and one backward with dL/doutput = projection.
  const Tensor grad_output = Tensor::from_vector(first.shape(), std::span<const float>(projection_f), x.device());
  const Tensor grad_input = Tensor::zeros(x.shape(), x.device());
  network.backward(grad_output, grad_input);
  std::vector<std::pair<std::string, std::vector<float>>> analytic;
  analytic.emplace_back("input", grad_input.to_vector());
  for (const auto& [name, parameter] : network.parameters) analytic.emplace_back(name, parameter->grad.to_vector());

  const auto loss = [&] { return projected_sum(network.forward(x), projection); };
  GradientCheckResult result;
  result.entries.push_back(check_tensor("input", x, analytic[0].second, loss, options, rng));
  for (std::size_t p = 0; p < network.parameters.size(); ++p) {
    const auto& [name, parameter] = network.parameters[p];
    result.entries.push_back(check_tensor(name, parameter->value, analytic[p + 1].second, loss, options, rng));
  }
  for (const GradientCheckEntry& entry : result.entries) {
    if (entry.worst_error >= result.worst_error) {
      result.worst_error = entry.worst_error;
      result.worst_name = entry.name;
    }
  }
  return result;
}

}  // namespace

GradientCheckResult check_gradients(Layer& layer, const Tensor& input, GradientCheckOptions options) {
  const Shape output_shape = layer.output_shape(input.shape());
  layer.reserve(input.shape(), input.device());
  Generator generator(options.seed);
  Tensor last_input, last_output;
  Network network;
  network.forward = [&](const Tensor& x) {
    generator = Generator(options.seed);  // the same dropout mask every pass
    const StepContext context{true, &generator};
    last_input = x;
    last_output = Tensor::empty(output_shape, x.device());
    layer.forward(x, last_output, context);
    return last_output;
  };
  network.backward = [&](const Tensor& grad_output, const Tensor& grad_input) {
    layer.backward(last_input, last_output, grad_output.clone(), grad_input);
  };
  for (const NamedParameter& p : named_parameters(layer)) network.parameters.emplace_back(p.name, p.parameter);
  return run_check(network, input, options);
}

GradientCheckResult check_gradients(Sequential& model, const Tensor& input, GradientCheckOptions options) {
  Generator generator(options.seed);
  model.set_generator(&generator);
  model.train();
  Network network;
  network.forward = [&](const Tensor& x) {
    generator = Generator(options.seed);
    return model.forward(x).clone();
  };
  network.backward = [&](const Tensor& grad_output, const Tensor& grad_input) {
    const Tensor grad = model.backward(grad_output.clone(), true);
    grad_input.copy_from(grad);
  };
  for (const NamedParameter& named : model.parameters().parameters()) {
    network.parameters.emplace_back(named.name, named.parameter);
  }
  try {
    GradientCheckResult result = run_check(network, input, options);
    model.set_generator(nullptr);
    return result;
  } catch (...) {
    model.set_generator(nullptr);
    throw;
  }
}

}  // namespace axon::nn

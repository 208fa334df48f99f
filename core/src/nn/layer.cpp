#include "axon/nn/layer.h"

namespace axon::nn {

std::vector<NamedParameter> named_parameters(Layer& layer) {
  std::vector<NamedParameter> named;
  for (Parameter* p : layer.parameters()) named.push_back({p->name, p});
  for (const auto& [child_name, child] : layer.children()) {
    for (NamedParameter& p : named_parameters(*child)) named.push_back({child_name + "." + p.name, p.parameter});
  }
  return named;
}

std::vector<NamedBuffer> named_buffers(Layer& layer) {
  std::vector<NamedBuffer> named;
  for (Buffer* b : layer.buffers()) named.push_back({b->name, b});
  for (const auto& [child_name, child] : layer.children()) {
    for (NamedBuffer& b : named_buffers(*child)) named.push_back({child_name + "." + b.name, b.buffer});
  }
  return named;
}

}  // namespace axon::nn

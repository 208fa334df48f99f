#pragma once
// A file's values for a model's buffers, checked by the layers that own them before a load
// changes anything: load_weights, load_model and load_checkpoint (which also checks the
// buffers a NaN rollback would restore).
#include <string>
#include <vector>

#include "axon/nn/sequential.h"

namespace axon::nn::detail {

// `values` holds one tensor per buffer of model.buffers(), in that order, of its shape and
// dtype. Each is written into its buffer and the layers' on_buffers_loaded checks it (BatchNorm:
// num_batches_tracked >= 0); then the model's own values are put back, whatever the outcome. A
// value a layer refuses is a FormatError: `where` (the file), then the layer's reason.
void check_buffer_values(Sequential& model, const std::vector<const Tensor*>& values, const std::string& where);

}  // namespace axon::nn::detail

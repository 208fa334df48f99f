#pragma once
// 2-D convolutions on oneDNN's convolution primitives (forward, backward data, backward
// weights with the bias gradient), NCHW float32, made once per geometry and cached like the
// matrix products (onednn_common.h).
#include "axon/op_kinds.h"

namespace axon::cpu::onednn {

// y = conv(x, w) + bias (bias may be null). Throws BackendError naming the geometry when oneDNN
// cannot make or run the primitive.
void conv2d_forward(const Conv2dGeometry& g, const float* x, const float* w, const float* bias, float* y, int threads);
void conv2d_backward_data(const Conv2dGeometry& g, const float* grad_y, const float* w, float* grad_x, int threads);
// grad_bias may be null.
void conv2d_backward_weights(const Conv2dGeometry& g, const float* x, const float* grad_y, float* grad_w,
                             float* grad_bias, int threads);

}  // namespace axon::cpu::onednn

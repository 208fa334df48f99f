#pragma once
// The pooling formulas, one output or one input-gradient element at a time, for both backends
// (host code, and device code under nvcc). torch's semantics to the bit where it defines them:
// a window's maximum is the first largest value, a NaN wins over any number (the last NaN of
// the window); averages add in double and divide once. The backward passes gather (each input
// element adds the outputs whose window holds it, in increasing output order, as torch's
// scatter does) so that no two threads write one element: deterministic without atomics.
#include <cmath>
#include <cstdint>

#include "axon/op_kinds.h"
#include "core/src/philox.h"  // AXON_HOST_DEVICE

namespace axon::kernels {

// The first kernel offset whose (dilated) position start + k * dilation is >= 0.
AXON_HOST_DEVICE std::int64_t first_inside(std::int64_t start, std::int64_t dilation) {
  return start >= 0 ? 0 : (-start + dilation - 1) / dilation;
}

// Output (oh, ow) of a plane `in` (height x width): its maximum and the maximum's index
// h * width + w in the plane.
AXON_HOST_DEVICE void max_pool_window(const Pool2dGeometry& g, const float* in, std::int64_t oh, std::int64_t ow,
                                      float& value, std::int32_t& index) {
  const Pool2dOptions& p = g.options;
  const std::int64_t h0 = oh * p.stride_h - p.pad_h, w0 = ow * p.stride_w - p.pad_w;
  // The first row and column inside the input (a window always reaches into it).
  const std::int64_t kh0 = first_inside(h0, p.dilation_h), kw0 = first_inside(w0, p.dilation_w);
  float best = -INFINITY;
  std::int64_t best_index = (h0 + kh0 * p.dilation_h) * g.width + (w0 + kw0 * p.dilation_w);
  for (std::int64_t kh = kh0; kh < p.kernel_h; ++kh) {
    const std::int64_t h = h0 + kh * p.dilation_h;
    if (h >= g.height) break;
    for (std::int64_t kw = kw0; kw < p.kernel_w; ++kw) {
      const std::int64_t w = w0 + kw * p.dilation_w;
      if (w >= g.width) break;
      const float v = in[h * g.width + w];
      if (v > best || v != v) {
        best = v;
        best_index = h * g.width + w;
      }
    }
  }
  value = best;
  index = static_cast<std::int32_t>(best_index);
}

// Element `o` of the output (planes x out_height x out_width, row-major).
AXON_HOST_DEVICE void max_pool_one(const Pool2dGeometry& g, const float* x, std::int64_t o, float& value,
                                   std::int32_t& index) {
  const std::int64_t ow = o % g.out_width, oh = (o / g.out_width) % g.out_height, plane = o / (g.out_width * g.out_height);
  max_pool_window(g, x + plane * g.height * g.width, oh, ow, value, index);
}

// The outputs whose windows hold input row h (along one axis): o = (h + pad - k * dilation) /
// stride for the kernel offsets k that divide, visited with o increasing.
template <class Visit>
AXON_HOST_DEVICE void windows_holding(std::int64_t h, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                                      std::int64_t dilation, std::int64_t out_size, const Visit& visit) {
  for (std::int64_t k = kernel - 1; k >= 0; --k) {
    const std::int64_t t = h + pad - k * dilation;
    if (t < 0 || t % stride != 0) continue;
    const std::int64_t o = t / stride;
    if (o < out_size) visit(o);
  }
}

// Input element `i` (planes x height x width) of the max pooling's gradient.
AXON_HOST_DEVICE float max_pool_grad_one(const Pool2dGeometry& g, const float* grad_y, const std::int32_t* indices,
                                         std::int64_t i) {
  const Pool2dOptions& p = g.options;
  const std::int64_t w = i % g.width, h = (i / g.width) % g.height, plane = i / (g.width * g.height);
  const std::int64_t out_plane = plane * g.out_height * g.out_width;
  const std::int32_t self = static_cast<std::int32_t>(h * g.width + w);
  float sum = 0.0f;
  windows_holding(h, p.kernel_h, p.stride_h, p.pad_h, p.dilation_h, g.out_height, [&](std::int64_t oh) {
    windows_holding(w, p.kernel_w, p.stride_w, p.pad_w, p.dilation_w, g.out_width, [&](std::int64_t ow) {
      const std::int64_t o = out_plane + oh * g.out_width + ow;
      if (indices[o] == self) sum += grad_y[o];
    });
  });
  return sum;
}

// The window of output (oh, ow) clamped to the input, and the count its average divides by.
struct AvgWindow {
  std::int64_t h0, h1, w0, w1, divisor;
};

AXON_HOST_DEVICE AvgWindow avg_window(const Pool2dGeometry& g, std::int64_t oh, std::int64_t ow) {
  const Pool2dOptions& p = g.options;
  std::int64_t h0 = oh * p.stride_h - p.pad_h, w0 = ow * p.stride_w - p.pad_w;
  std::int64_t h1 = h0 + p.kernel_h < g.height + p.pad_h ? h0 + p.kernel_h : g.height + p.pad_h;
  std::int64_t w1 = w0 + p.kernel_w < g.width + p.pad_w ? w0 + p.kernel_w : g.width + p.pad_w;
  const std::int64_t padded = (h1 - h0) * (w1 - w0);
  h0 = h0 > 0 ? h0 : 0;
  w0 = w0 > 0 ? w0 : 0;
  h1 = h1 < g.height ? h1 : g.height;
  w1 = w1 < g.width ? w1 : g.width;
  return {h0, h1, w0, w1, p.count_include_pad ? padded : (h1 - h0) * (w1 - w0)};
}

AXON_HOST_DEVICE float avg_pool_one(const Pool2dGeometry& g, const float* x, std::int64_t o) {
  const std::int64_t ow = o % g.out_width, oh = (o / g.out_width) % g.out_height, plane = o / (g.out_width * g.out_height);
  const float* in = x + plane * g.height * g.width;
  const AvgWindow win = avg_window(g, oh, ow);
  double sum = 0.0;
  for (std::int64_t h = win.h0; h < win.h1; ++h) {
    for (std::int64_t w = win.w0; w < win.w1; ++w) sum += in[h * g.width + w];
  }
  return static_cast<float>(sum / static_cast<double>(win.divisor));
}

AXON_HOST_DEVICE float avg_pool_grad_one(const Pool2dGeometry& g, const float* grad_y, std::int64_t i) {
  const Pool2dOptions& p = g.options;
  const std::int64_t w = i % g.width, h = (i / g.width) % g.height, plane = i / (g.width * g.height);
  const std::int64_t out_plane = plane * g.out_height * g.out_width;
  double sum = 0.0;
  windows_holding(h, p.kernel_h, p.stride_h, p.pad_h, 1, g.out_height, [&](std::int64_t oh) {
    windows_holding(w, p.kernel_w, p.stride_w, p.pad_w, 1, g.out_width, [&](std::int64_t ow) {
      sum += static_cast<double>(grad_y[out_plane + oh * g.out_width + ow]) /
             static_cast<double>(avg_window(g, oh, ow).divisor);
    });
  });
  return static_cast<float>(sum);
}

}  // namespace axon::kernels

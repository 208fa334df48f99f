// Pooling: the shared formulas (core/src/kernels/pool_math.h), one output or one input-gradient
// element per iteration (max pooling's windows inside the plane a row at a time, branch-free). oneDNN's pooling is not used: its max pooling's backward needs a
// workspace of its own making and its NaN and tie rules are not torch's, and these loops are
// memory-bound either way.
#include <algorithm>
#include <cmath>

#include "core/src/kernels/pool_math.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace axon::cpu {

namespace {
// body(first_plane, end_plane) on the pool's threads, whole planes each.
template <class Body>
void for_planes(const Pool2dGeometry& g, std::int64_t plane_work, const Body& body) {
  parallel_chunks(g.planes > 1 && g.planes * plane_work >= kParallelElements / 8, g.planes, 1, body);
}

// One output row's windows that lie inside the plane, [first, end) along the row, undilated or
// not: the window offsets outermost and the outputs innermost, so every output sees its values
// in the window's row-major order (the order max_pool_window scans, hence its bits and its
// index for ties and NaN) while the inner loop runs branch-free along the row.
// kStride: the horizontal stride when known at compile time (1 or 2: the inner loop then
// vectorises), 0 when not.
template <std::int64_t kStride>
void max_pool_row_inside(const Pool2dGeometry& g, const float* plane, std::int64_t oh, std::int64_t first,
                         std::int64_t end, float* __restrict out, std::int32_t* __restrict argmax) {
  const Pool2dOptions& k = g.options;
  const std::int64_t h0 = oh * k.stride_h - k.pad_h, sw = kStride > 0 ? kStride : k.stride_w;
  for (std::int64_t ow = first; ow < end; ++ow) {
    out[ow] = -INFINITY;
    argmax[ow] = static_cast<std::int32_t>(h0 * g.width + ow * sw - k.pad_w);
  }
  for (std::int64_t kh = 0; kh < k.kernel_h; ++kh) {
    for (std::int64_t kw = 0; kw < k.kernel_w; ++kw) {
      // Output ow reads in[at + ow * sw].
      const std::int64_t at = (h0 + kh * k.dilation_h) * g.width + kw * k.dilation_w - k.pad_w;
      const float* __restrict in = plane + at;
      for (std::int64_t ow = first; ow < end; ++ow) {
        const float v = in[ow * sw];
        const bool take = (v > out[ow]) | (v != v);  // the later NaN wins, as in torch
        out[ow] = take ? v : out[ow];
        argmax[ow] = take ? static_cast<std::int32_t>(at + ow * sw) : argmax[ow];
      }
    }
  }
}

}  // namespace

void CpuBackend::max_pool2d(const Pool2dGeometry& g, const Tensor& x, const Tensor& y, const Tensor& indices) {
  const float* in = x.data<float>();
  float* out = y.data<float>();
  std::int32_t* argmax = indices.data<std::int32_t>();
  const std::int64_t in_plane = g.height * g.width, out_plane = g.out_height * g.out_width;
  const Pool2dOptions& k = g.options;
  const std::int64_t extent_h = (k.kernel_h - 1) * k.dilation_h + 1, extent_w = (k.kernel_w - 1) * k.dilation_w + 1;
  // The outputs along a row whose windows lie inside it: w0 = ow * stride - pad >= 0 and
  // w0 + extent <= width.
  const std::int64_t inside_first = std::min(g.out_width, (k.pad_w + k.stride_w - 1) / k.stride_w);
  const std::int64_t inside_end =
      g.width + k.pad_w >= extent_w
          ? std::clamp((g.width + k.pad_w - extent_w) / k.stride_w + 1, inside_first, g.out_width)
          : inside_first;
  for_planes(g, out_plane, [&](std::int64_t first, std::int64_t end) {
    for (std::int64_t p = first; p < end; ++p) {
      const float* plane = in + p * in_plane;
      for (std::int64_t oh = 0; oh < g.out_height; ++oh) {
        float* out_row = out + p * out_plane + oh * g.out_width;
        std::int32_t* argmax_row = argmax + p * out_plane + oh * g.out_width;
        const std::int64_t h0 = oh * k.stride_h - k.pad_h;
        const bool rows_inside = h0 >= 0 && h0 + extent_h <= g.height;
        const std::int64_t fast_first = rows_inside ? inside_first : g.out_width;
        const std::int64_t fast_end = rows_inside ? inside_end : g.out_width;
        for (std::int64_t ow = 0; ow < g.out_width; ++ow) {
          if (ow == fast_first && fast_end > fast_first) {
            const auto row = k.stride_w == 2   ? max_pool_row_inside<2>
                             : k.stride_w == 1 ? max_pool_row_inside<1>
                                               : max_pool_row_inside<0>;
            row(g, plane, oh, fast_first, fast_end, out_row, argmax_row);
            ow = fast_end - 1;
            continue;
          }
          kernels::max_pool_window(g, plane, oh, ow, out_row[ow], argmax_row[ow]);
        }
      }
    }
  });
}

// Each plane by one thread: zeros, then every output's gradient added at its argmax in output
// order (the order CUDA's gather adds them in, so the same bits).
void CpuBackend::max_pool2d_backward(const Pool2dGeometry& g, const Tensor& grad_y, const Tensor& indices,
                                     const Tensor& grad_x) {
  const float* gy = grad_y.data<float>();
  const std::int32_t* argmax = indices.data<std::int32_t>();
  float* gx = grad_x.data<float>();
  const std::int64_t in_plane = g.height * g.width, out_plane = g.out_height * g.out_width;
  for_planes(g, in_plane, [&](std::int64_t first, std::int64_t end) {
    for (std::int64_t p = first; p < end; ++p) {
      float* plane = gx + p * in_plane;
      std::fill(plane, plane + in_plane, 0.0f);
      for (std::int64_t o = p * out_plane; o < (p + 1) * out_plane; ++o) {
        // An index outside the plane (not one max_pool2d wrote) adds nowhere, as in the gather.
        if (static_cast<std::uint64_t>(argmax[o]) < static_cast<std::uint64_t>(in_plane)) plane[argmax[o]] += gy[o];
      }
    }
  });
}

void CpuBackend::avg_pool2d(const Pool2dGeometry& g, const Tensor& x, const Tensor& y) {
  const float* in = x.data<float>();
  float* out = y.data<float>();
  parallel_for(y.numel(), kParallelElements / 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t o = begin; o < end; ++o) out[o] = kernels::avg_pool_one(g, in, o);
  });
}

void CpuBackend::avg_pool2d_backward(const Pool2dGeometry& g, const Tensor& grad_y, const Tensor& grad_x) {
  const float* gy = grad_y.data<float>();
  float* gx = grad_x.data<float>();
  parallel_for(grad_x.numel(), kParallelElements / 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) gx[i] = kernels::avg_pool_grad_one(g, gy, i);
  });
}

}  // namespace axon::cpu

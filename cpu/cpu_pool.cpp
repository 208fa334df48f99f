// Pooling: the shared formulas (core/src/kernels/pool_math.h), one output or one input-gradient
// element per iteration. oneDNN's pooling is not used: its max pooling's backward needs a
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
}  // namespace

void CpuBackend::max_pool2d(const Pool2dGeometry& g, const Tensor& x, const Tensor& y, const Tensor& indices) {
  const float* in = x.data<float>();
  float* out = y.data<float>();
  std::int32_t* argmax = indices.data<std::int32_t>();
  const std::int64_t in_plane = g.height * g.width, out_plane = g.out_height * g.out_width;
  const Pool2dOptions& k = g.options;
  const bool plain = k.dilation_h == 1 && k.dilation_w == 1;
  for_planes(g, out_plane, [&](std::int64_t first, std::int64_t end) {
    for (std::int64_t p = first; p < end; ++p) {
      const float* plane = in + p * in_plane;
      for (std::int64_t oh = 0; oh < g.out_height; ++oh) {
        const std::int64_t h0 = oh * k.stride_h - k.pad_h;
        const bool rows_inside = h0 >= 0 && h0 + k.kernel_h <= g.height;
        for (std::int64_t ow = 0; ow < g.out_width; ++ow) {
          const std::int64_t o = p * out_plane + oh * g.out_width + ow;
          const std::int64_t w0 = ow * k.stride_w - k.pad_w;
          if (!plain || !rows_inside || w0 < 0 || w0 + k.kernel_w > g.width) {
            kernels::max_pool_window(g, plane, oh, ow, out[o], argmax[o]);
            continue;
          }
          // A window inside the plane, undilated: the same scan without the bounds tests.
          float best = -INFINITY;
          std::int64_t best_index = h0 * g.width + w0;
          for (std::int64_t h = h0; h < h0 + k.kernel_h; ++h) {
            const float* row = plane + h * g.width;
            for (std::int64_t w = w0; w < w0 + k.kernel_w; ++w) {
              if (row[w] > best || row[w] != row[w]) {
                best = row[w];
                best_index = h * g.width + w;
              }
            }
          }
          out[o] = best;
          argmax[o] = static_cast<std::int32_t>(best_index);
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

// SPDX-License-Identifier: Apache-2.0
// Transposed convolution, NHWC, f32: the col2im gather-add of one dx row. The columns of a dy
// position hold f_h * f_w * in_c values; for a fixed kh the f_w * in_c values of kernel row kh land
// on one contiguous run of the dx row (iw = ow * stride_w - pad_left + kw, channels innermost), so
// each contribution is one add of a contiguous run, vectorized by the compiler at the level's
// width (__restrict: cols and dx never alias; the N-API layer checks dx against dy and w).
#include <cstdint>

#include "dispatch/dispatch.h"
#include "ops/conv_transpose.h"

namespace ab { namespace AB_ISA_NS {
namespace {

inline void add_run(float* __restrict d, const float* __restrict s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] += s[i];
}

}  // namespace

// Adds to dx row (b, ih) every contribution of the dy rows r = b * out_h + oh in [r0, r1), whose
// columns start at cols (row r at cols + (r - r0) * out_w * f_h * f_w * in_c); with `zero`, the row
// is cleared first. Contributions are added in (kh, ow) order, so the result does not depend on how
// rows are split over threads.
void conv_t_col2im_row_f32(const float* cols, float* dx, const ::ab::ConvTransposeParams& p, int64_t r0, int64_t r1,
                           int64_t b, int64_t ih, bool zero) {
  const int64_t C = p.in_c, rowlen = p.in_w * C, seg = p.f_w * C, N = p.f_h * seg;
  float* d = dx + (b * p.in_h + ih) * rowlen;
  if (zero)
    for (int64_t i = 0; i < rowlen; ++i) d[i] = 0.f;
  for (int64_t kh = 0; kh < p.f_h; ++kh) {
    const int64_t t = ih + p.pad_top - kh;
    if (t < 0 || t % p.stride_h != 0) continue;
    const int64_t oh = t / p.stride_h;
    if (oh >= p.out_h) continue;
    const int64_t r = b * p.out_h + oh;
    if (r < r0 || r >= r1) continue;
    const float* src = cols + (r - r0) * p.out_w * N + kh * seg;
    for (int64_t ow = 0; ow < p.out_w; ++ow, src += N) {
      const int64_t start = (ow * p.stride_w - p.pad_left) * C;
      const int64_t lo = start < 0 ? -start : 0;
      const int64_t hi = rowlen - start < seg ? rowlen - start : seg;
      if (hi > lo) add_run(d + start + lo, src + lo, hi - lo);
    }
  }
}

// Stores rows [i0, i1) of a phase's GEMM result (res holds row i0 first; a row is n_w positions x
// in_c) into dx at rows
// ih = rho_h + i * stride_h, columns iw = rho_w + j * stride_w of batch b (each dx element belongs
// to exactly one phase).
void conv_t_phase_scatter_f32(const float* res, float* dx, const ::ab::ConvTransposeParams& p, int64_t b, int64_t rho_h,
                              int64_t rho_w, int64_t n_w, int64_t i0, int64_t i1) {
  const int64_t C = p.in_c;
  for (int64_t i = i0; i < i1; ++i) {
    float* __restrict d = dx + ((b * p.in_h + rho_h + i * p.stride_h) * p.in_w + rho_w) * C;
    const float* __restrict s = res + (i - i0) * n_w * C;
    const int64_t step = p.stride_w * C;
    for (int64_t j = 0; j < n_w; ++j, d += step, s += C)
      for (int64_t c = 0; c < C; ++c) d[c] = s[c];
  }
}

}}  // namespace ab::AB_ISA_NS

// SPDX-License-Identifier: Apache-2.0
// Softmax over rows: m = max (NaN if any NaN), e = exp(x - m) (stored), s = blocked sum of e,
// out = e * (1/s). Like tfjs's cpu softmax (exp(x - max) / sum): a row holding NaN or +Inf,
// or made only of -Inf, comes out all NaN.
#include "kernels/row_ops.h"
#include "ops/ew_kernels.h"

namespace ab { namespace AB_ISA_NS {

void softmax_rows_f32(const float* x, float* out, int64_t rows, int64_t cols) {
  using namespace vm;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = out + r * cols;
    const float m = row_extreme<true, false>(xr, cols);
    const float s = row_sum_map(xr, yr, cols, [m](auto v) { return exp_(vsub(v, splat(v, m))); });
    const float inv = 1.0f / s;
    map1(yr, yr, cols, [inv](auto v) { return vmul(v, splat(v, inv)); });
  }
}

} }  // namespace ab::AB_ISA_NS

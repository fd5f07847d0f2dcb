// SPDX-License-Identifier: Apache-2.0
// Row normalisation for graph mode's ab.LayerNorm and ab.RMSNorm: per row of `cols` values,
// LayerNorm y = (x - mean) / sqrt(var + eps) * gamma + beta with var = mean((x - mean)^2) (two
// passes, as tf.moments computes it); RMSNorm y = x / sqrt(mean(x^2) + eps) * gamma. Sums use the
// blocked, compensated row sums of the reduce kernels (row_ops.h). gamma/beta may be null.
#include <cmath>

#include "kernels/row_ops.h"
#include "ops/norm_kernels.h"

namespace ab { namespace AB_ISA_NS {

void norm_rows_f32(int rms, const float* x, const float* gamma, const float* beta, float* out, int64_t rows,
                   int64_t cols, float eps) {
  using namespace vm;
  const float inv_n = 1.0f / static_cast<float>(cols);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = out + r * cols;
    float mean = 0.0f, var;
    if (rms) {
      var = row_sum_map(xr, nullptr, cols, [](auto v) { return vmul(v, v); }) * inv_n;
    } else {
      mean = row_sum(xr, cols) * inv_n;
      var = row_sum_map(xr, nullptr, cols, [mean](auto v) {
              auto d = vsub(v, splat(v, mean));
              return vmul(d, d);
            }) * inv_n;
    }
    const float inv = 1.0f / std::sqrt(var + eps);
    if (gamma && beta) {
      for (int64_t i = 0; i < cols; ++i) yr[i] = (xr[i] - mean) * inv * gamma[i] + beta[i];
    } else if (gamma) {
      for (int64_t i = 0; i < cols; ++i) yr[i] = (xr[i] - mean) * inv * gamma[i];
    } else if (beta) {
      for (int64_t i = 0; i < cols; ++i) yr[i] = (xr[i] - mean) * inv + beta[i];
    } else {
      for (int64_t i = 0; i < cols; ++i) yr[i] = (xr[i] - mean) * inv;
    }
  }
}

} }  // namespace ab::AB_ISA_NS

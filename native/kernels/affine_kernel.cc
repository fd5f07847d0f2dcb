// SPDX-License-Identifier: Apache-2.0
// Per-channel affine map over rows of C values: y[r, c] = x[r, c] * a[c] + b[c] (one rounding,
// FMA at the avx2/avx512 levels). Used by FusedBatchNorm with a, b folded from its parameters.
#include <cmath>
#include <cstdint>

#include "dispatch/dispatch.h"

namespace ab { namespace AB_ISA_NS {

void channel_affine_f32(const float* __restrict x, const float* __restrict a, const float* __restrict b,
                        float* __restrict y, int64_t rows, int64_t C) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    for (int64_t c = 0; c < C; ++c) yr[c] = std::fma(xr[c], a[c], b[c]);
  }
}

} }  // namespace ab::AB_ISA_NS

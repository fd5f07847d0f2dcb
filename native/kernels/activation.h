// SPDX-License-Identifier: Apache-2.0
// Activation applied in place to a contiguous run of floats, for GEMM/conv epilogues.
// Included only by kernel files: everything lives in the per-level namespace.
// (Scalar bodies for now; vectorized by the elementwise kernels' vec_math.h.)
#pragma once
#include <cmath>
#include <cstdint>

#include "ops/op_codes.h"

namespace ab { namespace AB_ISA_NS {

// x[i] = act(x[i]); for kActPrelu, slope[i] (may be nullptr for other activations).
void activation_f32_inplace(float* x, int64_t n, int act, float alpha, const float* slope);

} }  // namespace ab::AB_ISA_NS

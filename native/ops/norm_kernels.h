// SPDX-License-Identifier: Apache-2.0
// Per-level entry point of the row normalisation kernel (native/kernels/norm_kernel.cc).
#pragma once
#include <cstdint>

#include "dispatch/dispatch.h"

// rms 0: LayerNorm, 1: RMSNorm. gamma, beta: `cols` values or null. out may equal x.
AB_DECLARE_KERNEL(void, norm_rows_f32,
                  (int rms, const float* x, const float* gamma, const float* beta, float* out, int64_t rows,
                   int64_t cols, float eps))

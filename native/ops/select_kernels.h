// SPDX-License-Identifier: Apache-2.0
// Per-level entry points of the comparison, TopK-scan and AddN kernels
// (native/kernels/select_kernel.cc), reached through DispatchStubs in native/ops/select.cc.
#pragma once
#include <cstdint>

#include "dispatch/dispatch.h"
#include "ops/op_codes.h"

namespace ab {
// One inner run of a comparison: out[i] = op(a[i or 0], b[i or 0]) ? 1 : 0 for i < n.
using CmpF32Fn = void (*)(const float* a, const float* b, uint8_t* out, int64_t n);
using CmpI32Fn = void (*)(const int32_t* a, const int32_t* b, uint8_t* out, int64_t n);
}  // namespace ab

// Run function for (CompareOp, form 0 vv / 1 vs / 2 sv); both must be in range.
AB_DECLARE_KERNEL(::ab::CmpF32Fn, cmp_f32_fn, (int op, int form))
AB_DECLARE_KERNEL(::ab::CmpI32Fn, cmp_i32_fn, (int op, int form))
// Writes base + i for every i < n with x[i] > thr, ascending, to idx (room for n); returns the
// count. *nonfinite = 1 if any x[i] is NaN or +-Inf, else 0.
AB_DECLARE_KERNEL(int64_t, topk_above_f32,
                  (const float* x, int64_t n, float thr, int64_t base, int32_t* idx, int* nonfinite))
AB_DECLARE_KERNEL(int64_t, topk_above_i32, (const int32_t* x, int64_t n, int32_t thr, int64_t base, int32_t* idx))
// out[i] = ((0 + xs[0][i]) + xs[1][i]) + ... + xs[m-1][i] in float32, i < len; m >= 1.
AB_DECLARE_KERNEL(void, addn_f32, (const float* const* xs, int64_t m, float* out, int64_t len))
// out[i] = float32(x[i]) (round to nearest even).
AB_DECLARE_KERNEL(void, widen_u8_f32, (const uint8_t* x, float* out, int64_t n))
AB_DECLARE_KERNEL(void, widen_i32_f32, (const int32_t* x, float* out, int64_t n))

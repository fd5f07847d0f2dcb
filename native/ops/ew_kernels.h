// SPDX-License-Identifier: Apache-2.0
// Per-level entry points of the elementwise, softmax and reduction kernels
// (native/kernels/{elementwise,softmax,reduce}_kernel.cc), reached through DispatchStubs in
// native/ops/{elementwise,softmax,reduce}.cc. Included by both sides so the signatures agree.
#pragma once
#include <cstdint>

#include "dispatch/dispatch.h"
#include "ops/op_codes.h"

namespace ab {
// One inner run of a binary op: out[i] = op(a[i or 0], b[i or 0]) for i < n.
using BinRunFn = void (*)(const float* a, const float* b, float* out, int64_t n);
// Inner-run forms of a broadcast binary op.
enum BinForm : int { kFormVV = 0, kFormVS = 1, kFormSV = 2, kFormCount = 3 };
}  // namespace ab

// Run function for (BinaryOp, BinForm); both must be in range.
AB_DECLARE_KERNEL(::ab::BinRunFn, binary_run_fn, (int op, int form))
// out[i] = op(x[i]) (alpha: LeakyRelu slope). out may equal x.
AB_DECLARE_KERNEL(void, unary_f32, (int op, const float* x, float* out, int64_t n, float alpha))
// out[i] = x[i] > hi ? hi : x[i] < lo ? lo : x[i] (tfjs ClipByValue: NaN stays NaN, -0 stays -0).
// out may equal x.
AB_DECLARE_KERNEL(void, clip_f32, (const float* x, float* out, int64_t n, float lo, float hi))
// Softmax of each of `rows` rows of `cols` (>= 1) floats. out may equal x.
AB_DECLARE_KERNEL(void, softmax_rows_f32, (const float* x, float* out, int64_t rows, int64_t cols))
// out[i] = reduce(x[i*r .. i*r + r)) for i < rows; r >= 1.
AB_DECLARE_KERNEL(void, reduce_rows_f32, (int op, const float* x, float* out, int64_t rows, int64_t r))
// out[c] = reduce_j x[j*ld + c] for c < ncols, j < r; r >= 1.
AB_DECLARE_KERNEL(void, reduce_cols_f32,
                  (int op, const float* x, float* out, int64_t r, int64_t ncols, int64_t ld))
// out[c] = index of the first maximum (is_min: minimum) of x[j*ldx + c] over j < r, tfjs-cpu's
// scan (strictly greater replaces; NaN wins only when first); r >= 1.
AB_DECLARE_KERNEL(void, argreduce_cols_f32,
                  (int is_min, const float* x, int32_t* out, int64_t r, int64_t ncols, int64_t ldx))

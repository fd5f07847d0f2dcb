// SPDX-License-Identifier: Apache-2.0
// Wide binary ops (WideBinaryOp, native/ops/op_codes.h): tfjs-cpu's binary kernels as its
// JavaScript computes them, for any mix of storages. Each element is read from its stored array
// (Float32Array, Int32Array or Uint8Array: exact in float64), the op runs in float64 as JS does
// (+ - * / are IEEE double operations; Math.max/min, Math.floor; JS % is fmod), and the result is
// stored as the output's typed array stores a number: Float32Array rounds to nearest even,
// Int32Array applies ToInt32 (truncate, wrap modulo 2^32, NaN and +-Inf give 0). So int32 Add/Sub
// wrap around, an int32 product past 2^53 is the double product rounded and then wrapped (not the
// exact product's low bits), x / 0 and x mod 0 store 0 into an Int32Array.
// The per-level kernel (native/kernels/wide_binary_kernel.cc) runs one inner run of a broadcast
// plan (native/ops/broadcast.h); ew_binary_wide plans, threads and dispatches.
#pragma once
#include <cstdint>

#include "dispatch/dispatch.h"
#include "ops/op_codes.h"

namespace ab {

// Storage of an operand or output (outputs: kWideF32 or kWideI32).
enum WideType : int { kWideF32 = 0, kWideI32 = 1, kWideU8 = 2 };

inline int wide_type_size(int t) { return t == kWideU8 ? 1 : 4; }

// out (os, orank; type to) = op(a (as, ar; type ta), b (bs, br; type tb)) with numpy/tfjs
// broadcasting (checked by the addon; ranks <= kEwMaxRank). out may be exactly a or b (same
// start, same element count, 4-byte elements), never a partial overlap.
void ew_binary_wide(int op, const void* a, int ta, const int64_t* as, int ar, const void* b, int tb,
                    const int64_t* bs, int br, void* out, int to, const int64_t* os, int orank);

}  // namespace ab

// One run of n outputs. An operand's period: 0, a vector of n elements; P >= 1, it holds P values
// and element j reads value j % P (P = 1: one value). Periods above 1 must be at most kWidePeriodMax,
// and if both are above 1 they are equal.
constexpr int64_t kWidePeriodMax = 64;
AB_DECLARE_KERNEL(void, wide_binary_run,
                  (int op, const void* a, int ta, int64_t pa, const void* b, int tb, int64_t pb, void* out, int to,
                   int64_t n))

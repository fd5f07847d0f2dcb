// SPDX-License-Identifier: Apache-2.0
// Comparisons, TopK, AddN and GatherNd over validated arguments (native/addon/select_api.cc does
// the checking), with tfjs-backend-cpu 4.22's results. ISA-neutral: kernels through DispatchStubs
// (native/kernels/select_kernel.cc), threading, the TopK selection and merge.
#pragma once
#include <cstdint>

namespace ab {

// out (shape os) = op(a, b) ? 1 : 0 with numpy/tfjs broadcasting (ranks <= kEwMaxRank, ar and
// br <= orank, every a/b dim 1 or out's). op: CompareOp.
void compare_f32(int op, const float* a, const int64_t* as, int ar, const float* b, const int64_t* bs, int br,
                 uint8_t* out, const int64_t* os, int orank);
void compare_i32(int op, const int32_t* a, const int64_t* as, int ar, const int32_t* b, const int64_t* bs, int br,
                 uint8_t* out, const int64_t* os, int orank);

// TopK over the last axis of x [rows, n]: vals/idx [rows, k], 0 <= k <= n. The order is tfjs's
// comparator (greater value first, equal values by lower index); sorted = false needs k == n (then
// the output is x itself, as tfjs-cpu leaves it unsorted). Float32 rows holding NaN or +-Inf
// (where tfjs-cpu's Floyd-Rivest selection and sort see an inconsistent comparator) are not
// handled: topk_f32 then returns false and the output is unspecified.
bool topk_f32(const float* x, int64_t rows, int64_t n, int64_t k, bool sorted, float* vals, int32_t* idx);
void topk_i32(const int32_t* x, int64_t rows, int64_t n, int64_t k, bool sorted, int32_t* vals, int32_t* idx);

// out[i] = ((0 + xs[0][i]) + xs[1][i]) + ... for i < len, float32 steps; m >= 1.
void add_n_f32(const float* const* xs, int64_t m, float* out, int64_t len);

// GatherNd on 4-byte elements: slice s of out (slice_size elements) is params' slice number
// sum_j idx[s * rank + j] * strides[j]. Returns false, leaving out partly written, when a
// flattened index is outside [0, param_slices) (tfjs-cpu throws there).
bool gather_nd_4(const uint32_t* params, int64_t param_slices, int64_t slice_size, const int32_t* idx,
                 int64_t nslices, int rank, const int64_t* strides, uint32_t* out);

// out[i] = float32(x[i]) for the elements of a Uint8Array (is_i32 0) or an Int32Array (1); what
// JavaScript's Float32Array.from does (tfjs-cpu stores Cast int32/bool -> float32 that way).
void widen_to_f32(const void* x, int is_i32, float* out, int64_t n);

}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
// ISA-neutral elementwise, softmax and reduction ops over validated arguments (native/addon/
// elementwise_api.cc does the checking). They pick the kernels through DispatchStubs and
// thread large tensors with ab::parallel_for; small ones never touch the pool.
#pragma once
#include <cstdint>

namespace ab {

constexpr int kEwMaxRank = 8;

// out (shape os, rank orank) = op(a, b) with numpy/tfjs broadcasting: ranks right-aligned,
// every a/b dim is 1 or equal to out's. Ranks <= kEwMaxRank; ar, br <= orank.
void ew_binary(int op, const float* a, const int64_t* as, int ar, const float* b, const int64_t* bs,
               int br, float* out, const int64_t* os, int orank);
// out[i] = op(x[i]); out may equal x.
void ew_unary(int op, const float* x, float* out, int64_t n, float alpha);
// tfjs ClipByValue: out[i] = x[i] > hi ? hi : x[i] < lo ? lo : x[i]; out may equal x.
void ew_clip(const float* x, float* out, int64_t n, float lo, float hi);
// Softmax over the last axis of [rows, cols]; out may equal x.
void ew_softmax(const float* x, float* out, int64_t rows, int64_t cols);
// Reduces the middle axis of [outer, r, inner] into out[outer, inner]. r == 0 gives tfjs's
// values: Sum 0, Mean 0, Max NaN, Min NaN, Prod 1.
void ew_reduce(int op, const float* x, float* out, int64_t outer, int64_t r, int64_t inner);
// tfjs ArgMax (is_min 0) / ArgMin (1) over the middle axis of [outer, r, inner]; r == 0 gives 0s.
void ew_argreduce(int is_min, const float* x, int32_t* out, int64_t outer, int64_t r, int64_t inner);

}  // namespace ab

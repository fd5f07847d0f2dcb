// SPDX-License-Identifier: Apache-2.0
// Graph mode's own fused ops (arguments validated by native/addon/graph_api.cc):
// ab.LayerNorm / ab.RMSNorm over the last axis, and ab.SDPA, scaled dot-product attention.
#pragma once
#include <cstdint>

namespace ab {

// rms 0: LayerNorm, 1: RMSNorm, over rows of `cols`; gamma, beta: `cols` values or null.
void norm_rows(int rms, const float* x, const float* gamma, const float* beta, float* out, int64_t rows, int64_t cols,
               float eps);

// out[b] = softmax(q[b] k[b]^T * scale + mask) v[b] for b < B: q [B,Sq,D], k [B,Sk,D], v [B,Sk,Dv],
// out [B,Sq,Dv]; mask null or [mask_batch, Sq, Sk] with mask_batch 1 (shared) or B. Query rows
// are taken in chunks so the scores of a chunk stay in cache; chunks run in parallel.
void sdpa(const float* q, const float* k, const float* v, const float* mask, int64_t mask_batch, int64_t B, int64_t Sq,
          int64_t Sk, int64_t D, int64_t Dv, float scale, float* out);

}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
// The explicit im2col path of conv2d, shared by the f32 (conv2d.cc) and bf16 (conv2d_bf16.cc)
// entry points: im2col rows gathered into a bounded scratch, chunk by chunk, each chunk one GEMM.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "gemm/gemm.h"
#include "ops/conv2d.h"
#include "ops/op_codes.h"
#include "runtime/thread_pool.h"

namespace ab::conv_im2col {

// Rows of im2col per chunk: at most `scratch_bytes` of f32 rows, but never fewer than `min_rows`
// (so each GEMM stays large enough to thread well), and never more than M.
inline int64_t chunk_rows(int64_t K, int64_t M, int64_t scratch_bytes, int64_t min_rows) {
  int64_t r = scratch_bytes / (4 * (K > 0 ? K : 1));
  if (r < min_rows) r = min_rows;
  return r < M ? r : M;
}

// im2col rows [m0, m1) (m = (b * out_h + oh) * out_w + ow) into dst[(m - m0) * K + (fh * f_w + fw) * in_c + c].
inline void im2col_rows(const float* x, const Conv2DParams& p, int64_t m0, int64_t m1, float* dst) {
  const int64_t K = p.f_h * p.f_w * p.in_c;
  const size_t run = static_cast<size_t>(p.in_c) * sizeof(float);
  for (int64_t m = m0; m < m1; ++m) {
    const int64_t ow = m % p.out_w, t = m / p.out_w, oh = t % p.out_h, b = t / p.out_h;
    float* row = dst + (m - m0) * K;
    for (int64_t fh = 0; fh < p.f_h; ++fh) {
      const int64_t ih = oh * p.stride_h - p.pad_top + fh * p.dil_h;
      for (int64_t fw = 0; fw < p.f_w; ++fw) {
        const int64_t iw = ow * p.stride_w - p.pad_left + fw * p.dil_w;
        float* d = row + (fh * p.f_w + fw) * p.in_c;
        if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) std::memset(d, 0, run);
        else std::memcpy(d, x + ((b * p.in_h + ih) * p.in_w + iw) * p.in_c, run);
      }
    }
  }
}

// The M x N output in chunks of R rows: im2col of each chunk into `cols` (grown to R * K floats),
// then gemm(m0, rows, cols, ep) for output rows [m0, m0 + rows), with matrix-mode epilogue
// operands (indexed by output row) shifted to the chunk.
template <typename Gemm>
void run_chunks(const float* x, const Conv2DParams& p, int64_t M, int64_t N, int64_t K, int64_t R,
                std::vector<float>& scratch, const gemm::Epilogue* ep, Gemm&& gemm) {
  if (scratch.size() < static_cast<size_t>(R * K)) scratch.resize(static_cast<size_t>(R * K));
  float* cols = scratch.data();
  for (int64_t m0 = 0; m0 < M; m0 += R) {
    const int64_t m1 = m0 + R < M ? m0 + R : M;
    parallel_for(m1 - m0, 64, [&](int64_t b, int64_t e) { im2col_rows(x, p, m0 + b, m0 + e, cols + b * K); });
    gemm::Epilogue chunk_ep;
    const gemm::Epilogue* e = ep;
    if (ep) {
      chunk_ep = *ep;
      if (ep->bias_mode == kOperandMatrix) chunk_ep.bias += m0 * (ep->bias_ld ? ep->bias_ld : N);
      if (ep->slope_mode == kOperandMatrix) chunk_ep.slope += m0 * (ep->slope_ld ? ep->slope_ld : N);
      if (ep->addend) chunk_ep.addend += m0 * (ep->addend_ld ? ep->addend_ld : N);
      e = &chunk_ep;
    }
    gemm(m0, m1 - m0, static_cast<const float*>(cols), e);
  }
}

}  // namespace ab::conv_im2col

// SPDX-License-Identifier: Apache-2.0
#include "ops/conv2d_bf16.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemm/gemm_bf16.h"
#include "ops/conv2d_im2col.h"
#include "ops/op_codes.h"
#include "runtime/thread_pool.h"

namespace ab {
namespace {

struct GenCtx {
  const float* x;
  const Conv2DParams* p;
};

thread_local std::vector<float> t_cols_bf16;

// Implicit im2col for gemm_bf16_gen_a: rows [m0, m0 + r), columns [k0, k0 + kc) of im2col(x) into
// dst (r x kc), one channel run of a tap at a time (taps outside the input read zeros).
void gen_rows(const void* ctx, int64_t m0, int64_t r, int64_t k0, int64_t kc, float* dst) {
  const GenCtx& g = *static_cast<const GenCtx*>(ctx);
  const Conv2DParams& p = *g.p;
  const int64_t C = p.in_c, kend = k0 + kc;
  int64_t ow = m0 % p.out_w, t = m0 / p.out_w, oh = t % p.out_h, b = t / p.out_h;
  for (int64_t i = 0; i < r; ++i) {
    const float* img = g.x + b * p.in_h * p.in_w * C;
    float* row = dst + i * kc;
    for (int64_t k = k0; k < kend;) {
      const int64_t tap = k / C, c = k - tap * C, fh = tap / p.f_w, fw = tap - fh * p.f_w;
      const int64_t len = C - c < kend - k ? C - c : kend - k;
      const int64_t ih = oh * p.stride_h - p.pad_top + fh * p.dil_h, iw = ow * p.stride_w - p.pad_left + fw * p.dil_w;
      float* d = row + (k - k0);
      if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) std::memset(d, 0, static_cast<size_t>(len) * sizeof(float));
      else std::memcpy(d, img + (ih * p.in_w + iw) * C + c, static_cast<size_t>(len) * sizeof(float));
      k += len;
    }
    if (++ow == p.out_w) {
      ow = 0;
      if (++oh == p.out_h) {
        oh = 0;
        ++b;
      }
    }
  }
}

}  // namespace

void conv2d_nhwc_bf16(const float* x, const uint32_t* packed_w, float* y, const Conv2DParams& p,
                      const gemm::Epilogue* ep) {
  const int64_t M = p.batch * p.out_h * p.out_w, N = p.out_c, K = p.f_h * p.f_w * p.in_c;
  if (M == 0 || N == 0) return;
  // A residual written in place (the epilogue's addend is y): the bf16 engine may write partial
  // sums into y before its epilogue reads the addend, so it reads a copy.
  std::vector<float> addend_copy;
  gemm::Epilogue copied;
  if (ep && ep->addend && gemm::addend_overlaps(ep, M, N, y, N)) {
    addend_copy.resize(static_cast<size_t>(M * N));
    copied = gemm::with_addend_copy(*ep, M, N, addend_copy.data());
    ep = &copied;
  }
  const bool pointwise = p.f_h == 1 && p.f_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
                         p.pad_left == 0 && p.out_h == p.in_h && p.out_w == p.in_w;
  if (K == 0 || pointwise) {
    gemm::gemm_bf16(false, M, N, K, x, K > 0 ? K : 1, packed_w, y, N, ep);
    return;
  }
  const char* mode = std::getenv("AFTERBURNER_CONV");  // "im2col": the explicit path (same bits; for comparisons)
  if (!mode || std::strcmp(mode, "im2col") != 0) {
    const GenCtx ctx{x, &p};
    gemm::gemm_bf16_gen_a(&gen_rows, &ctx, M, N, K, packed_w, y, N, ep);
    return;
  }
  // Rows of im2col per chunk: about 4 MiB of f32 rows (they are read once more, by the GEMM's A
  // packing, while still in L2/L3), but at least 512 rows so each GEMM threads well.
  const int64_t R = conv_im2col::chunk_rows(K, M, int64_t{4} << 20, 512);
  conv_im2col::run_chunks(x, p, M, N, K, R, t_cols_bf16, ep,
                          [&](int64_t m0, int64_t rows, const float* cols, const gemm::Epilogue* e) {
                            gemm::gemm_bf16(false, rows, N, K, cols, K, packed_w, y + m0 * N, N, e);
                          });
}

}  // namespace ab

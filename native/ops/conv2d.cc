// SPDX-License-Identifier: Apache-2.0
#include "conv2d.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "ops/op_codes.h"
#include "runtime/thread_pool.h"

namespace ab {
namespace {

// Rows of im2col per chunk: at most ~8 MiB of scratch (fits the L3 next to the packed panels),
// but never fewer than 256 rows so each GEMM stays large enough to thread well.
int64_t chunk_rows(int64_t K, int64_t M) {
  int64_t r = (int64_t{8} << 20) / (4 * (K > 0 ? K : 1));
  if (r < 256) r = 256;
  return r < M ? r : M;
}

// im2col rows [m0, m1) (m = (b * out_h + oh) * out_w + ow) into dst[(m - m0) * K + (fh * f_w + fw) * in_c + c].
void im2col_rows(const float* x, const Conv2DParams& p, int64_t m0, int64_t m1, float* dst) {
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

thread_local std::vector<float> t_cols;

// The direct path (register tiles on A read in place) when a filter row holds at least this many
// floats; below it the C tile reloads per filter row cost more than the implicit-im2col packing.
constexpr int64_t kDirectMinRun = 48;

struct GenCtx {
  const float* x;
  const Conv2DParams* p;
};

// Implicit im2col: one packed A panel for output positions [m0, m0 + r) and im2col columns
// [k0, k0 + kc) (k = (fh * f_w + fw) * in_c + c), read straight from the NHWC input. Columns go
// in runs: with dil_w == 1 a run covers the rest of a filter row (contiguous in x) when every row of
// the panel has that stretch wholly inside or wholly outside the input; otherwise one tap at a time
// (each row in bounds or zeros).
void conv_pack_panel(const void* vctx, int64_t m0, int r, int64_t k0, int64_t kc, float* dst, int mr,
                     gemm::PackRowsFn pack_rows) {
  const GenCtx& g = *static_cast<const GenCtx*>(vctx);
  const Conv2DParams& p = *g.p;
  const float* img[16];
  int64_t ih0[16], iw0[16];
  {
    int64_t ow = m0 % p.out_w, t = m0 / p.out_w, oh = t % p.out_h, b = t / p.out_h;
    for (int i = 0; i < r; ++i) {
      img[i] = g.x + b * p.in_h * p.in_w * p.in_c;
      ih0[i] = oh * p.stride_h - p.pad_top;
      iw0[i] = ow * p.stride_w - p.pad_left;
      if (++ow == p.out_w) {
        ow = 0;
        if (++oh == p.out_h) {
          oh = 0;
          ++b;
        }
      }
    }
  }
  const float* rows[16];
  const int64_t C = p.in_c, kend = k0 + kc;
  for (int64_t k = k0; k < kend;) {
    const int64_t tap = k / C, c = k - tap * C, fh = tap / p.f_w, fw = tap - fh * p.f_w;
    int64_t len = (p.f_w - fw) * C - c;  // to the end of this filter row
    if (len > kend - k) len = kend - k;
    const int64_t fw_last = fw + (c + len - 1) / C;
    bool whole = p.dil_w == 1 && fw_last > fw;
    if (whole) {
      for (int i = 0; i < r; ++i) {
        const int64_t ih = ih0[i] + fh * p.dil_h, a = iw0[i] + fw, e = iw0[i] + fw_last;
        if (ih < 0 || ih >= p.in_h || e < 0 || a >= p.in_w) {
          rows[i] = nullptr;
        } else if (a >= 0 && e < p.in_w) {
          rows[i] = img[i] + (ih * p.in_w + a) * C + c;
        } else {
          whole = false;
          break;
        }
      }
    }
    if (!whole) {
      len = C - c;
      if (len > kend - k) len = kend - k;
      for (int i = 0; i < r; ++i) {
        const int64_t ih = ih0[i] + fh * p.dil_h, iw = iw0[i] + fw * p.dil_w;
        rows[i] = ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w ? nullptr : img[i] + (ih * p.in_w + iw) * C + c;
      }
    }
    pack_rows(rows, r, len, dst + (k - k0) * mr);
    k += len;
  }
}

thread_local std::vector<float> t_rows;

// Direct convolution on register tiles (no im2col, no A packing): an M panel is up to MR
// consecutive output positions of one output row; for each filter row fh its A rows are the input
// stretches x[b, ih, iw0(i) : iw0(i) + f_w, :], which in the interior (dil_w == 1, no padding
// crossed) are one strided matrix inside x (rows stride_w * in_c apart, f_w * in_c long), read
// in place. Panels touching the left/right padding (or any dil_w) get those rows gathered into a
// small scratch with zeros. Filter rows wholly above/below the input are skipped (their taps are
// zeros; tfjs-cpu skips them too). Each tile sums the filter rows in order, K blocks split runs.
void conv_direct(const float* x, const Conv2DParams& p, const gemm::PanelB& B, float* y, const gemm::Epilogue* ep) {
  const int64_t C = p.in_c, N = p.out_c, run = p.f_w * C, K = p.f_h * run;
  const int mr = B.mr, nr = B.nr;
  const int64_t per_row = (p.out_w + mr - 1) / mr, panels = p.batch * p.out_h * per_row;
  const int64_t macs_per_panel = static_cast<int64_t>(mr) * N * (K > 0 ? K : 1);
  const int64_t grain = macs_per_panel >= (int64_t{1} << 18) ? 1 : (int64_t{1} << 18) / macs_per_panel;
  parallel_for(panels, grain, [&](int64_t pb0, int64_t pb1) {
    if (t_rows.size() < static_cast<size_t>(mr * K)) t_rows.resize(static_cast<size_t>(mr * K));
    float* scratch = t_rows.data();
    const float* a_of[64];
    int64_t lda_of[64];
    std::vector<const float*> a_big;
    std::vector<int64_t> lda_big;
    const float** a_fh = a_of;
    int64_t* lda_fh = lda_of;
    if (p.f_h > 64) {
      a_big.resize(static_cast<size_t>(p.f_h));
      lda_big.resize(static_cast<size_t>(p.f_h));
      a_fh = a_big.data();
      lda_fh = lda_big.data();
    }
    for (int64_t pi = pb0; pi < pb1; ++pi) {
      const int64_t row = pi / per_row, ow0 = (pi - row * per_row) * mr;
      const int64_t oh = row % p.out_h, b = row / p.out_h;
      const int r = static_cast<int>(p.out_w - ow0 < mr ? p.out_w - ow0 : mr);
      const float* img = x + b * p.in_h * p.in_w * C;
      const int64_t m = row * p.out_w + ow0;
      // A rows per filter row (null: the filter row is outside the input).
      int64_t last_fh = -1;
      const int64_t iw_lo = ow0 * p.stride_w - p.pad_left, iw_hi = (ow0 + r - 1) * p.stride_w - p.pad_left;
      for (int64_t fh = 0; fh < p.f_h; ++fh) {
        const int64_t ih = oh * p.stride_h - p.pad_top + fh * p.dil_h;
        if (ih < 0 || ih >= p.in_h) {
          a_fh[fh] = nullptr;
          continue;
        }
        last_fh = fh;
        const float* xrow = img + ih * p.in_w * C;
        if (p.dil_w == 1 && iw_lo >= 0 && iw_hi + p.f_w - 1 < p.in_w) {
          a_fh[fh] = xrow + iw_lo * C;
          lda_fh[fh] = p.stride_w * C;
          continue;
        }
        float* dst = scratch + fh * mr * run;
        for (int i = 0; i < r; ++i) {
          const int64_t iw0 = iw_lo + i * p.stride_w;
          for (int64_t fw = 0; fw < p.f_w; ++fw) {
            const int64_t iw = iw0 + fw * p.dil_w;
            float* d = dst + i * run + fw * C;
            if (iw < 0 || iw >= p.in_w) std::memset(d, 0, sizeof(float) * C);
            else std::memcpy(d, xrow + iw * C, sizeof(float) * C);
          }
        }
        a_fh[fh] = dst;
        lda_fh[fh] = run;
      }
      for (int64_t j0 = 0; j0 < N; j0 += nr) {
        const int ncur = static_cast<int>(N - j0 < nr ? N - j0 : nr);
        float* c = y + m * N + j0;
        if (last_fh < 0) {  // no tap inside the input: epilogue(0)
          B.tile(0, nullptr, 0, B.data, r, ncur, c, N, 0, ep, m, j0);
          continue;
        }
        bool first = true;
        for (int64_t fh = 0; fh <= last_fh; ++fh) {
          if (!a_fh[fh]) continue;
          for (int64_t k = fh * run, kend = k + run; k < kend;) {
            const int64_t k1 = B.block_end(k) < kend ? B.block_end(k) : kend;
            const bool last = fh == last_fh && k1 == kend;
            B.tile(k1 - k, a_fh[fh] + (k - fh * run), lda_fh[fh], B.at(k, j0), r, ncur, c, N, first ? 0 : 1,
                   last ? ep : nullptr, m, j0);
            first = false;
            k = k1;
          }
        }
      }
    }
  });
}

}  // namespace

void conv2d_nhwc_f32(const float* x, const float* w, float* y, const Conv2DParams& p, const gemm::Epilogue* ep,
                     const gemm::PackedB* packed_w) {
  const int64_t M = p.batch * p.out_h * p.out_w, N = p.out_c, K = p.f_h * p.f_w * p.in_c;
  if (M == 0 || N == 0) return;
  const bool pointwise = p.f_h == 1 && p.f_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
                         p.pad_left == 0 && p.out_h == p.in_h && p.out_w == p.in_w;
  if (pointwise || K == 0) {
    gemm::sgemm(false, false, M, N, K, x, K > 0 ? K : 1, w, N, y, N, ep, packed_w);
    return;
  }
  const char* mode = std::getenv("AFTERBURNER_CONV");  // for comparisons: "direct", "implicit", "im2col"
  const bool direct = mode ? std::strcmp(mode, "direct") == 0 : p.f_w * p.in_c >= kDirectMinRun;
  if (direct) {
    gemm::Epilogue local;
    conv_direct(x, p, gemm::panel_b(K, N, w, N, packed_w), y, gemm::resolve_epilogue(ep, N, &local));
    return;
  }
  if (!mode || std::strcmp(mode, "im2col") != 0) {
    const GenCtx ctx{x, &p};
    gemm::sgemm_gen_a(gemm::AGen{&conv_pack_panel, &ctx}, M, N, K, w, N, packed_w, y, N, ep);
    return;
  }
  const int64_t R = chunk_rows(K, M);
  if (t_cols.size() < static_cast<size_t>(R * K)) t_cols.resize(static_cast<size_t>(R * K));
  float* cols = t_cols.data();
  for (int64_t m0 = 0; m0 < M; m0 += R) {
    const int64_t m1 = m0 + R < M ? m0 + R : M;
    parallel_for(m1 - m0, 64, [&](int64_t b, int64_t e) { im2col_rows(x, p, m0 + b, m0 + e, cols + b * K); });
    gemm::Epilogue chunk_ep;
    const gemm::Epilogue* e = ep;
    if (ep) {  // matrix-mode operands are indexed by output row: shift them to the chunk
      chunk_ep = *ep;
      if (ep->bias_mode == kOperandMatrix) chunk_ep.bias += m0 * (ep->bias_ld ? ep->bias_ld : N);
      if (ep->slope_mode == kOperandMatrix) chunk_ep.slope += m0 * (ep->slope_ld ? ep->slope_ld : N);
      e = &chunk_ep;
    }
    gemm::sgemm(false, false, m1 - m0, N, K, cols, K, w, N, y + m0 * N, N, e, packed_w);
  }
}

}  // namespace ab

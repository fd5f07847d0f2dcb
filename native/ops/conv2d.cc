// SPDX-License-Identifier: Apache-2.0
#include "conv2d.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemm/driver_common.h"
#include "gemm/addend_copy.h"
#include "ops/conv2d_im2col.h"
#include "ops/conv2d_inplace.h"
#include "ops/op_codes.h"
#include "runtime/thread_pool.h"

AB_DECLARE_KERNEL(int, conv1x1_rows_f32,
                  (const float* x, int64_t lda, int64_t K, int64_t rows, const float* b, int64_t N, float* y,
                   int64_t ldc, const ::ab::gemm::Epilogue* ep, int64_t m0))

AB_DECLARE_KERNEL(int, conv_narrow_rows_f32,
                  (const float* x, const float* wt, const ::ab::Conv2DParams& p, int64_t r0, int64_t r1, float* y,
                   const ::ab::gemm::Epilogue* ep))

namespace ab {
namespace {

thread_local std::vector<float> t_cols;

using NarrowFn = int (*)(const float*, const float*, const Conv2DParams&, int64_t, int64_t, float*,
                         const gemm::Epilogue*);
const DispatchStub<NarrowFn> narrow_stub = {AB_STUB_SLOTS(conv_narrow_rows_f32)};

// Outputs of at most this many channels take the narrow path (dot products per output), where the
// GEMM and direct paths would fill 1 to 4 lanes of 16 (native/kernels/conv_narrow_kernel.cc).
constexpr int64_t kNarrowMaxN = 4;

// The narrow path; false (nothing written) where the level has no body or the geometry is not one
// it takes (dilation along the width, runs shorter than a vector).
bool conv_narrow(const float* x, const float* w, const Conv2DParams& p, float* y, const gemm::Epilogue* ep_in,
                 bool forced) {
  const int64_t N = p.out_c, L = p.f_w * p.in_c, K = p.f_h * L;
  if (N < 1 || N > kNarrowMaxN || p.dil_w != 1 || K < 1 || (!forced && L < 16)) return false;
  const NarrowFn fn = gemm::driver::pick(narrow_stub, gemm::kernel_info().level);
  if (!fn(x, w, p, 0, 0, y, nullptr)) return false;  // no body at this level
  // The filter [f_h, f_w, in_c, N] transposed per output channel: wt[o][ky][kx * in_c + c].
  std::vector<float> wt(static_cast<size_t>(N * K));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t o = 0; o < N; ++o) wt[o * K + k] = w[k * N + o];
  gemm::Epilogue local;
  const gemm::Epilogue* e = gemm::resolve_epilogue(ep_in, N, &local);
  const int64_t M = p.batch * p.out_h * p.out_w, rows = p.batch * p.out_h;
  // The raw sums are written before the epilogue reads the addend: an addend that is y reads a copy.
  gemm::AddendCopy copy;
  e = copy.of(e, M, N, y, N, false);
  const int nt = gemm::driver::threads_for(M * N * K, get_num_threads());
  if (nt <= 1 || rows < 2) {
    fn(x, wt.data(), p, 0, rows, y, e);
    return true;
  }
  parallel_for(rows, 1, [&](int64_t r0, int64_t r1) { fn(x, wt.data(), p, r0, r1, y, e); });
  return true;
}

using PointwiseFn = int (*)(const float*, int64_t, int64_t, int64_t, const float*, int64_t, float*, int64_t,
                            const gemm::Epilogue*, int64_t);
const DispatchStub<PointwiseFn> pointwise_stub = {AB_STUB_SLOTS(conv1x1_rows_f32)};

// Output positions per block of the pointwise path: a block's x rows (<= 126 x in_c floats) stay in
// L2 while its column tiles run; threads take blocks from a shared counter.
constexpr int64_t kPointwiseBlock = 126;

// 1x1 stride-1 unpadded convolution as register tiles on x itself (native/kernels/pointwise_kernel.cc):
// no A packing, one K block. False (nothing written, nothing packed) where the level has no body or
// in_c spans several K blocks of the packed filter.
bool conv_pointwise(const float* x, const float* w, const gemm::PackedB* packed_w, const Conv2DParams& p, float* y,
                    const gemm::Epilogue* ep_in) {
  const int64_t M = p.batch * p.out_h * p.out_w, K = p.in_c, N = p.out_c;
  const gemm::KernelInfo ki = gemm::kernel_info();
  if (K < 1 || K > ki.kc) return false;  // one K block (the engine's K blocking: ceil(K / kc) blocks)
  const PointwiseFn fn = gemm::driver::pick(pointwise_stub, ki.level);
  gemm::Epilogue local;
  const gemm::Epilogue* ep = gemm::resolve_epilogue(ep_in, N, &local);
  if (!fn(x, K, K, 0, nullptr, N, y, N, ep, 0)) return false;  // no body at this level
  const gemm::PanelB B = gemm::panel_b(K, N, w, N, packed_w);
  if (B.nr != (ki.level >= 2 ? 32 : 16) || B.kc_block < K) return false;  // not the layout the body reads
  const int64_t blocks = (M + kPointwiseBlock - 1) / kPointwiseBlock;
  int nt = gemm::driver::threads_for(M * N * K, get_num_threads());
  if (nt > blocks) nt = static_cast<int>(blocks);
  auto run = [&](int64_t b0, int64_t b1) {
    for (int64_t bi = b0; bi < b1; ++bi) {
      const int64_t m0 = bi * kPointwiseBlock, rows = std::min(kPointwiseBlock, M - m0);
      fn(x + m0 * K, K, K, rows, B.data, N, y + m0 * N, N, ep, m0);
    }
  };
  if (nt <= 1) {
    run(0, blocks);
    return true;
  }
  const int64_t chunk = std::max<int64_t>(1, blocks / (8 * nt));
  std::atomic<int64_t> next{0};
  parallel_run(nt, [&](int, int) {
    for (int64_t b = next.fetch_add(chunk); b < blocks; b = next.fetch_add(chunk)) run(b, std::min(blocks, b + chunk));
  });
  return true;
}

// The direct path (register tiles on A read in place) when its runs (a filter row with dil_w == 1,
// else one tap) hold at least this many floats; below it the C tile reloads per run cost more than
// the implicit-im2col packing.
constexpr int64_t kDirectMinRun = 8;
constexpr int64_t kPointwiseDirectMinC = 128;

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

// Direct convolution on register tiles (no im2col, no A packing, no copies): an M panel is up to
// MR consecutive output positions of one output row. Its rows split into groups: the interior rows
// (every tap inside the input) form one group, each border row is a group of its own. For a group
// and a filter row fh inside the input, the taps are stretches of x read in place as a strided
// matrix (rows stride_w * in_c apart): with dil_w == 1 one run over the group's valid fw range,
// else one run per tap. Taps outside the input are skipped, as tfjs-cpu skips them. Each tile sums
// its runs in filter order (split at the B panel's K blocks), stores once per run.
thread_local std::vector<gemm::TileSeg> t_segs;

void conv_direct(const float* x, const Conv2DParams& p, const gemm::PanelB& B, float* y, const gemm::Epilogue* ep) {
  const int64_t C = p.in_c, N = p.out_c, run = p.f_w * C, K = p.f_h * run;
  const int mr = B.mr, nr = B.nr;
  const bool wide_ok = !std::getenv("AFTERBURNER_CONV_NARROW");
  const int64_t per_row = (p.out_w + mr - 1) / mr, panels = p.batch * p.out_h * per_row;
  const int64_t macs_per_panel = static_cast<int64_t>(mr) * N * (K > 0 ? K : 1);
  const int64_t grain = macs_per_panel >= (int64_t{1} << 18) ? 1 : (int64_t{1} << 18) / macs_per_panel;
  const int64_t lda = p.stride_w * C;
  // Threads take chunks of panels from a shared counter (about 8 per thread): on a shared machine a
  // thread whose core is busy takes fewer instead of holding the others up (as the GEMM does).
  int nt = get_num_threads();
  if (panels / grain < nt) nt = static_cast<int>(panels / grain > 1 ? panels / grain : 1);
  const int64_t chunk = nt > 1 ? std::max<int64_t>(grain, panels / (8 * nt)) : panels;
  std::atomic<int64_t> next{0};
  auto work = [&](int64_t pb0, int64_t pb1) {
    std::vector<gemm::TileSeg>& segs = t_segs;
    struct Group {
      int i0, i1;            // rows [i0, i1) of the panel
      size_t s0, s1;         // its runs in segs
    } groups[40];
    for (int64_t pi = pb0; pi < pb1; ++pi) {
      const int64_t row = pi / per_row, ow0 = (pi - row * per_row) * mr;
      const int64_t oh = row % p.out_h, b = row / p.out_h;
      const int r = static_cast<int>(p.out_w - ow0 < mr ? p.out_w - ow0 : mr);
      const float* img = x + b * p.in_h * p.in_w * C;
      const int64_t m = row * p.out_w + ow0;
      const int64_t iw_lo = ow0 * p.stride_w - p.pad_left;
      // The valid fw range of row i: iw = iw_lo + i * stride_w + fw * dil_w inside [0, in_w).
      auto fw_range = [&](int i, int64_t* lo, int64_t* hi) {
        const int64_t iw0 = iw_lo + i * p.stride_w;
        *lo = iw0 >= 0 ? 0 : (-iw0 + p.dil_w - 1) / p.dil_w;
        *hi = iw0 > p.in_w - 1 ? -1 : (p.in_w - 1 - iw0) / p.dil_w;
        if (*hi > p.f_w - 1) *hi = p.f_w - 1;
      };
      // Groups: border rows alone, the interior rows (full fw range; contiguous in i) together.
      int ng = 0;
      segs.clear();
      for (int i = 0; i < r;) {
        int64_t lo, hi;
        fw_range(i, &lo, &hi);
        int i1 = i + 1;
        if (lo == 0 && hi == p.f_w - 1) {
          for (int64_t lo2, hi2; i1 < r; ++i1) {
            fw_range(i1, &lo2, &hi2);
            if (lo2 != 0 || hi2 != p.f_w - 1) break;
          }
        }
        Group& g = groups[ng++];
        g.i0 = i;
        g.i1 = i1;
        g.s0 = segs.size();
        const int64_t iw0 = iw_lo + i * p.stride_w;
        for (int64_t fh = 0; fh < p.f_h && lo <= hi; ++fh) {
          const int64_t ih = oh * p.stride_h - p.pad_top + fh * p.dil_h;
          if (ih < 0 || ih >= p.in_h) continue;
          const float* xrow = img + ih * p.in_w * C;
          const int64_t nrun = p.dil_w == 1 ? 1 : hi - lo + 1;
          for (int64_t t = 0; t < nrun; ++t) {
            const int64_t fw = lo + t;
            const int64_t kb = fh * run + fw * C, len = p.dil_w == 1 ? (hi - lo + 1) * C : C;
            const float* a = xrow + (iw0 + fw * p.dil_w) * C;
            for (int64_t k = kb; k < kb + len;) {  // split at the K blocks of B
              const int64_t k1 = B.block_end(k) < kb + len ? B.block_end(k) : kb + len;
              segs.push_back(B.seg(a + (k - kb), k, k1 - k));
              k = k1;
            }
          }
        }
        g.s1 = segs.size();
        i = i1;
      }
      for (int64_t j0 = 0; j0 < N;) {
        const bool wide = wide_ok && N - j0 >= 2 * nr;
        const int ncur = static_cast<int>(wide ? 2 * nr : N - j0 < nr ? N - j0 : nr);
        for (int gi = 0; gi < ng; ++gi) {
          const Group& g = groups[gi];
          const int rows = g.i1 - g.i0;
          float* c = y + (m + g.i0) * N + j0;
          // one batch-reduce tile over all the group's runs (none: epilogue(0))
          const gemm::TileSeg* sg = segs.data() + g.s0;
          const int nseg = static_cast<int>(g.s1 - g.s0);
          if (wide) B.tile_wide(sg, nseg, lda, B.data, j0, rows, c, N, ep, m + g.i0);
          else B.tile(sg, nseg, lda, B.data, j0, rows, ncur, c, N, ep, m + g.i0);
        }
        j0 += ncur;
      }
    }
  };
  if (nt <= 1) {
    work(0, panels);
    return;
  }
  parallel_run(nt, [&](int, int) {
    for (int64_t b = next.fetch_add(chunk); b < panels; b = next.fetch_add(chunk)) work(b, std::min(panels, b + chunk));
  });
}


// single: the whole convolution has one output position (decided on the full problem, so an
// in-place sub-problem of one position takes the same path as the rest of its convolution).
void conv2d_impl(const float* x, const float* w, float* y, const Conv2DParams& p, const gemm::Epilogue* ep,
                 const gemm::PackedB* packed_w, bool single) {
  const int64_t M = p.batch * p.out_h * p.out_w, N = p.out_c, K = p.f_h * p.f_w * p.in_c;
  if (M == 0 || N == 0) return;
  const bool pointwise = p.f_h == 1 && p.f_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
                         p.pad_left == 0 && p.out_h == p.in_h && p.out_w == p.in_w;
  // for comparisons: "pointwise", "nopointwise", "gemm" (1x1 stride 1: the GEMM on x), "direct",
  // "implicit", "im2col"
  const char* mode = std::getenv("AFTERBURNER_CONV");
  // 1x1 stride 1: one GEMM on x as it is, unless the channels are many (then the direct tiles,
  // which read x in place too, skip the GEMM's A packing: 256->64 at 56x56 ~97 -> ~111 GFLOP/s).
  const bool forced_direct = mode && std::strcmp(mode, "direct") == 0;
  // 1x1 stride 1, first choice: register tiles on x with the epilogue (pointwise_kernel.cc).
  // "nopointwise": the choice without this path (for before/after comparisons in one process).
  const bool no_pointwise = mode && std::strcmp(mode, "nopointwise") == 0;
  if (no_pointwise) mode = nullptr;
  // Few output channels (<= 4): dot products per output, 1x1 included (unless another path is forced).
  const bool forced_narrow = mode && std::strcmp(mode, "narrow") == 0;
  if ((!mode || forced_narrow) && conv_narrow(x, w, p, y, ep, forced_narrow)) return;
  if (forced_narrow) mode = nullptr;
  if (pointwise && K > 0 && !no_pointwise && (!mode || std::strcmp(mode, "pointwise") == 0)) {
    if (conv_pointwise(x, w, packed_w, p, y, ep)) return;
    mode = nullptr;  // forced but not possible here: the default choice
  }
  const bool forced_gemm = mode && std::strcmp(mode, "gemm") == 0;
  if (K == 0 || (pointwise && (p.in_c < kPointwiseDirectMinC || forced_gemm) && !forced_direct)) {
    gemm::sgemm(false, false, M, N, K, x, K > 0 ? K : 1, w, N, y, N, ep, packed_w);
    return;
  }
  // One output position (a head over the last feature map, face mesh's 3x3x32 -> 1404): its
  // im2col row and the GEMV, which streams the filter once (the direct tiles' single row: 2.2x slower).
  if (!mode && single) mode = "im2col";
  const bool direct = mode ? std::strcmp(mode, "direct") == 0 : (p.dil_w == 1 ? p.f_w : 1) * p.in_c >= kDirectMinRun;
  if (direct) {
    gemm::Epilogue local;
    const gemm::PanelB B = gemm::panel_b(K, N, w, N, packed_w);
    const gemm::Epilogue* e = gemm::resolve_epilogue(ep, N, &local);
    // Residual written in place (addend == y): the scalar tiles accumulate in y, so they read a copy.
    gemm::AddendCopy copy;
    e = copy.of(e, M, N, y, N, B.stores_once);
    conv_direct(x, p, B, y, e);
    return;
  }
  if (!mode || std::strcmp(mode, "im2col") != 0) {
    const GenCtx ctx{x, &p};
    gemm::sgemm_gen_a(gemm::AGen{&conv_pack_panel, &ctx}, M, N, K, w, N, packed_w, y, N, ep);
    return;
  }
  // Rows of im2col per chunk: at most ~8 MiB of scratch (fits the L3 next to the packed panels),
  // but never fewer than 256 rows so each GEMM stays large enough to thread well.
  const int64_t R = conv_im2col::chunk_rows(K, M, int64_t{8} << 20, 256);
  conv_im2col::run_chunks(x, p, M, N, K, R, t_cols, ep,
                          [&](int64_t m0, int64_t rows, const float* cols, const gemm::Epilogue* e) {
                            gemm::sgemm(false, false, rows, N, K, cols, K, w, N, y + m0 * N, N, e, packed_w);
                          });
}

}  // namespace

void conv2d_nhwc_f32(const float* x, const float* w, float* y, const Conv2DParams& p, const gemm::Epilogue* ep,
                     const gemm::PackedB* packed_w) {
  const bool single = p.batch * p.out_h * p.out_w == 1;
  if (y == x && p.batch * p.out_h * p.out_w * p.out_c > 0) {
    inplace::conv_rows(y, p, [&](const float* sx, float* sy, const Conv2DParams& q) {
      conv2d_impl(sx, w, sy, q, ep, packed_w, single);
    });
    return;
  }
  conv2d_impl(x, w, y, p, ep, packed_w, single);
}

}  // namespace ab

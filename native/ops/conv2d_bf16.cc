// SPDX-License-Identifier: Apache-2.0
#include "ops/conv2d_bf16.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dispatch/dispatch.h"
#include "gemm/gemm_bf16.h"
#include "ops/conv2d_bf16_direct.h"
#include "gemm/addend_copy.h"
#include "ops/conv2d_im2col.h"
#include "ops/conv2d_inplace.h"
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

#if AB_X86
thread_local std::vector<uint16_t> t_padded;

// The padded bf16 copy of images at most this large in all (more images: in groups).
constexpr int64_t kPaddedBytes = int64_t{32} << 20;

// The direct path (conv2d_bf16_direct.h) at avx512_bf16 where vdpbf16ps is faster than FMA
// (else gemm_bf16 runs the avx512 emulation: the conv does too, through the implicit path).
// The padded copy is at most about 4x the larger of the input and output images (plus 1 MiB):
// large strides or dilations with few outputs would copy mostly unread pixels.
bool direct_applies(const Conv2DParams& p) {
  if (isa_current() != Isa::kAvx512Bf16 || p.in_c < 1) return false;
  const double Hp = static_cast<double>(p.out_h - 1) * static_cast<double>(p.stride_h) +
                    static_cast<double>(p.f_h - 1) * static_cast<double>(p.dil_h) + 1;
  const double Wp = static_cast<double>(p.out_w - 1) * static_cast<double>(p.stride_w) +
                    static_cast<double>(p.f_w - 1) * static_cast<double>(p.dil_w) + 1;
  const double in = static_cast<double>(p.in_h) * static_cast<double>(p.in_w);
  const double out = static_cast<double>(p.out_h) * static_cast<double>(p.out_w);
  if (Hp * Wp > 4 * (in > out ? in : out) + static_cast<double>(int64_t{1} << 19) / static_cast<double>(p.in_c))
    return false;
  return !gemm::bf16_dot_policy().emulate;
}

// K's pairs as segments (conv2d_bf16_direct.h), cut at the K blocks (kcp pairs): *ends gets each
// block's end index in segs.
void build_segments(const Conv2DParams& p, int64_t Wp, int64_t kcp, std::vector<Bf16ConvSeg>* segs,
                    std::vector<int64_t>* ends) {
  const int64_t C = p.in_c, K = p.f_h * p.f_w * C, K2 = (K + 1) / 2;
  // Runs of K contiguous in the copy: a filter row (dil_w = 1) or a tap.
  std::vector<int64_t> run_off, run_len;
  for (int64_t fh = 0; fh < p.f_h; ++fh) {
    if (p.dil_w == 1) {
      run_off.push_back(fh * p.dil_h * Wp * C);
      run_len.push_back(p.f_w * C);
    } else {
      for (int64_t fw = 0; fw < p.f_w; ++fw) {
        run_off.push_back((fh * p.dil_h * Wp + fw * p.dil_w) * C);
        run_len.push_back(C);
      }
    }
  }
  segs->clear();
  ends->clear();
  size_t r = 0;
  int64_t j = 0;  // element j of run r is K's element 2p
  for (int64_t pp = 0; pp < K2;) {
    const int64_t bend = std::min(K2, (pp / kcp + 1) * kcp);
    const int64_t left = run_len[r] - j;  // elements left in this run
    if (left >= 2) {
      const int64_t n = std::min(left / 2, bend - pp);
      segs->push_back({run_off[r] + j, n, 0});
      pp += n;
      j += 2 * n;
    } else {  // left == 1: the pair's second element starts the next run (or is K's zero)
      const bool more = r + 1 < run_len.size();
      segs->push_back({run_off[r] + j, 0, more ? run_off[r + 1] : -1});
      ++pp;
      if (more) {
        ++r;
        j = 1;
      } else {
        j = run_len[r];
      }
    }
    if (r < run_len.size() && j == run_len[r] && r + 1 < run_len.size()) {
      ++r;
      j = 0;
    }
    if (pp == bend) ends->push_back(static_cast<int64_t>(segs->size()));
  }
}

void conv_direct(const float* x, const uint32_t* packed_w, float* y, const Conv2DParams& p,
                 const gemm::Epilogue* ep_in) {
  const int64_t C = p.in_c, N = p.out_c, K2 = (p.f_h * p.f_w * C + 1) / 2;
  const int64_t Hp = (p.out_h - 1) * p.stride_h + (p.f_h - 1) * p.dil_h + 1;
  const int64_t Wp = (p.out_w - 1) * p.stride_w + (p.f_w - 1) * p.dil_w + 1;
  std::vector<Bf16ConvSeg> segs;
  std::vector<int64_t> ends;
  build_segments(p, Wp, gemm::bf16_k_block_pairs(K2), &segs, &ends);
  gemm::Epilogue local;
  Bf16ConvJob j;
  j.Hp = Hp;
  j.Wp = Wp;
  j.C = C;
  j.segs = segs.data();
  j.block_end = ends.data();
  j.nblocks = static_cast<int64_t>(ends.size());
  j.out_h = p.out_h;
  j.out_w = p.out_w;
  j.N = N;
  j.stride_h = p.stride_h;
  j.stride_w = p.stride_w;
  j.K2 = K2;
  j.pb = packed_w;
  j.ep = gemm::resolve_epilogue(ep_in, N, &local);
  // 7 x 64 tiles (two panels) where N allows; AFTERBURNER_CONV_NARROW: 14 x 32 only (comparisons).
  j.wide = N > gemm::kBf16PanelN && !std::getenv("AFTERBURNER_CONV_NARROW") ? 1 : 0;
  const int64_t per_img = Hp * Wp * C;
  int64_t group = kPaddedBytes / (2 * per_img);
  if (group < 1) group = 1;
  if (group > p.batch) group = p.batch;
  if (t_padded.size() < static_cast<size_t>(group * per_img)) t_padded.resize(static_cast<size_t>(group * per_img));
  uint16_t* xp = t_padded.data();
  j.xp = xp;
  const int nt_max = get_num_threads();
  for (int64_t b0 = 0; b0 < p.batch; b0 += group) {
    const int64_t nb = p.batch - b0 < group ? p.batch - b0 : group;
    const float* xb = x + b0 * p.in_h * p.in_w * C;
    parallel_for(nb * Hp, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1;) {
        const int64_t b = r / Hp, rr = r - b * Hp, e = (b + 1) * Hp < r1 ? Hp : rr + (r1 - r);
        avx512_bf16::bf16_conv_pad_rows(xb, p.in_h, p.in_w, C, p.pad_top, p.pad_left, Hp, Wp, b, rr, e, xp);
        r += e - rr;
      }
    });
    // Work items: output rows x column groups. Columns are split only when rows are too few to
    // give every thread several items.
    const int64_t rows = nb * p.out_h;
    const int64_t panels = (N + gemm::kBf16PanelN - 1) / gemm::kBf16PanelN;
    int64_t gp = panels;  // panels per group
    while (gp > 2 && rows * ((panels + gp - 1) / gp) < 4 * nt_max) gp = (gp + 1) / 2;
    j.group_cols = gp * gemm::kBf16PanelN;
    j.ngroups = (panels + gp - 1) / gp;
    j.y = y + b0 * p.out_h * p.out_w * N;
    const int64_t items = rows * j.ngroups;
    const int64_t flops_item = 2 * p.out_w * j.group_cols * 2 * K2;
    const int64_t grain = flops_item >= (int64_t{1} << 20) ? 1 : (int64_t{1} << 20) / (flops_item > 0 ? flops_item : 1);
    int nt = nt_max;
    if (items / grain < nt) nt = static_cast<int>(items / grain > 1 ? items / grain : 1);
    if (nt <= 1) {
      avx512_bf16::bf16_conv_rows(&j, 0, items);
      continue;
    }
    // Threads take chunks of items from a shared counter (about 8 per thread), as conv2d's direct path.
    const int64_t chunk = std::max<int64_t>(grain, items / (8 * nt));
    std::atomic<int64_t> next{0};
    parallel_run(nt, [&](int, int) {
      for (int64_t i = next.fetch_add(chunk); i < items; i = next.fetch_add(chunk))
        avx512_bf16::bf16_conv_rows(&j, i, std::min(items, i + chunk));
    });
  }
}
#endif

}  // namespace

namespace {
enum class Path { kEmpty, kGemm, kDirect, kImplicit, kIm2col };

Path path_of(const Conv2DParams& p) {
  const int64_t K = p.f_h * p.f_w * p.in_c;
  if (p.batch * p.out_h * p.out_w == 0 || p.out_c == 0) return Path::kEmpty;
  const bool pointwise = p.f_h == 1 && p.f_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
                         p.pad_left == 0 && p.out_h == p.in_h && p.out_w == p.in_w;
  if (K == 0 || pointwise) return Path::kGemm;
  // AFTERBURNER_CONV: "im2col" the explicit path, "implicit" the implicit im2col GEMM (the same
  // bits; for comparisons); else the direct path where it applies (avx512_bf16).
  const char* mode = std::getenv("AFTERBURNER_CONV");
  if (mode && std::strcmp(mode, "im2col") == 0) return Path::kIm2col;
  if (mode && std::strcmp(mode, "implicit") == 0) return Path::kImplicit;
#if AB_X86
  if (direct_applies(p)) return Path::kDirect;
#endif
  return Path::kImplicit;
}
}  // namespace

const char* conv2d_bf16_path(const Conv2DParams& p) {
  switch (path_of(p)) {
    case Path::kEmpty: return "empty";
    case Path::kGemm: return "gemm";
    case Path::kDirect: return "direct";
    case Path::kImplicit: return "implicit";
    default: return "im2col";
  }
}

namespace {
// One convolution (or an in-place row block of one) on `path`, chosen for the whole convolution.
void conv2d_bf16_on(const float* x, const uint32_t* packed_w, float* y, const Conv2DParams& p,
                    const gemm::Epilogue* ep, Path path) {
  const int64_t M = p.batch * p.out_h * p.out_w, N = p.out_c, K = p.f_h * p.f_w * p.in_c;
  if (M == 0 || N == 0) return;
  // A residual written in place (the epilogue's addend is y): the bf16 engine may write partial
  // sums into y before its epilogue reads the addend, so it reads a copy.
  gemm::AddendCopy copy;
  ep = copy.of(ep, M, N, y, N, false);
  switch (path) {
    case Path::kEmpty: return;
    case Path::kGemm: gemm::gemm_bf16(false, M, N, K, x, K > 0 ? K : 1, packed_w, y, N, ep); return;
#if AB_X86
    case Path::kDirect: conv_direct(x, packed_w, y, p, ep); return;
#endif
    case Path::kImplicit: {
      const GenCtx ctx{x, &p};
      gemm::gemm_bf16_gen_a(&gen_rows, &ctx, M, N, K, packed_w, y, N, ep);
      return;
    }
    default: break;
  }
  // im2col: rows of im2col per chunk: about 4 MiB of f32 rows (they are read once more, by the
  // GEMM's A packing, while still in L2/L3), but at least 512 rows so each GEMM threads well.
  const int64_t R = conv_im2col::chunk_rows(K, M, int64_t{4} << 20, 512);
  conv_im2col::run_chunks(x, p, M, N, K, R, t_cols_bf16, ep,
                          [&](int64_t m0, int64_t rows, const float* cols, const gemm::Epilogue* e) {
                            gemm::gemm_bf16(false, rows, N, K, cols, K, packed_w, y + m0 * N, N, e);
                          });
}
}  // namespace

void conv2d_nhwc_bf16(const float* x, const uint32_t* packed_w, float* y, const Conv2DParams& p,
                      const gemm::Epilogue* ep) {
  // The path and the GEMM's kernel choice are the whole convolution's, also for the row blocks of
  // one written in place: the same bits as out of place (at amx a block of <= 4 positions would
  // otherwise run the avx512_bf16 kernel, and the direct path's copy rule could flip).
  const Path path = path_of(p);
  gemm::Bf16RowsHint hint(p.batch * p.out_h * p.out_w);
  if (y == x && p.batch * p.out_h * p.out_w * p.out_c > 0) {
    inplace::conv_rows(y, p, [&](const float* sx, float* sy, const Conv2DParams& q) {
      conv2d_bf16_on(sx, packed_w, sy, q, ep, path);
    });
    return;
  }
  conv2d_bf16_on(x, packed_w, y, p, ep, path);
}

}  // namespace ab

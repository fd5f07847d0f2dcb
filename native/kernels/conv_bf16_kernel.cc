// SPDX-License-Identifier: Apache-2.0
// The direct bf16 convolution at avx512_bf16 (contract: native/ops/conv2d_bf16_direct.h).
// ab-extra-levels: avx512_bf16
//
// Only the avx512_bf16 library has a body: the levels below it run the bf16 GEMM's implicit
// im2col path (its emulation gives the same bits), amx runs its own tiles (its own bits).
//
// Register tiles: R <= 14 output pixels of one output row x 32 columns (one packed-B panel, 2 zmm
// per pixel: 28 accumulators, 2 B loads and 14 broadcasts per pair), or R <= 7 pixels x 64
// columns (two panels: 4 B loads and 7 broadcasts per pair). A pixel's pair words are broadcast
// straight from the padded copy: consecutive pixels of a tile are stride_w * C elements apart,
// consecutive pairs of a segment 2 elements apart, so the tile is the bf16 GEMM's micro-kernel
// with packed A's row stride replaced by the pixel stride, run segment by segment inside each K
// block (a pair across two runs, C odd, is put together per pixel).
#include <cstdint>
#include <cstring>

#include "dispatch/dispatch.h"
#include "gemm/gemm.h"
#include "ops/conv2d_bf16_direct.h"
#include "ops/op_codes.h"

#if AB_ISA_LEVEL == 4
#include <immintrin.h>

#include "kernels/gemm_epilogue.h"
#endif

// GCC 12 flags _mm512_undefined_ps() inside its own intrinsic headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace ab { namespace AB_ISA_NS {
#if AB_ISA_LEVEL == 4
using ::ab::gemm::Epilogue;

namespace {

constexpr int kNR = 32;    // packed-B panel width
constexpr int kMR = 14;    // pixels of a one-panel tile
constexpr int kMRW = 7;    // pixels of a two-panel tile

struct Tile {
  const uint16_t* a;       // the tile's first pixel's base in the padded copy
  int64_t astride;         // elements between the tile's pixels (stride_w * C)
  const ::ab::Bf16ConvSeg* segs;
  const int64_t* block_end;
  int64_t nblocks;
  const uint32_t* pb;      // panel at pair 0
  int64_t pstride;         // words between panels
  float* c;
  int64_t ldc;
  int nr;                  // valid columns (<= 32 * NV / 2)
  const Epilogue* ep;
  int64_t m0, n0;
};

AB_INLINE uint32_t load_u32(const uint16_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// acc (+ C when accumulate) -> epilogue (ep) -> C, masked to nr columns (gemm_bf16's finish512).
template <int R, int NV>
AB_INLINE void finish(__m512 (&acc)[R][NV], float* c, int64_t ldc, int nr, int accumulate, const Epilogue* ep,
                      int64_t m0, int64_t n0) {
  __mmask16 mk[NV];
  for (int v = 0; v < NV; ++v) mk[v] = mask16(nr - 16 * v);
#pragma GCC unroll 14
  for (int i = 0; i < R; ++i) {
    float* crow = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      __m512 x = acc[i][v];
      if (accumulate) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk[v], crow + 16 * v));
      if (ep) x = epi16(x, ep, m0 + i, n0 + 16 * v, mk[v]);
      _mm512_mask_storeu_ps(crow + 16 * v, mk[v], x);
    }
  }
  if (ep && act_is_heavy(ep->act))
    for (int i = 0; i < R; ++i) activation_f32_inplace(c + i * ldc, nr, ep->act, ep->alpha, nullptr);
}

// One tile over all of K: per K block, chains from +0 over its pairs (segment by segment), then
// finish. NV = 2: one panel (32 columns); NV = 4: two panels (64 columns).
template <int R, int NV>
AB_INLINE void step(__m512 (&acc)[R][NV], const uint32_t* b, int64_t pstride, const uint32_t (&w)[R]) {
  const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
  const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 16);
  __m512bh b2 = b0, b3 = b0;
  if (NV == 4) {
    b2 = (__m512bh)_mm512_loadu_si512(b + pstride);
    b3 = (__m512bh)_mm512_loadu_si512(b + pstride + 16);
  }
#pragma GCC unroll 14
  for (int i = 0; i < R; ++i) {
    const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(w[i]));
    acc[i][0] = _mm512_dpbf16_ps(acc[i][0], b0, a);
    acc[i][1] = _mm512_dpbf16_ps(acc[i][1], b1, a);
    if (NV == 4) {
      acc[i][2] = _mm512_dpbf16_ps(acc[i][2], b2, a);
      acc[i][3] = _mm512_dpbf16_ps(acc[i][3], b3, a);
    }
  }
}

template <int R, int NV>
__attribute__((noinline)) void tile(const Tile& t) {
  const int64_t as = t.astride;
  const uint32_t* b = t.pb;
  int64_t s = 0;
  for (int64_t blk = 0; blk < t.nblocks; ++blk) {
    __m512 acc[R][NV];
#pragma GCC unroll 14
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
    for (const int64_t send = t.block_end[blk]; s < send; ++s) {
      const ::ab::Bf16ConvSeg& g = t.segs[s];
      if (g.pairs == 0) {  // one pair put together from two elements (or one and a zero)
        uint32_t w[R];
        for (int i = 0; i < R; ++i) {
          const uint16_t* px = t.a + i * as;
          w[i] = static_cast<uint32_t>(px[g.off]) | (g.hi >= 0 ? static_cast<uint32_t>(px[g.hi]) << 16 : 0u);
        }
        step<R, NV>(acc, b, t.pstride, w);
        b += kNR;
        continue;
      }
      const uint16_t* __restrict pa = t.a + g.off;
      for (int64_t k = 0; k < g.pairs; ++k) {
        uint32_t w[R];
#pragma GCC unroll 14
        for (int i = 0; i < R; ++i) w[i] = load_u32(pa + i * as);
        step<R, NV>(acc, b, t.pstride, w);
        pa += 2;
        b += kNR;
      }
    }
    finish<R, NV>(acc, t.c, t.ldc, t.nr, blk > 0 ? 1 : 0, blk + 1 == t.nblocks ? t.ep : nullptr, t.m0, t.n0);
  }
}

typedef void (*TileFn)(const Tile&);
#define AB_T2(R) &tile<R, 2>
const TileFn kTile32[kMR] = {AB_T2(1), AB_T2(2), AB_T2(3), AB_T2(4),  AB_T2(5),  AB_T2(6),  AB_T2(7),
                             AB_T2(8), AB_T2(9), AB_T2(10), AB_T2(11), AB_T2(12), AB_T2(13), AB_T2(14)};
#undef AB_T2
const TileFn kTile64[kMRW] = {&tile<1, 4>, &tile<2, 4>, &tile<3, 4>, &tile<4, 4>, &tile<5, 4>, &tile<6, 4>, &tile<7, 4>};

}  // namespace

void bf16_conv_pad_rows(const float* x, int64_t in_h, int64_t in_w, int64_t C, int64_t pad_top, int64_t pad_left,
                        int64_t Hp, int64_t Wp, int64_t b, int64_t r0, int64_t r1, uint16_t* xp) {
  // Copy columns [s0, s1) hold input columns [s0 - pad_left, s1 - pad_left) (in range), zeros elsewhere.
  int64_t s0 = pad_left, s1 = pad_left + in_w;
  if (s0 < 0) s0 = 0;
  if (s1 > Wp) s1 = Wp;
  if (s1 < s0) s1 = s0;
  for (int64_t r = r0; r < r1; ++r) {
    uint16_t* d = xp + ((b * Hp + r) * Wp) * C;
    const int64_t ih = r - pad_top;
    if (ih < 0 || ih >= in_h || s1 == s0) {
      std::memset(d, 0, sizeof(uint16_t) * static_cast<size_t>(Wp * C));
      continue;
    }
    if (s0 > 0) std::memset(d, 0, sizeof(uint16_t) * static_cast<size_t>(s0 * C));
    if (s1 < Wp) std::memset(d + s1 * C, 0, sizeof(uint16_t) * static_cast<size_t>((Wp - s1) * C));
    const float* src = x + ((b * in_h + ih) * in_w + (s0 - pad_left)) * C;
    uint16_t* dst = d + s0 * C;
    const int64_t n = (s1 - s0) * C;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      const __m512i v = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
      _mm512_storeu_si512(dst + i, v);
    }
    for (; i < n; i += 16) {
      const int64_t rem = n - i;
      const __mmask16 m = rem >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << rem) - 1u);
      const __m256i v = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i));
      _mm256_mask_storeu_epi16(dst + i, m, v);
    }
  }
}

void bf16_conv_rows(const Bf16ConvJob* jp, int64_t i0, int64_t i1) {
  const Bf16ConvJob& j = *jp;
  const int64_t pstride = j.K2 * kNR;
  Tile t;
  t.astride = j.stride_w * j.C;
  t.segs = j.segs;
  t.block_end = j.block_end;
  t.nblocks = j.nblocks;
  t.pstride = pstride;
  t.ldc = j.N;
  t.ep = j.ep;
  for (int64_t item = i0; item < i1; ++item) {
    const int64_t g = item % j.ngroups, row = item / j.ngroups;  // row = b * out_h + oh
    const int64_t oh = row % j.out_h, b = row / j.out_h;
    const uint16_t* arow = j.xp + ((b * j.Hp + oh * j.stride_h) * j.Wp) * j.C;
    const int64_t n0 = g * j.group_cols, n1 = n0 + j.group_cols < j.N ? n0 + j.group_cols : j.N;
    const int64_t mrow = row * j.out_w;
    for (int64_t jn = n0; jn < n1;) {
      const bool wide = j.wide && n1 - jn > kNR;
      const int64_t w = wide ? (n1 - jn < 2 * kNR ? n1 - jn : 2 * kNR) : (n1 - jn < kNR ? n1 - jn : kNR);
      t.pb = j.pb + (jn / kNR) * pstride;
      t.nr = static_cast<int>(w);
      t.n0 = jn;
      const int mr = wide ? kMRW : kMR;
      for (int64_t ow = 0; ow < j.out_w; ow += mr) {
        const int r = static_cast<int>(j.out_w - ow < mr ? j.out_w - ow : mr);
        t.a = arow + ow * t.astride;
        t.c = j.y + (mrow + ow) * j.N + jn;
        t.m0 = mrow + ow;
        (wide ? kTile64 : kTile32)[r - 1](t);
      }
      jn += w;
    }
  }
}
#endif  // AB_ISA_LEVEL == 4
} }  // namespace ab::AB_ISA_NS

// SPDX-License-Identifier: Apache-2.0
// Weight-only int8 / int4 GEMM kernel bodies (contract and arithmetic: native/gemm/gemm_quant.h).
//
//   avx512 : R x 32 tiles (R <= 6): per k, the 32 codes of the panel row become two zmm of f32
//            (vpmovsxbd + vcvtdq2ps; int4: vpmovzxbd, then vpermps from a 16-entry table of q by
//            each nibble), R broadcast
//            FMAs each into the group sums s, then acc = fma(s, d, acc) once per group.
//   avx2   : R x 16 half panels (R <= 3), the same with ymm.
//   scalar : column by column with fmaf (the same operations in the same order).
// Small M (<= direct_max rows) decodes the codes inside the tile loop (GEMV: the weights stream
// once from memory); larger M dequantizes chunk_k rows of a panel into an f32 buffer once and runs
// every row tile over it. Both keep acc in C between chunks (exact), so the bits are the same.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "dispatch/dispatch.h"
#include "gemm/gemm_quant.h"
#include "kernels/gemm_epilogue.h"
#include "ops/op_codes.h"

#if AB_ISA_LEVEL >= 1
#include <immintrin.h>
#endif

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace ab { namespace AB_ISA_NS {
using ::ab::gemm::Epilogue;
using ::ab::gemm::QuantParams;
using ::ab::gemm::QuantProb;

namespace {

constexpr int kNP = 32;       // panel width
constexpr int kChunkK = 128;  // K rows per dequantized chunk (a multiple of every group size)
#if AB_ISA_LEVEL >= 2
constexpr int kMR = 6, kDirectMax = 16;
const char* const kName = "avx512 6x32 (vpmovsxbd + vcvtdq2ps, group sums in zmm)";
#elif AB_ISA_LEVEL == 1
constexpr int kMR = 3, kDirectMax = 12;
const char* const kName = "avx2 3x16 (vpmovsxbd + vcvtdq2ps, group sums in ymm)";
#else
constexpr int kMR = 4, kDirectMax = 4;
const char* const kName = "scalar 4x32 (fmaf)";
#endif

struct TileArgs {
  const float* a;  // row 0 of the tile, column 0
  int64_t lda;
  const uint8_t* panel;  // block 0 of the panel
  int64_t block_bytes, group, K;
  int64_t g0, g1;     // groups of this chunk
  const float* wbuf;  // dequantized rows g0 * group ..., 32 floats each (buffered path)
  float* c;
  int64_t ldc;
  int nr;     // valid columns
  int first;  // acc starts at 0 (else it is read from C)
  const Epilogue* ep;  // last chunk: apply on store
  int64_t m0, n0;
};

#if AB_ISA_LEVEL >= 2
template <int BITS>
AB_INLINE void decode32(const uint8_t* row, __m512& w0, __m512& w1) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row));
  if (BITS == 8) {
    const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 16));
    w0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(x));
    w1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(y));
  } else {
    // vpermps reads only the low 4 bits of each index: the zero-extended byte indexes the table
    // of code - 8 by its low nibble as it is, and by its high nibble after a shift.
    const __m512 lut = _mm512_setr_ps(-8.f, -7.f, -6.f, -5.f, -4.f, -3.f, -2.f, -1.f, 0.f, 1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f);
    const __m512i b = _mm512_cvtepu8_epi32(x);
    w0 = _mm512_permutexvar_ps(b, lut);
    w1 = _mm512_permutexvar_ps(_mm512_srli_epi32(b, 4), lut);
  }
}

template <int R, int BITS, bool BUF>
__attribute__((noinline)) void tile(const TileArgs& t) {
  constexpr int64_t RB = BITS == 8 ? 32 : 16;
  __mmask16 mk[2];
  for (int v = 0; v < 2; ++v) {
    const int rem = t.nr - 16 * v;
    mk[v] = rem >= 16 ? static_cast<__mmask16>(0xFFFF) : rem <= 0 ? 0 : static_cast<__mmask16>((1u << rem) - 1u);
  }
  __m512 acc[R][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < 2; ++v)
      acc[r][v] = t.first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mk[v], t.c + r * t.ldc + 16 * v);
  const float* a = t.a;
  const int64_t lda = t.lda;
  for (int64_t g = t.g0; g < t.g1; ++g) {
    const uint8_t* blk = t.panel + g * t.block_bytes;
    const int64_t kb = g * t.group, ke = kb + t.group < t.K ? kb + t.group : t.K;
    __m512 s[R][2];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) s[r][0] = s[r][1] = _mm512_setzero_ps();
    const uint8_t* row = blk;
    const float* wb = t.wbuf + (kb - t.g0 * t.group) * kNP;
    for (int64_t k = kb; k < ke; ++k) {
      __m512 w0, w1;
      if (BUF) {
        w0 = _mm512_load_ps(wb);
        w1 = _mm512_load_ps(wb + 16);
        wb += kNP;
      } else {
        _mm_prefetch(reinterpret_cast<const char*>(row + 1024), _MM_HINT_T0);
        decode32<BITS>(row, w0, w1);
        row += RB;
      }
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m512 av = _mm512_set1_ps(a[r * lda + k]);
        s[r][0] = _mm512_fmadd_ps(av, w0, s[r][0]);
        s[r][1] = _mm512_fmadd_ps(av, w1, s[r][1]);
      }
    }
    const float* sc = reinterpret_cast<const float*>(blk + t.group * RB);
    const __m512 d0 = _mm512_loadu_ps(sc), d1 = _mm512_loadu_ps(sc + 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      acc[r][0] = _mm512_fmadd_ps(s[r][0], d0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(s[r][1], d1, acc[r][1]);
    }
  }
  const Epilogue* ep = t.ep;
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* crow = t.c + r * t.ldc;
    for (int v = 0; v < 2; ++v) {
      if (!mk[v]) continue;
      __m512 x = acc[r][v];
      if (ep) x = epi16(x, ep, t.m0 + r, t.n0 + 16 * v, mk[v]);
      _mm512_mask_storeu_ps(crow + 16 * v, mk[v], x);
    }
  }
  if (ep && act_is_heavy(ep->act))
    for (int r = 0; r < R; ++r) activation_f32_inplace(t.c + r * t.ldc, t.nr, ep->act, ep->alpha, nullptr);
}

// Rows [k0, k1) of a panel block as f32 codes (32 per row) into dst.
template <int BITS>
void dequant_rows(const uint8_t* row, int64_t rows, float* dst) {
  constexpr int64_t RB = BITS == 8 ? 32 : 16;
  for (int64_t i = 0; i < rows; ++i, row += RB, dst += kNP) {
    __m512 w0, w1;
    decode32<BITS>(row, w0, w1);
    _mm512_store_ps(dst, w0);
    _mm512_store_ps(dst + 16, w1);
  }
}

#elif AB_ISA_LEVEL == 1
// Half h (16 columns) of a panel row: two ymm.
template <int BITS>
AB_INLINE void decode16(const uint8_t* row, int h, __m256& w0, __m256& w1) {
  __m128i x;
  if (BITS == 8) {
    x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 16 * h));
  } else {
    const __m128i m = _mm_set1_epi8(0x0F);
    x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row));
    x = _mm_sub_epi8(_mm_and_si128(h ? _mm_srli_epi16(x, 4) : x, m), _mm_set1_epi8(8));
  }
  w0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(x));
  w1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(x, 8)));
}

// R rows x 16 columns (half h of the panel; t.nr counts from the half's first column).
template <int R, int BITS, bool BUF>
__attribute__((noinline)) void tile_half(const TileArgs& t, int h) {
  constexpr int64_t RB = BITS == 8 ? 32 : 16;
  const __m256i mk0 = mask8(t.nr), mk1 = mask8(t.nr - 8);
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r) {
    acc[r][0] = t.first ? _mm256_setzero_ps() : _mm256_maskload_ps(t.c + r * t.ldc, mk0);
    acc[r][1] = t.first ? _mm256_setzero_ps() : _mm256_maskload_ps(t.c + r * t.ldc + 8, mk1);
  }
  const float* a = t.a;
  const int64_t lda = t.lda;
  for (int64_t g = t.g0; g < t.g1; ++g) {
    const uint8_t* blk = t.panel + g * t.block_bytes;
    const int64_t kb = g * t.group, ke = kb + t.group < t.K ? kb + t.group : t.K;
    __m256 s[R][2];
    for (int r = 0; r < R; ++r) s[r][0] = s[r][1] = _mm256_setzero_ps();
    const uint8_t* row = blk;
    const float* wb = t.wbuf + (kb - t.g0 * t.group) * kNP + 16 * h;
    for (int64_t k = kb; k < ke; ++k) {
      __m256 w0, w1;
      if (BUF) {
        w0 = _mm256_load_ps(wb);
        w1 = _mm256_load_ps(wb + 8);
        wb += kNP;
      } else {
        decode16<BITS>(row, h, w0, w1);
        row += RB;
      }
      for (int r = 0; r < R; ++r) {
        const __m256 av = _mm256_broadcast_ss(a + r * lda + k);
        s[r][0] = _mm256_fmadd_ps(av, w0, s[r][0]);
        s[r][1] = _mm256_fmadd_ps(av, w1, s[r][1]);
      }
    }
    const float* sc = reinterpret_cast<const float*>(blk + t.group * RB) + 16 * h;
    const __m256 d0 = _mm256_loadu_ps(sc), d1 = _mm256_loadu_ps(sc + 8);
    for (int r = 0; r < R; ++r) {
      acc[r][0] = _mm256_fmadd_ps(s[r][0], d0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(s[r][1], d1, acc[r][1]);
    }
  }
  const Epilogue* ep = t.ep;
  for (int r = 0; r < R; ++r) {
    float* crow = t.c + r * t.ldc;
    __m256 x0 = acc[r][0], x1 = acc[r][1];
    if (ep) {
      x0 = epi8(x0, ep, t.m0 + r, t.n0, mk0);
      x1 = epi8(x1, ep, t.m0 + r, t.n0 + 8, mk1);
    }
    _mm256_maskstore_ps(crow, mk0, x0);
    _mm256_maskstore_ps(crow + 8, mk1, x1);
  }
  if (ep && act_is_heavy(ep->act))
    for (int r = 0; r < R; ++r) activation_f32_inplace(t.c + r * t.ldc, t.nr < 16 ? t.nr : 16, ep->act, ep->alpha, nullptr);
}

template <int R, int BITS, bool BUF>
void tile(const TileArgs& t) {
  for (int h = 0; h < 2 && 16 * h < t.nr; ++h) {
    TileArgs u = t;
    u.c = t.c + 16 * h;
    u.nr = t.nr - 16 * h;
    u.n0 = t.n0 + 16 * h;
    tile_half<R, BITS, BUF>(u, h);
  }
}

template <int BITS>
void dequant_rows(const uint8_t* row, int64_t rows, float* dst) {
  constexpr int64_t RB = BITS == 8 ? 32 : 16;
  for (int64_t i = 0; i < rows; ++i, row += RB, dst += kNP) {
    for (int h = 0; h < 2; ++h) {
      __m256 w0, w1;
      decode16<BITS>(row, h, w0, w1);
      _mm256_store_ps(dst + 16 * h, w0);
      _mm256_store_ps(dst + 16 * h + 8, w1);
    }
  }
}

#else
template <int BITS>
inline int code_at(const uint8_t* row, int j) {
  if (BITS == 8) return static_cast<int8_t>(row[j]);
  return j < 16 ? (row[j] & 15) - 8 : (row[j - 16] >> 4) - 8;
}

// Column by column; the buffered path is not used at this level (direct_max only sizes tiles).
template <int R, int BITS, bool BUF>
void tile(const TileArgs& t) {
  constexpr int64_t RB = BITS == 8 ? 32 : 16;
  for (int r = 0; r < R; ++r) {
    const float* a = t.a + r * t.lda;
    float* crow = t.c + r * t.ldc;
    for (int j = 0; j < t.nr; ++j) {
      float acc = t.first ? 0.f : crow[j];
      for (int64_t g = t.g0; g < t.g1; ++g) {
        const uint8_t* blk = t.panel + g * t.block_bytes;
        const int64_t kb = g * t.group, ke = kb + t.group < t.K ? kb + t.group : t.K;
        float s = 0.f;
        const uint8_t* row = blk;
        for (int64_t k = kb; k < ke; ++k, row += RB) s = std::fmaf(a[k], static_cast<float>(code_at<BITS>(row, j)), s);
        float d;
        std::memcpy(&d, blk + t.group * RB + 4 * j, 4);
        acc = std::fmaf(s, d, acc);
      }
      crow[j] = acc;
    }
  }
  if (t.ep) epilogue_ref(t.c, t.ldc, R, t.nr, t.ep, t.m0, t.n0);
}

template <int BITS>
void dequant_rows(const uint8_t* row, int64_t rows, float* dst) {
  constexpr int64_t RB = BITS == 8 ? 32 : 16;
  for (int64_t i = 0; i < rows; ++i, row += RB, dst += kNP)
    for (int j = 0; j < kNP; ++j) dst[j] = static_cast<float>(code_at<BITS>(row, j));
}
#endif

typedef void (*TileFn)(const TileArgs&);
#define AB_TILES(R) {{&tile<R, 8, false>, &tile<R, 8, true>}, {&tile<R, 4, false>, &tile<R, 4, true>}}
// [rows - 1][bits == 4][buffered]
const TileFn kTiles[kMR][2][2] = {
    AB_TILES(1), AB_TILES(2), AB_TILES(3),
#if AB_ISA_LEVEL == 0 || AB_ISA_LEVEL >= 2
    AB_TILES(4),
#endif
#if AB_ISA_LEVEL >= 2
    AB_TILES(5), AB_TILES(6),
#endif
};
#undef AB_TILES

// C[0:M, n0:n0+nr] for the groups [g0, g1) of panel q (dequantized into wbuf first on the chunked path).
template <int BITS>
void panel_chunk(const QuantProb& p, int64_t q, int64_t g0, int64_t g1, bool direct, float* wbuf) {
  const int bi = BITS == 4 ? 1 : 0;
  const int64_t n0 = q * kNP;
  const int nr = static_cast<int>(p.N - n0 < kNP ? p.N - n0 : kNP);
  const uint8_t* panel = p.B + q * p.panel_bytes;
  if (!direct) {  // dequantize the chunk's rows once (whole groups; the padding rows too)
    for (int64_t g = g0; g < g1; ++g)
      dequant_rows<BITS>(panel + g * p.block_bytes, p.group, wbuf + (g - g0) * p.group * kNP);
  }
  TileArgs t{nullptr, p.lda, panel, p.block_bytes, p.group, p.K, g0, g1, wbuf, nullptr, p.ldc, nr,
             g0 == 0 ? 1 : 0, g1 == p.G ? p.ep : nullptr, 0, n0};
  for (int64_t m = 0; m < p.M; m += kMR) {
    const int r = static_cast<int>(p.M - m < kMR ? p.M - m : kMR);
    t.a = p.A + m * p.lda;
    t.c = p.C + m * p.ldc + n0;
    t.m0 = m;
    kTiles[r - 1][bi][direct ? 0 : 1](t);
  }
}

template <int BITS>
void panels(const QuantProb& p, int64_t q0, int64_t q1, float* wbuf) {
  const bool direct = p.direct != 0 || AB_ISA_LEVEL == 0;
  if (direct) {  // each panel streamed once, all of K with acc in registers
    for (int64_t q = q0; q < q1; ++q) panel_chunk<BITS>(p, q, 0, p.G, true, wbuf);
    return;
  }
  // Blocks of kPanelBlock panels: K chunk outer, so the chunk of A (M x chunk_k) stays in L2 across
  // the block's panels and the block's C in L2 across the chunks.
  constexpr int64_t kPanelBlock = 8;
  const int64_t gpc = kChunkK / p.group;
  for (int64_t qb = q0; qb < q1; qb += kPanelBlock) {
    const int64_t qe = qb + kPanelBlock < q1 ? qb + kPanelBlock : q1;
    for (int64_t g0 = 0; g0 < p.G; g0 += gpc) {
      const int64_t g1 = g0 + gpc < p.G ? g0 + gpc : p.G;
      for (int64_t q = qb; q < qe; ++q) panel_chunk<BITS>(p, q, g0, g1, false, wbuf);
    }
  }
}

}  // namespace

// ---------------------------------------------------------------- entry points
void quant_params(QuantParams* out) {
  out->mr = kMR;
  out->direct_max = kDirectMax;
  out->chunk_k = kChunkK;
  out->name = kName;
}

// C[:, 32 q0 : min(N, 32 q1)] for all M rows. wbuf: chunk_k * 32 floats, 64-byte aligned.
void quant_panels(const QuantProb* p, int64_t q0, int64_t q1, float* wbuf) {
  if (p->bits == 8)
    panels<8>(*p, q0, q1, wbuf);
  else
    panels<4>(*p, q0, q1, wbuf);
}

} }  // namespace ab::AB_ISA_NS

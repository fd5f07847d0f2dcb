// SPDX-License-Identifier: Apache-2.0
// bf16 GEMM kernel bodies (contract: native/gemm/gemm_bf16.h and gemm_bf16_kernels.h).
// ab-extra-levels: avx512_bf16 amx
//
//   amx         : 32x32 blocks of C as 2x2 AMX tiles of 16x16 f32 (tmm0-3), A in tmm4-5 (16 rows x
//                 16 pairs, straight from avx512_bf16's row-major packed A), B in tmm6-7 (16 pairs x
//                 16 columns: each half of a 32-column packed-B panel, read with a 128-byte
//                 stride), TDPBF16PS. Its own rounding (see gemm_bf16.h): not the same bits as the
//                 other levels.
//   avx512_bf16 : 14x32 tile, vdpbf16ps (28 zmm accumulators, A pairs broadcast from 14 rows of
//                 packed A at constant offsets: packing is a plain conversion, no transpose).
//   avx512      : 12x32 tile, the same arithmetic as f32 FMAs (odd element, then even) under
//                 MXCSR FTZ+DAZ, which flushes like the instruction (x86 tininess after rounding).
//   avx2        : 4x16 half-panel tiles, same as avx512 with ymm.
//   scalar      : 4x32, each step as one exact double sum, flushed at the f32 threshold and
//                 rounded once (portable: no MXCSR).
// The accumulators are finished (C added for later K blocks, epilogue on the last) by the f32
// engine's epilogue code (kernels/gemm_epilogue.h).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>

#include "dispatch/dispatch.h"
#include "gemm/gemm_bf16.h"
#include "gemm/gemm_bf16_kernels.h"
#include "kernels/gemm_epilogue.h"
#include "ops/op_codes.h"

#if AB_ISA_LEVEL >= 1
#include <immintrin.h>
#endif

// GCC 12 flags _mm512_undefined_ps() inside its own intrinsic headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace ab { namespace AB_ISA_NS {
using ::ab::gemm::Bf16Params;
using ::ab::gemm::Epilogue;

namespace {

constexpr int kNR = 32;  // the packed-B panel width
#ifndef AB_BF16_PF_STEPS
#define AB_BF16_PF_STEPS 64
#endif
constexpr int kPfSteps = AB_BF16_PF_STEPS;  // B prefetch distance, in pair rows (128 bytes each)
#if AB_ISA_LEVEL >= 5
// The avx512_bf16 packed A (row-major pairs) is AMX's A tile layout as it is: a tile is 16 rows
// of 16 pairs (64 bytes) at a row stride of kARow words.
constexpr int kMR = 32, kMC = 128, kWPP = 1;
constexpr int64_t kARow = ::ab::gemm::kBf16KcPairs + 16;
const char* const kName = "amx 32x32 tdpbf16ps (2x2 tiles of 16x16)";
#elif AB_ISA_LEVEL >= 4
// Packed A is row-major here (rows of bf16 pairs, a fixed stride of kARow words), so packing is a
// plain conversion and the micro-kernel broadcasts from rows at constant offsets.
constexpr int kMR = 14, kMC = 168, kWPP = 1;
constexpr int64_t kARow = ::ab::gemm::kBf16KcPairs + 16;
const char* const kName = "avx512_bf16 14x32 vdpbf16ps";
#elif AB_ISA_LEVEL >= 2
constexpr int kMR = 12, kMC = 168, kWPP = 2;
const char* const kName = "avx512 12x32 emulated vdpbf16ps (fma, MXCSR FTZ/DAZ)";
#elif AB_ISA_LEVEL == 1
constexpr int kMR = 4, kMC = 128, kWPP = 2;
const char* const kName = "avx2 4x16 emulated vdpbf16ps (fma, MXCSR FTZ/DAZ)";
#else
constexpr int kMR = 4, kMC = 128, kWPP = 2;
const char* const kName = "scalar 4x32 emulated vdpbf16ps (exact double steps)";
#endif

inline uint32_t f32_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float bits_f32(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}
// f32 -> bf16 as VCVTNEPS2BF16: RNE, denormals to signed zero, NaN quieted. Low 16 bits.
inline uint32_t bf16_rne(uint32_t u) {
  if ((u & 0x7f800000u) == 0) return (u >> 16) & 0x8000u;
  if ((u & 0x7fffffffu) > 0x7f800000u) return ((u >> 16) | 0x40u) & 0xffffu;
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}
// The bf16 value as an f32.
inline float bf16_round(float x) { return bits_f32(bf16_rne(f32_bits(x)) << 16); }

struct StoreArgs {
  float* c;
  int64_t ldc;
  int nr;  // valid columns of this tile
  int accumulate;
  const Epilogue* ep;
  int64_t m0, n0;
};

// ---------------------------------------------------------------- packing A
#if AB_ISA_LEVEL == 2
// In-register transpose of a 16x16 block of 32-bit lanes (rows r[0..15] -> columns), 64 shuffles
// (the f32 engine's pack uses the same network).
inline void transpose16x16(__m512 r[16]) {
  __m512 t[16], u[16], v[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    u[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 16; i += 8)
    for (int j = 0; j < 4; ++j) {
      v[i + j] = _mm512_shuffle_f32x4(u[i + j], u[i + 4 + j], 0x88);
      v[i + 4 + j] = _mm512_shuffle_f32x4(u[i + j], u[i + 4 + j], 0xDD);
    }
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_shuffle_f32x4(v[j], v[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(v[j], v[8 + j], 0xDD);
  }
}
#endif

#if AB_ISA_LEVEL >= 4
// Row i of the block -> kp words at dst + i * kARow (vcvtne2ps2bf16 rounds exactly like bf16_rne;
// masked loads make the element past an odd kc zero).
void pack_a_rows(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, uint32_t* dst) {
  const int64_t kp = (kc + 1) / 2;
  for (int64_t i = 0; i < mc; ++i) {
    uint32_t* d = dst + i * kARow;
    const float* src = a + i * rs;
    if (cs == 1) {
      // The same segment of the row mc rows on (the next block's, when the driver packs block
      // after block): its loads then fly during this block's compute. Past A's end a prefetch
      // is harmless (it never faults).
      const char* next = reinterpret_cast<const char*>(src + mc * rs);
      for (int64_t b = 0; b < kc * 4; b += 64) _mm_prefetch(next + b, _MM_HINT_T1);
      int64_t k = 0;
      for (; k + 32 <= kc; k += 32)
        _mm512_storeu_si512(d + k / 2, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + k + 16), _mm512_loadu_ps(src + k)));
      if (k < kc) {
        const int64_t rem = kc - k;
        const __mmask16 m0 = rem >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << rem) - 1u);
        const __mmask16 m1 = rem > 16 ? static_cast<__mmask16>((1u << (rem - 16)) - 1u) : static_cast<__mmask16>(0);
        const int64_t words = (rem + 1) / 2;
        const __mmask16 mw = static_cast<__mmask16>((1u << words) - 1u);
        _mm512_mask_storeu_epi32(d + k / 2, mw,
                                 (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, src + k + 16), _mm512_maskz_loadu_ps(m0, src + k)));
      }
    } else {
      for (int64_t p = 0; p < kp; ++p) {
        const uint32_t lo = bf16_rne(f32_bits(src[2 * p * cs]));
        const uint32_t hi = 2 * p + 1 < kc ? bf16_rne(f32_bits(src[(2 * p + 1) * cs])) : 0u;
        d[p] = lo | hi << 16;
      }
    }
  }
}
#elif AB_ISA_LEVEL >= 2
AB_INLINE __m512 round_bf16_512(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i hi = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
  __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1)),
                                                   _mm512_set1_epi32(0x7fff)));
  r = _mm512_and_si512(r, hi);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                                _mm512_set1_epi32(0x7f800000));
  r = _mm512_mask_mov_epi32(r, nan, _mm512_and_si512(_mm512_or_si512(u, _mm512_set1_epi32(0x00400000)), hi));
  const __mmask16 den = _mm512_testn_epi32_mask(u, _mm512_set1_epi32(0x7f800000));
  r = _mm512_mask_mov_epi32(r, den, _mm512_and_si512(u, _mm512_set1_epi32(static_cast<int>(0x80000000u))));
  return _mm512_castsi512_ps(r);
}
// As above for the emulating layout: 16 k (8 pairs) at a time, rounded to bf16 as f32, odd k to
// the first MR slots of its pair, even k to the second.
int64_t pack_a_panel_fast(const float* a, int64_t rs, int64_t kc, uint32_t* dw) {
  float* d = reinterpret_cast<float*>(dw);
  const __mmask16 m = static_cast<__mmask16>((1u << kMR) - 1);
  int64_t k0 = 0;
  for (; k0 + 16 <= kc; k0 += 16) {
    __m512 r[16];
    for (int i = 0; i < kMR; ++i) r[i] = round_bf16_512(_mm512_loadu_ps(a + i * rs + k0));
    for (int i = kMR; i < 16; ++i) r[i] = _mm512_setzero_ps();
    transpose16x16(r);
    for (int k = 0; k < 16; ++k)
      _mm512_mask_storeu_ps(d + (k0 + k) / 2 * 2 * kMR + ((k & 1) ? 0 : kMR), m, r[k]);
  }
  return k0;
}
#endif

#if AB_ISA_LEVEL < 4
// Element (i, k) of a panel, for the general path.
inline void put_a(uint32_t* d, int i, int64_t k, float x) {
  reinterpret_cast<float*>(d)[(k >> 1) * 2 * kMR + ((k & 1) ? 0 : kMR) + i] = bf16_round(x);
}

void pack_a_impl(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, uint32_t* dst) {
  const int64_t kp = (kc + 1) / 2;
  const int64_t pstride = static_cast<int64_t>(kMR) * kp * kWPP;
  for (int64_t p = 0; p < mc; p += kMR) {
    const int r = static_cast<int>(mc - p < kMR ? mc - p : kMR);
    uint32_t* d = dst + (p / kMR) * pstride;
    int64_t k_done = 0;
#if AB_ISA_LEVEL >= 2
    if (cs == 1 && r == kMR) k_done = pack_a_panel_fast(a + p * rs, rs, kc, d);
#endif
    if (k_done < 2 * kp) {
      // The rest: zero it (padding rows, the odd-K element), then fill the valid elements.
      std::memset(d + (k_done / 2) * kMR * kWPP, 0, sizeof(uint32_t) * (kp - k_done / 2) * kMR * kWPP);
      for (int i = 0; i < r; ++i)
        for (int64_t k = k_done; k < kc; ++k) put_a(d, i, k, a[(p + i) * rs + k * cs]);
    }
  }
}
#endif

// ---------------------------------------------------------------- micro-kernels
#if AB_ISA_LEVEL >= 2
// Adds C (later K blocks), applies the epilogue (last block) and stores; masked edge columns.
template <int R, int NV>
AB_INLINE void finish512(__m512 (&acc)[R][NV], const StoreArgs& s) {
  __mmask16 mk[NV];
  for (int v = 0; v < NV; ++v) {
    const int rem = s.nr - 16 * v;
    mk[v] = rem >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << rem) - 1u);
  }
  const Epilogue* ep = s.ep;
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    float* crow = s.c + i * s.ldc;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      __m512 x = acc[i][v];
      if (s.accumulate) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk[v], crow + 16 * v));
      if (ep) x = epi16(x, ep, s.m0 + i, s.n0 + 16 * v, mk[v]);
      _mm512_mask_storeu_ps(crow + 16 * v, mk[v], x);
    }
  }
  if (ep && act_is_heavy(ep->act))
    for (int i = 0; i < R; ++i) activation_f32_inplace(s.c + i * s.ldc, s.nr, ep->act, ep->alpha, nullptr);
}
#endif

#if AB_ISA_LEVEL >= 5
// ---------------------------------------------------------------- AMX
// One tile configuration for everything: palette 1, tiles 0-7 all 16 rows x 64 bytes. Loaded by
// each thread before its first tile instruction (tiles_on) and released by the driver when the
// thread is done with its block of C (bf16_release), so no thread keeps the AMX state live (a live
// tile state costs every context switch its 8 KiB and can keep the core out of deep C-states).
struct alignas(64) TileCfg {
  uint8_t palette, start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
static_assert(sizeof(TileCfg) == 64, "LDTILECFG reads 64 bytes");

TileCfg make_cfg() {
  TileCfg c;
  std::memset(&c, 0, sizeof c);
  c.palette = 1;
  for (int t = 0; t < 8; ++t) {
    c.rows[t] = 16;
    c.colsb[t] = 64;
  }
  return c;
}

thread_local bool t_tiles = false;

inline void tiles_on() {
  if (!t_tiles) {
    static const TileCfg cfg = make_cfg();
    _tile_loadconfig(&cfg);
    t_tiles = true;
  }
}

void tiles_release() {
  if (t_tiles) {
    _tile_release();
    t_tiles = false;
  }
}

constexpr int kBRowBytes = kNR * 4;  // a pair row of a packed-B panel: 128 bytes

// One block of C: (R2 ? 32 : 16) rows x (C2 ? 32 : 16) columns in tmm0-3 (tmm0: rows 0-15 cols
// 0-15, tmm1: cols 16-31, tmm2/3: rows 16-31). Accumulators start from c (row stride ldcb bytes)
// when acc_in, else from zero, take `steps` steps of 16 pairs (a: packed A rows at pair 0; b: the
// panel at pair 0), then a last step from the zero-padded copy bt of the panel's tail when bt is
// set, and are stored to c. Row i of C depends only on row i of A (garbage rows stay in theirs).
// PF (GEMV-like calls, B streamed from memory once): both cache lines of every pair row of B
// 4 steps (64 pair rows, as the avx512_bf16 kernel) ahead are prefetched into L2.
template <bool R2, bool C2, bool PF>
__attribute__((noinline)) void amx_block(int64_t steps, const uint32_t* a, const uint32_t* b, const uint32_t* bt,
                                         float* c, int64_t ldcb, int acc_in) {
  constexpr int64_t kAStride = kARow * 4;
  float* c2 = reinterpret_cast<float*>(reinterpret_cast<char*>(c) + 16 * ldcb);
  if (acc_in) {
    _tile_loadd(0, c, ldcb);
    if (C2) _tile_loadd(1, c + 16, ldcb);
    if (R2) _tile_loadd(2, c2, ldcb);
    if (R2 && C2) _tile_loadd(3, c2 + 16, ldcb);
  } else {
    _tile_zero(0);
    if (C2) _tile_zero(1);
    if (R2) _tile_zero(2);
    if (R2 && C2) _tile_zero(3);
  }
  const uint32_t* a2 = a + 16 * kARow;
  // One step: 16 pairs of A (from pair 16 s of its rows) times B's 16 pair rows at bs.
  auto step = [&](int64_t s, const uint32_t* bs) __attribute__((always_inline)) {
    if (PF) {
      const char* f = reinterpret_cast<const char*>(bs + 4 * 16 * kNR);
#pragma GCC unroll 32
      for (int l = 0; l < 32; ++l) _mm_prefetch(f + 64 * l, _MM_HINT_T1);
    }
    _tile_loadd(4, a + 16 * s, kAStride);
    _tile_loadd(6, bs, kBRowBytes);
    if (C2) _tile_loadd(7, bs + 16, kBRowBytes);
    if (R2) _tile_loadd(5, a2 + 16 * s, kAStride);
    _tile_dpbf16ps(0, 4, 6);
    if (C2) _tile_dpbf16ps(1, 4, 7);
    if (R2) _tile_dpbf16ps(2, 5, 6);
    if (R2 && C2) _tile_dpbf16ps(3, 5, 7);
  };
  for (int64_t s = 0; s < steps; ++s) step(s, b + s * 16 * kNR);
  if (bt) step(steps, bt);
  _tile_stored(0, c, ldcb);
  if (C2) _tile_stored(1, c + 16, ldcb);
  if (R2) _tile_stored(2, c2, ldcb);
  if (R2 && C2) _tile_stored(3, c2 + 16, ldcb);
}

typedef void (*AmxBlockFn)(int64_t, const uint32_t*, const uint32_t*, const uint32_t*, float*, int64_t, int);
const AmxBlockFn kAmxBlock[2][2][2] = {
    {{&amx_block<false, false, false>, &amx_block<false, true, false>},
     {&amx_block<true, false, false>, &amx_block<true, true, false>}},
    {{&amx_block<false, false, true>, &amx_block<false, true, true>},
     {&amx_block<true, false, true>, &amx_block<true, true, true>}}};

// The epilogue on rows x nr values at src (row stride lds floats, may be c itself), stored to c.
void amx_finish(const float* src, int64_t lds, float* c, int64_t ldc, int rows, int nr, const Epilogue* ep,
                int64_t m0, int64_t n0) {
  const __mmask16 mk0 = nr >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << nr) - 1u);
  const __mmask16 mk1 = nr >= 32 ? static_cast<__mmask16>(0xFFFF)
                                 : static_cast<__mmask16>(nr > 16 ? (1u << (nr - 16)) - 1u : 0u);
  for (int i = 0; i < rows; ++i) {
    const float* s = src + i * lds;
    float* d = c + i * ldc;
    __m512 x = _mm512_maskz_loadu_ps(mk0, s);
    if (ep) x = epi16(x, ep, m0 + i, n0, mk0);
    _mm512_mask_storeu_ps(d, mk0, x);
    if (mk1) {
      __m512 y = _mm512_maskz_loadu_ps(mk1, s + 16);
      if (ep) y = epi16(y, ep, m0 + i, n0 + 16, mk1);
      _mm512_mask_storeu_ps(d + 16, mk1, y);
    }
  }
  if (ep && act_is_heavy(ep->act))
    for (int i = 0; i < rows; ++i) activation_f32_inplace(c + i * ldc, nr, ep->act, ep->alpha, nullptr);
}

void amx_macro(const uint32_t* pa, const uint32_t* pb, int64_t pstride, int64_t mc, int64_t nc, int64_t kp,
               float* c, int64_t ldc, int accumulate, const Epilogue* ep, int64_t m0, int64_t n0) {
  tiles_on();
  const int64_t steps = kp / 16;
  const int tail = static_cast<int>(kp % 16);
  alignas(64) uint32_t bt[16 * kNR];  // the panel's last tail pairs, zero-padded to 16
  alignas(64) float buf[32 * kNR];    // edge blocks: C through here
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const int nr = static_cast<int>(nc - jr < kNR ? nc - jr : kNR);
    const uint32_t* b = pb + (jr / kNR) * pstride;
    if (tail) {
      std::memcpy(bt, b + steps * 16 * kNR, sizeof(uint32_t) * tail * kNR);
      std::memset(bt + tail * kNR, 0, sizeof(uint32_t) * (16 - tail) * kNR);
    }
    for (int64_t ir = 0; ir < mc; ir += kMR) {
      const int rows = static_cast<int>(mc - ir < kMR ? mc - ir : kMR);
      const uint32_t* a = pa + ir * kARow;
      float* cb = c + ir * ldc + jr;
      const bool r2 = rows > 16, c2 = nr > 16;
      const AmxBlockFn blk = kAmxBlock[mc <= 16][r2][c2];  // one row tile: B read once, prefetched
      if (rows % 16 == 0 && nr % 16 == 0) {  // whole tiles: straight from and to C
        blk(steps, a, b, tail ? bt : nullptr, cb, ldc * 4, accumulate);
        if (ep) amx_finish(cb, ldc, cb, ldc, rows, nr, ep, m0 + ir, n0 + jr);
      } else {  // the same arithmetic through buf
        if (accumulate)
          for (int i = 0; i < rows; ++i) std::memcpy(buf + i * kNR, cb + i * ldc, sizeof(float) * nr);
        blk(steps, a, b, tail ? bt : nullptr, buf, kNR * 4, accumulate);
        amx_finish(buf, kNR, cb, ldc, rows, nr, ep, m0 + ir, n0 + jr);
      }
    }
  }
}

#elif AB_ISA_LEVEL >= 4
template <int R, int NV>
__attribute__((noinline)) void ukr(int64_t kp, const uint32_t* __restrict pa, const uint32_t* __restrict pb,
                                   const StoreArgs& s) {
  __m512 acc[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  for (int i = 0; i < R; ++i) _mm_prefetch(reinterpret_cast<const char*>(s.c + i * s.ldc), _MM_HINT_T0);
  for (int64_t p = 0; p < kp; ++p) {
    // Both cache lines of the pair-row kPfSteps ahead (a GEMV streams B from DRAM).
    _mm_prefetch(reinterpret_cast<const char*>(pb + kPfSteps * kNR), _MM_HINT_T1);
    _mm_prefetch(reinterpret_cast<const char*>(pb + kPfSteps * kNR + 16), _MM_HINT_T1);
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(pb);
    const __m512bh b1 = NV > 1 ? (__m512bh)_mm512_loadu_si512(pb + 16) : b0;
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(pa[i * kARow]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], b0, a);
      if (NV > 1) acc[i][NV - 1] = _mm512_dpbf16_ps(acc[i][NV - 1], b1, a);
    }
    pa += 1;
    pb += kNR;
  }
  finish512<R, NV>(acc, s);
}

#elif AB_ISA_LEVEL >= 2
// The dot products only, under the caller's MXCSR; results through memory, so nothing computed
// after the MXCSR is restored can be scheduled into this call.
template <int R, int NV>
__attribute__((noinline)) void dot_emu(int64_t kp, const float* __restrict pa, const uint32_t* __restrict pb,
                                       __m512* out) {
  __m512 acc[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  const __m512i hi = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
  for (int64_t p = 0; p < kp; ++p) {
    // Both cache lines of the pair-row kPfSteps ahead (a GEMV streams B from DRAM).
    _mm_prefetch(reinterpret_cast<const char*>(pb + kPfSteps * kNR), _MM_HINT_T1);
    _mm_prefetch(reinterpret_cast<const char*>(pb + kPfSteps * kNR + 16), _MM_HINT_T1);
    const __m512i w0 = _mm512_loadu_si512(pb);
    const __m512i w1 = NV > 1 ? _mm512_loadu_si512(pb + 16) : w0;
    const __m512 bo0 = _mm512_castsi512_ps(_mm512_and_si512(w0, hi));
    const __m512 bo1 = _mm512_castsi512_ps(_mm512_and_si512(w1, hi));
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const __m512 a = _mm512_set1_ps(pa[i]);
      acc[i][0] = _mm512_fmadd_ps(a, bo0, acc[i][0]);
      if (NV > 1) acc[i][NV - 1] = _mm512_fmadd_ps(a, bo1, acc[i][NV - 1]);
    }
    const __m512 be0 = _mm512_castsi512_ps(_mm512_slli_epi32(w0, 16));
    const __m512 be1 = _mm512_castsi512_ps(_mm512_slli_epi32(w1, 16));
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const __m512 a = _mm512_set1_ps(pa[kMR + i]);
      acc[i][0] = _mm512_fmadd_ps(a, be0, acc[i][0]);
      if (NV > 1) acc[i][NV - 1] = _mm512_fmadd_ps(a, be1, acc[i][NV - 1]);
    }
    pa += 2 * kMR;
    pb += kNR;
  }
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(reinterpret_cast<float*>(out + i * NV + v), acc[i][v]);
}

template <int R, int NV>
__attribute__((noinline)) void ukr(int64_t kp, const uint32_t* __restrict pa, const uint32_t* __restrict pb,
                                   const StoreArgs& s) {
  __m512 t[R * NV];
  const unsigned csr = _mm_getcsr();
  _mm_setcsr(csr | 0x8040u);  // FTZ | DAZ
  dot_emu<R, NV>(kp, reinterpret_cast<const float*>(pa), pb, t);
  _mm_setcsr(csr);
  __m512 acc[R][NV];
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_loadu_ps(reinterpret_cast<const float*>(t + i * NV + v));
  finish512<R, NV>(acc, s);
}

#elif AB_ISA_LEVEL == 1
// Half a panel (16 columns from pb, row stride kNR words), NV ymm of 8 columns.
template <int R, int NV>
__attribute__((noinline)) void dot_emu(int64_t kp, const float* __restrict pa, const uint32_t* __restrict pb,
                                       __m256* out) {
  __m256 acc[R][NV];
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();
  const __m256i hi = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
  for (int64_t p = 0; p < kp; ++p) {
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pb));
    const __m256i w1 = NV > 1 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pb + 8)) : w0;
    const __m256 bo0 = _mm256_castsi256_ps(_mm256_and_si256(w0, hi));
    const __m256 bo1 = _mm256_castsi256_ps(_mm256_and_si256(w1, hi));
    for (int i = 0; i < R; ++i) {
      const __m256 a = _mm256_broadcast_ss(pa + i);
      acc[i][0] = _mm256_fmadd_ps(a, bo0, acc[i][0]);
      if (NV > 1) acc[i][NV - 1] = _mm256_fmadd_ps(a, bo1, acc[i][NV - 1]);
    }
    const __m256 be0 = _mm256_castsi256_ps(_mm256_slli_epi32(w0, 16));
    const __m256 be1 = _mm256_castsi256_ps(_mm256_slli_epi32(w1, 16));
    for (int i = 0; i < R; ++i) {
      const __m256 a = _mm256_broadcast_ss(pa + kMR + i);
      acc[i][0] = _mm256_fmadd_ps(a, be0, acc[i][0]);
      if (NV > 1) acc[i][NV - 1] = _mm256_fmadd_ps(a, be1, acc[i][NV - 1]);
    }
    pa += 2 * kMR;
    pb += kNR;
  }
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(reinterpret_cast<float*>(out + i * NV + v), acc[i][v]);
}

template <int R, int NV>
__attribute__((noinline)) void ukr(int64_t kp, const uint32_t* __restrict pa, const uint32_t* __restrict pb,
                                   const StoreArgs& s) {
  __m256 t[R * NV];
  const unsigned csr = _mm_getcsr();
  _mm_setcsr(csr | 0x8040u);  // FTZ | DAZ
  dot_emu<R, NV>(kp, reinterpret_cast<const float*>(pa), pb, t);
  _mm_setcsr(csr);
  const Epilogue* ep = s.ep;
  for (int i = 0; i < R; ++i) {
    float* crow = s.c + i * s.ldc;
    for (int v = 0; v < NV; ++v) {
      const __m256i mk = mask8(s.nr - 8 * v);
      __m256 x = _mm256_loadu_ps(reinterpret_cast<const float*>(t + i * NV + v));
      if (s.accumulate) x = _mm256_add_ps(x, _mm256_maskload_ps(crow + 8 * v, mk));
      if (ep) x = epi8(x, ep, s.m0 + i, s.n0 + 8 * v, mk);
      _mm256_maskstore_ps(crow + 8 * v, mk, x);
    }
  }
  if (ep && act_is_heavy(ep->act))
    for (int i = 0; i < R; ++i) activation_f32_inplace(s.c + i * s.ldc, s.nr, ep->act, ep->alpha, nullptr);
}

#else
// One vdpbf16ps step exactly: the product of two bf16 values is exact in double and so is the sum
// unless the addends are far apart, where the double rounding cannot reach an f32 rounding
// boundary; results below the f32 normal range after rounding to 24 bits (|s| < 2^-126 - 2^-151)
// are flushed to zero with their sign, as x86 FTZ does.
AB_INLINE float dp_step(float acc, float a, float b) {
  const double s = static_cast<double>(a) * static_cast<double>(b) + static_cast<double>(acc);
  if (std::fabs(s) < 0x1p-126 - 0x1p-151) return std::signbit(s) ? -0.f : 0.f;
  return static_cast<float>(s);
}

template <int R, int NV>
__attribute__((noinline)) void ukr(int64_t kp, const uint32_t* __restrict pa, const uint32_t* __restrict pb,
                                   const StoreArgs& s) {
  const float* fa = reinterpret_cast<const float*>(pa);
  const int W = s.nr;
  float acc[R][kNR];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < kNR; ++j) acc[i][j] = 0.f;
  for (int64_t p = 0; p < kp; ++p) {
    for (int i = 0; i < R; ++i) {
      const float ao = fa[i], ae = fa[kMR + i];
      for (int j = 0; j < W; ++j) {
        const uint32_t w = pb[j];
        acc[i][j] = dp_step(dp_step(acc[i][j], ao, bits_f32(w & 0xffff0000u)), ae, bits_f32(w << 16));
      }
    }
    fa += 2 * kMR;
    pb += kNR;
  }
  for (int i = 0; i < R; ++i) {
    float* crow = s.c + i * s.ldc;
    if (s.accumulate) {
      for (int j = 0; j < W; ++j) crow[j] += acc[i][j];
    } else {
      for (int j = 0; j < W; ++j) crow[j] = acc[i][j];
    }
  }
  if (s.ep) epilogue_ref(s.c, s.ldc, R, s.nr, s.ep, s.m0, s.n0);
}
#endif

#if AB_ISA_LEVEL < 5
typedef void (*UkrFn)(int64_t, const uint32_t*, const uint32_t*, const StoreArgs&);
#define AB_UKR_ROW(R) {&ukr<R, 1>, &ukr<R, 2>}
const UkrFn kUkr[kMR][2] = {
    AB_UKR_ROW(1), AB_UKR_ROW(2), AB_UKR_ROW(3), AB_UKR_ROW(4),
#if AB_ISA_LEVEL >= 2
    AB_UKR_ROW(5), AB_UKR_ROW(6), AB_UKR_ROW(7), AB_UKR_ROW(8), AB_UKR_ROW(9), AB_UKR_ROW(10),
    AB_UKR_ROW(11), AB_UKR_ROW(12),
#endif
#if AB_ISA_LEVEL >= 4
    AB_UKR_ROW(13), AB_UKR_ROW(14),
#endif
};
#undef AB_UKR_ROW
#endif

}  // namespace

// ---------------------------------------------------------------- entry points
void bf16_params(Bf16Params* out) {
  out->mr = kMR;
  out->mc = kMC;
  out->wpp = kWPP;
#if AB_ISA_LEVEL >= 4
  out->arow = static_cast<int>(kARow);
#else
  out->arow = 0;
#endif
  out->name = kName;
#if AB_ISA_LEVEL >= 5
  out->release = &tiles_release;
#else
  out->release = nullptr;
#endif
}

#if AB_ISA_LEVEL >= 4
namespace {
double now_s() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}
// 12 independent chains of `n` vdpbf16ps (64 flops each) or vfmadd231ps (32 flops each) on zmm;
// returns the seconds taken. The chains stay in registers; their sum goes to *sink.
template <bool DP>
__attribute__((noinline)) double chains(int64_t n, float* sink) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(1e-3f * static_cast<float>(i));
  const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-6f);
  const __m512bh bx = (__m512bh)_mm512_set1_epi32(0x3f7f3f7f), by = (__m512bh)_mm512_set1_epi32(0x358637bd);
  const double t0 = now_s();
  for (int64_t k = 0; k < n; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) {
      if (DP) acc[i] = _mm512_dpbf16_ps(acc[i], bx, by);
      else acc[i] = _mm512_fmadd_ps(acc[i], x, y);
      __asm__ volatile("" : "+v"(acc[i]));
    }
  }
  const double t = now_s() - t0;
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  *sink += _mm512_reduce_add_ps(s);
  return t;
}
}  // namespace
#endif

double bf16_dot_speedup() {
#if AB_ISA_LEVEL >= 4
  // Interleaved, best of 5 each (a shared machine preempts both alike); ~1 ms in all.
  float sink = 0.f;
  double dp = 1e30, fma = 1e30;
  const int64_t n = 20000;
  chains<true>(n / 4, &sink);
  chains<false>(n / 4, &sink);
  for (int r = 0; r < 5; ++r) {
    const double a = chains<true>(n, &sink), b = chains<false>(n, &sink);
    dp = a < dp ? a : dp;
    fma = b < fma ? b : fma;
  }
  volatile float keep = sink;
  (void)keep;
  return dp > 0 ? (64.0 / dp) / (32.0 / fma) : 0.0;
#else
  return 0.0;
#endif
}

void bf16_pack_a(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, uint32_t* dst) {
#if AB_ISA_LEVEL >= 4
  pack_a_rows(a, rs, cs, mc, kc, dst);
#if AB_ISA_LEVEL >= 5
  // Zero pairs up to the next 16 (the last A tile step reads them against zero B rows: 0 * 0, never
  // garbage * 0, which is NaN when the garbage is Inf or NaN).
  const int64_t kp = (kc + 1) / 2, kp16 = (kp + 15) / 16 * 16;
  if (kp16 > kp)
    for (int64_t i = 0; i < mc; ++i) std::memset(dst + i * kARow + kp, 0, sizeof(uint32_t) * (kp16 - kp));
#endif
#else
  pack_a_impl(a, rs, cs, mc, kc, dst);
#endif
}

void bf16_macro(const uint32_t* pa, const uint32_t* pb, int64_t pstride, int64_t mc, int64_t nc, int64_t kp,
                float* c, int64_t ldc, int accumulate, const Epilogue* ep, int64_t m0, int64_t n0) {
#if AB_ISA_LEVEL >= 5
  amx_macro(pa, pb, pstride, mc, nc, kp, c, ldc, accumulate, ep, m0, n0);
#else
#if AB_ISA_LEVEL >= 4
  const int64_t astride = static_cast<int64_t>(kMR) * kARow;
#else
  const int64_t astride = static_cast<int64_t>(kMR) * kp * kWPP;
#endif
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const int nr = static_cast<int>(nc - jr < kNR ? nc - jr : kNR);
    const uint32_t* b = pb + (jr / kNR) * pstride;
    for (int64_t ir = 0; ir < mc; ir += kMR) {
      const int mr = static_cast<int>(mc - ir < kMR ? mc - ir : kMR);
      const uint32_t* a = pa + (ir / kMR) * astride;
#if AB_ISA_LEVEL == 1
      // Two half panels of 16 columns.
      for (int h = 0; h < nr; h += 16) {
        const int w = nr - h < 16 ? nr - h : 16;
        StoreArgs s{c + ir * ldc + jr + h, ldc, w, accumulate, ep, m0 + ir, n0 + jr + h};
        kUkr[mr - 1][w > 8 ? 1 : 0](kp, a, b + h, s);
      }
#else
      StoreArgs s{c + ir * ldc + jr, ldc, nr, accumulate, ep, m0 + ir, n0 + jr};
      kUkr[mr - 1][nr > 16 ? 1 : 0](kp, a, b, s);
#endif
    }
  }
#endif
}

} }  // namespace ab::AB_ISA_NS

// SPDX-License-Identifier: Apache-2.0
// f32 GEMM kernel bodies, one copy per level (see native/gemm/gemm_kernels.h for the contract).
//   avx512 : 14x32 register tile (28 zmm accumulators, A broadcast from the packed panel,
//            two B vectors per k), masked edge columns, epilogue fused in registers.
//   avx2   : 6x16 register tile (12 ymm accumulators), maskload/maskstore edges.
//   scalar : 4x16 tile in plain C (the compiler may use SSE2), cache-blocked the same way; it is
//            the portable reference for every level.
// GEMV bodies (row dot products and K-ordered axpy accumulation) stream the matrix once.
#include <cstdint>
#include <cstring>

#include "dispatch/dispatch.h"
#include "gemm/gemm_kernels.h"
#include "kernels/gemm_epilogue.h"
#include "ops/op_codes.h"

#if AB_ISA_LEVEL >= 1
#include <immintrin.h>
#endif

// GCC 12 flags _mm512_undefined_ps() inside its own intrinsic headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace ab { namespace AB_ISA_NS {
using ::ab::gemm::Epilogue;
using ::ab::gemm::KernelParams;

namespace {

#if AB_ISA_LEVEL >= 2
constexpr int kMR = 14, kNR = 32, kKC = 512, kMC = 168, kNC = 3072;
const char* const kName = "avx512 14x32 fma (zmm, masked edges)";
#elif AB_ISA_LEVEL == 1
constexpr int kMR = 6, kNR = 16, kKC = 256, kMC = 144, kNC = 3072;
const char* const kName = "avx2 6x16 fma (ymm)";
#else
constexpr int kMR = 4, kNR = 16, kKC = 256, kMC = 128, kNC = 2048;
const char* const kName = "scalar 4x16 portable";
#endif

struct StoreArgs {
  float* c;
  int64_t ldc;
  int nr;  // valid columns of this tile
  int accumulate;
  const Epilogue* ep;
  int64_t m0, n0;
};

// ---------------------------------------------------------------- packing (all levels)
#if AB_ISA_LEVEL >= 2
// In-register transpose of a 16x16 block (rows r[0..15] -> columns), 64 shuffles.
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

// A full panel of kMR (14) rows of a row-major A, 16 k at a time: load 14 row segments, transpose,
// store 14 lanes per k. Returns how many k were packed (a multiple of 16); the caller does the rest.
int64_t pack_a_panel_rows_avx512(const float* a, int64_t rs, int64_t kc, float* d) {
  static_assert(kMR <= 16, "the transpose packs at most 16 rows");
  const __mmask16 m = static_cast<__mmask16>((1u << kMR) - 1);
  int64_t k0 = 0;
  for (; k0 + 16 <= kc; k0 += 16) {
    __m512 r[16];
    for (int i = 0; i < kMR; ++i) r[i] = _mm512_loadu_ps(a + i * rs + k0);
    for (int i = kMR; i < 16; ++i) r[i] = _mm512_setzero_ps();
    transpose16x16(r);
    for (int k = 0; k < 16; ++k) _mm512_mask_storeu_ps(d + (k0 + k) * kMR, m, r[k]);
  }
  return k0;
}
#endif

void pack_a_impl(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, float* dst) {
  for (int64_t p = 0; p < mc; p += kMR) {
    const int r = static_cast<int>(mc - p < kMR ? mc - p : kMR);
    float* d = dst + p * kc;
    if (cs == 1) {
      int64_t k_done = 0;
#if AB_ISA_LEVEL >= 2
      if (r == kMR) k_done = pack_a_panel_rows_avx512(a + p * rs, rs, kc, d);
#endif
      for (int i = 0; i < r; ++i) {
        const float* s = a + (p + i) * rs;
        for (int64_t k = k_done; k < kc; ++k) d[k * kMR + i] = s[k];
      }
      for (int i = r; i < kMR; ++i)
        for (int64_t k = 0; k < kc; ++k) d[k * kMR + i] = 0.f;
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = a + k * cs + p * rs;
        float* dk = d + k * kMR;
        if (rs == 1) {
          for (int i = 0; i < r; ++i) dk[i] = s[i];
        } else {
          for (int i = 0; i < r; ++i) dk[i] = s[i * rs];
        }
        for (int i = r; i < kMR; ++i) dk[i] = 0.f;
      }
    }
  }
}

// One A panel from row pointers (implicit im2col): d[k * kMR + i] = rows[i][k] (null rows and
// lanes past r read zeros).
void pack_a_rows_impl(const float* const* rows, int r, int64_t len, float* d) {
#if AB_ISA_LEVEL >= 2
  const __mmask16 lanes = static_cast<__mmask16>((1u << kMR) - 1);
  for (int64_t k0 = 0; k0 < len; k0 += 16) {
    const int n = static_cast<int>(len - k0 < 16 ? len - k0 : 16);
    const __mmask16 m = n == 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
    __m512 v[16];
    for (int i = 0; i < 16; ++i)
      v[i] = i < r && rows[i] ? _mm512_maskz_loadu_ps(m, rows[i] + k0) : _mm512_setzero_ps();
    transpose16x16(v);
    float* dk = d + k0 * kMR;
    for (int k = 0; k < n; ++k) _mm512_mask_storeu_ps(dk + k * kMR, lanes, v[k]);
  }
#else
  for (int i = 0; i < kMR; ++i) {
    const float* s = i < r ? rows[i] : nullptr;
    if (s) {
      for (int64_t k = 0; k < len; ++k) d[k * kMR + i] = s[k];
    } else {
      for (int64_t k = 0; k < len; ++k) d[k * kMR + i] = 0.f;
    }
  }
#endif
}

void pack_b_impl(const float* b, int64_t rs, int64_t cs, int64_t kc, int64_t nc, float* dst) {
  for (int64_t q = 0; q < nc; q += kNR) {
    const int n = static_cast<int>(nc - q < kNR ? nc - q : kNR);
    float* d = dst + q * kc;
#if AB_ISA_LEVEL >= 2
    static_assert(kNR == 32, "the avx512 B packing writes two vectors per k");
    if (cs == 1) {  // row-major source: two (masked) vector copies per k
      const __mmask16 m0 = n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
      const __mmask16 m1 = n >= 32 ? static_cast<__mmask16>(0xFFFF) :
                           n > 16 ? static_cast<__mmask16>((1u << (n - 16)) - 1u) : static_cast<__mmask16>(0);
      const float* s = b + q;
      int64_t k = 0;
      for (; k + 2 <= kc; k += 2) {
        const __m512 a0 = _mm512_maskz_loadu_ps(m0, s), a1 = _mm512_maskz_loadu_ps(m1, s + 16);
        const __m512 c0 = _mm512_maskz_loadu_ps(m0, s + rs), c1 = _mm512_maskz_loadu_ps(m1, s + rs + 16);
        _mm512_store_ps(d + k * kNR, a0);
        _mm512_store_ps(d + k * kNR + 16, a1);
        _mm512_store_ps(d + k * kNR + 32, c0);
        _mm512_store_ps(d + k * kNR + 48, c1);
        s += 2 * rs;
      }
      if (k < kc) {
        _mm512_store_ps(d + k * kNR, _mm512_maskz_loadu_ps(m0, s));
        _mm512_store_ps(d + k * kNR + 16, _mm512_maskz_loadu_ps(m1, s + 16));
      }
      continue;
    }
    if (rs == 1) {  // transposed source (columns contiguous along k): 16x16 transposes
      for (int h = 0; h < 2; ++h) {
        const int cols = n - 16 * h < 0 ? 0 : (n - 16 * h > 16 ? 16 : n - 16 * h);
        for (int64_t k0 = 0; k0 < kc; k0 += 16) {
          const int kn = static_cast<int>(kc - k0 < 16 ? kc - k0 : 16);
          const __mmask16 mk = kn == 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << kn) - 1u);
          __m512 v[16];
          for (int j = 0; j < 16; ++j)
            v[j] = j < cols ? _mm512_maskz_loadu_ps(mk, b + (q + 16 * h + j) * cs + k0) : _mm512_setzero_ps();
          transpose16x16(v);
          for (int k = 0; k < kn; ++k) _mm512_store_ps(d + (k0 + k) * kNR + 16 * h, v[k]);
        }
      }
      continue;
    }
#endif
    if (cs == 1) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = b + k * rs + q;
        float* dk = d + k * kNR;
        if (n == kNR) {
          for (int j = 0; j < kNR; ++j) dk[j] = s[j];
        } else {
          for (int j = 0; j < n; ++j) dk[j] = s[j];
          for (int j = n; j < kNR; ++j) dk[j] = 0.f;
        }
      }
    } else {
      // Transposed source: column j of the panel is contiguous along k when rs == 1.
      for (int j = 0; j < n; ++j) {
        const float* s = b + (q + j) * cs;
        if (rs == 1) {
          for (int64_t k = 0; k < kc; ++k) d[k * kNR + j] = s[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) d[k * kNR + j] = s[k * rs];
        }
      }
      for (int j = n; j < kNR; ++j)
        for (int64_t k = 0; k < kc; ++k) d[k * kNR + j] = 0.f;
    }
  }
}

// ---------------------------------------------------------------- micro-kernels
#if AB_ISA_LEVEL >= 2
// ROWS = false: A is a packed panel (pa[k * kMR + i]); ROWS = true: A is r rows lda apart
// (pa[i * lda + k]), e.g. straight from a convolution's NHWC input.
constexpr int64_t kBdPrefetchRows = 16;
// BDIR = true: B is read as it is (row-major, rows ldb apart, masked to s.nr columns) instead of
// a packed panel: small-M GEMMs whose B would be packed for one or two row tiles only.
// BDIR = 2: the same, prefetching the strip kBdPrefetchRows rows ahead (large B: every row may be a
// new page, which the hardware prefetchers do not cross; on a B that stays in cache it costs).
template <int R, int NV, bool ROWS = false, int BDIR = 0>
__attribute__((noinline)) void ukr(int64_t kc, const float* __restrict pa, const float* __restrict pb,
                                   const StoreArgs& s, int64_t lda = 0, int64_t ldb = 0) {
  __m512 acc[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  for (int i = 0; i < R; ++i) _mm_prefetch(reinterpret_cast<const char*>(s.c + i * s.ldc), _MM_HINT_T0);
  const __mmask16 bm0 = s.nr >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << s.nr) - 1u);
  const __mmask16 bm1 = s.nr >= 32 ? static_cast<__mmask16>(0xFFFF) :
                        s.nr > 16 ? static_cast<__mmask16>((1u << (s.nr - 16)) - 1u) : static_cast<__mmask16>(0);
  for (int64_t k = 0; k < kc; ++k) {
    if (BDIR == 2) {
      _mm_prefetch(reinterpret_cast<const char*>(pb + kBdPrefetchRows * ldb), _MM_HINT_T0);
      if (NV > 1) _mm_prefetch(reinterpret_cast<const char*>(pb + kBdPrefetchRows * ldb + 16), _MM_HINT_T0);
    }
    const __m512 b0 = BDIR ? _mm512_maskz_loadu_ps(bm0, pb) : _mm512_load_ps(pb);
    const __m512 b1 = NV > 1 ? (BDIR ? _mm512_maskz_loadu_ps(bm1, pb + 16) : _mm512_load_ps(pb + 16)) : b0;
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const __m512 a = _mm512_set1_ps(ROWS ? pa[i * lda] : pa[i]);
      acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
      if (NV > 1) acc[i][NV - 1] = _mm512_fmadd_ps(a, b1, acc[i][NV - 1]);
    }
    pa += ROWS ? 1 : kMR;
    pb += BDIR ? ldb : kNR;
  }
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
constexpr int kVec = 16;

// Batch-reduce tiles on row-major A (A rows lda apart, read in place): the accumulators stay in
// registers across every term, C is stored once. NV = 1 or 2 vectors of one B panel, or (wide)
// R <= 7 rows x 64 columns over two panels: one broadcast feeds four FMAs.
using ::ab::gemm::TileSeg;
template <int R, int NV>
__attribute__((noinline)) void ukr_br(const TileSeg* segs, int nseg, int64_t lda, const float* bdata, int64_t j0,
                                      const StoreArgs& s) {
  __m512 acc[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  for (int q = 0; q < nseg; ++q) {
    const float* __restrict pa = segs[q].a;
    const float* __restrict pb = bdata + segs[q].boff + j0 * segs[q].kcur;
    for (int64_t k = 0, kc = segs[q].len; k < kc; ++k) {
      const __m512 b0 = _mm512_load_ps(pb);
      const __m512 b1 = NV > 1 ? _mm512_load_ps(pb + 16) : b0;
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        const __m512 a = _mm512_set1_ps(pa[i * lda]);
        acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
        if (NV > 1) acc[i][NV - 1] = _mm512_fmadd_ps(a, b1, acc[i][NV - 1]);
      }
      pa += 1;
      pb += kNR;
    }
  }
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
      if (ep) x = epi16(x, ep, s.m0 + i, s.n0 + 16 * v, mk[v]);
      _mm512_mask_storeu_ps(crow + 16 * v, mk[v], x);
    }
  }
  if (ep && act_is_heavy(ep->act))
    for (int i = 0; i < R; ++i) activation_f32_inplace(s.c + i * s.ldc, s.nr, ep->act, ep->alpha, nullptr);
}

// ukr_br with the last of its NV vectors half wide (8 columns, ymm): tiles of at most 8 (NV = 1) or
// 16 < nr <= 24 (NV = 2) columns, e.g. the 24-channel convolutions of mobile nets. A masked zmm
// FMA costs a full one; a ymm FMA costs half on Zen 4 (two 256-bit FMA pipes) and no more on
// Intel. Each lane's chain (k order, FMA) is ukr_br's, so the bits are the same.
template <int R, int NV>
__attribute__((noinline)) void ukr_br_half(const TileSeg* segs, int nseg, int64_t lda, const float* bdata, int64_t j0,
                                           const StoreArgs& s) {
  static_assert(NV == 1 || NV == 2, "one or two vectors");
  __m512 acc[R];
  __m256 acch[R];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    acc[i] = _mm512_setzero_ps();
    acch[i] = _mm256_setzero_ps();
  }
  for (int q = 0; q < nseg; ++q) {
    const float* __restrict pa = segs[q].a;
    const float* __restrict pb = bdata + segs[q].boff + j0 * segs[q].kcur;
    for (int64_t k = 0, kc = segs[q].len; k < kc; ++k) {
      const __m512 b0 = NV == 2 ? _mm512_load_ps(pb) : _mm512_setzero_ps();
      const __m256 bh = _mm256_load_ps(pb + 16 * (NV - 1));
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        const __m512 a = _mm512_set1_ps(pa[i * lda]);
        if (NV == 2) acc[i] = _mm512_fmadd_ps(a, b0, acc[i]);
        acch[i] = _mm256_fmadd_ps(_mm512_castps512_ps256(a), bh, acch[i]);
      }
      pa += 1;
      pb += kNR;
    }
  }
  const int nh = s.nr - 16 * (NV - 1);
  const __mmask8 mh = nh >= 8 ? static_cast<__mmask8>(0xFF) : static_cast<__mmask8>((1u << nh) - 1u);
  const Epilogue* ep = s.ep;
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    float* crow = s.c + i * s.ldc;
    if (NV == 2) {
      __m512 x = acc[i];
      if (ep) x = epi16(x, ep, s.m0 + i, s.n0, static_cast<__mmask16>(0xFFFF));
      _mm512_storeu_ps(crow, x);
    }
    __m256 x = acch[i];
    if (ep) x = epi8m(x, ep, s.m0 + i, s.n0 + 16 * (NV - 1), mh);
    _mm256_mask_storeu_ps(crow + 16 * (NV - 1), mh, x);
  }
  if (ep && act_is_heavy(ep->act))
    for (int i = 0; i < R; ++i) activation_f32_inplace(s.c + i * s.ldc, s.nr, ep->act, ep->alpha, nullptr);
}

constexpr int kWideMR = 7;
template <int R>
__attribute__((noinline)) void ukr_br_wide(const TileSeg* segs, int nseg, int64_t lda, int64_t aoff,
                                           const float* bdata, int64_t j0, const StoreArgs& s) {
  __m512 acc[R][4];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) acc[i][v] = _mm512_setzero_ps();
  for (int q = 0; q < nseg; ++q) {
    const float* __restrict pa = segs[q].a + aoff;
    const float* __restrict pb0 = bdata + segs[q].boff + j0 * segs[q].kcur;
    const float* __restrict pb1 = pb0 + kNR * segs[q].kcur;
    for (int64_t k = 0, kc = segs[q].len; k < kc; ++k) {
      const __m512 b0 = _mm512_load_ps(pb0), b1 = _mm512_load_ps(pb0 + 16);
      const __m512 b2 = _mm512_load_ps(pb1), b3 = _mm512_load_ps(pb1 + 16);
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        const __m512 a = _mm512_set1_ps(pa[i * lda]);
        acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
        acc[i][2] = _mm512_fmadd_ps(a, b2, acc[i][2]);
        acc[i][3] = _mm512_fmadd_ps(a, b3, acc[i][3]);
      }
      pa += 1;
      pb0 += kNR;
      pb1 += kNR;
    }
  }
  const __mmask16 full = static_cast<__mmask16>(0xFFFF);
  const Epilogue* ep = s.ep;
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    float* crow = s.c + i * s.ldc;
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      __m512 x = acc[i][v];
      if (ep) x = epi16(x, ep, s.m0 + i, s.n0 + 16 * v, full);
      _mm512_storeu_ps(crow + 16 * v, x);
    }
  }
  if (ep && act_is_heavy(ep->act))
    for (int i = 0; i < R; ++i) activation_f32_inplace(s.c + i * s.ldc, 64, ep->act, ep->alpha, nullptr);
}
typedef void (*UkrBrFn)(const TileSeg*, int, int64_t, const float*, int64_t, const StoreArgs&);
// [rows - 1][columns: <= 8, <= 16, <= 24, <= 32]
#define AB_UKR_BR(R) {&ukr_br_half<R, 1>, &ukr_br<R, 1>, &ukr_br_half<R, 2>, &ukr_br<R, 2>}
const UkrBrFn kUkrBr[kMR][4] = {AB_UKR_BR(1),  AB_UKR_BR(2),  AB_UKR_BR(3),  AB_UKR_BR(4),  AB_UKR_BR(5),
                                AB_UKR_BR(6),  AB_UKR_BR(7),  AB_UKR_BR(8),  AB_UKR_BR(9),  AB_UKR_BR(10),
                                AB_UKR_BR(11), AB_UKR_BR(12), AB_UKR_BR(13), AB_UKR_BR(14)};
#undef AB_UKR_BR
typedef void (*UkrBrWideFn)(const TileSeg*, int, int64_t, int64_t, const float*, int64_t, const StoreArgs&);
const UkrBrWideFn kUkrBrWide[kWideMR] = {&ukr_br_wide<1>, &ukr_br_wide<2>, &ukr_br_wide<3>, &ukr_br_wide<4>,
                                     &ukr_br_wide<5>, &ukr_br_wide<6>, &ukr_br_wide<7>};

#elif AB_ISA_LEVEL == 1
// ROWS = false: A is a packed panel (pa[k * kMR + i]); ROWS = true: A is r rows lda apart
// (pa[i * lda + k]), e.g. straight from a convolution's NHWC input.
template <int R, int NV, bool ROWS = false>
__attribute__((noinline)) void ukr(int64_t kc, const float* __restrict pa, const float* __restrict pb,
                                   const StoreArgs& s, int64_t lda = 0, int64_t /*ldb: avx512 only*/ = 0) {
  __m256 acc[R][NV];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();
  for (int i = 0; i < R; ++i) _mm_prefetch(reinterpret_cast<const char*>(s.c + i * s.ldc), _MM_HINT_T0);
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(pb);
    const __m256 b1 = NV > 1 ? _mm256_load_ps(pb + 8) : b0;
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const __m256 a = _mm256_broadcast_ss(ROWS ? pa + i * lda : pa + i);
      acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
      if (NV > 1) acc[i][NV - 1] = _mm256_fmadd_ps(a, b1, acc[i][NV - 1]);
    }
    pa += ROWS ? 1 : kMR;
    pb += kNR;
  }
  __m256i mk[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) mk[v] = mask8(s.nr - 8 * v);
  const bool full = s.nr >= 8 * NV;
  const Epilogue* ep = s.ep;
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    float* crow = s.c + i * s.ldc;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      __m256 x = acc[i][v];
      if (full) {
        if (s.accumulate) x = _mm256_add_ps(x, _mm256_loadu_ps(crow + 8 * v));
        if (ep) x = epi8(x, ep, s.m0 + i, s.n0 + 8 * v, mk[v]);
        _mm256_storeu_ps(crow + 8 * v, x);
      } else {
        if (s.accumulate) x = _mm256_add_ps(x, _mm256_maskload_ps(crow + 8 * v, mk[v]));
        if (ep) x = epi8(x, ep, s.m0 + i, s.n0 + 8 * v, mk[v]);
        _mm256_maskstore_ps(crow + 8 * v, mk[v], x);
      }
    }
  }
  if (ep && act_is_heavy(ep->act))
    for (int i = 0; i < R; ++i) activation_f32_inplace(s.c + i * s.ldc, s.nr, ep->act, ep->alpha, nullptr);
}
constexpr int kVec = 8;

// Batch-reduce tile on row-major A (see the avx512 one): accumulators in registers across terms.
using ::ab::gemm::TileSeg;
template <int R, int NV>
__attribute__((noinline)) void ukr_br(const TileSeg* segs, int nseg, int64_t lda, const float* bdata, int64_t j0,
                                      const StoreArgs& s) {
  __m256 acc[R][NV];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();
  for (int q = 0; q < nseg; ++q) {
    const float* __restrict pa = segs[q].a;
    const float* __restrict pb = bdata + segs[q].boff + j0 * segs[q].kcur;
    for (int64_t k = 0, kc = segs[q].len; k < kc; ++k) {
      const __m256 b0 = _mm256_load_ps(pb);
      const __m256 b1 = NV > 1 ? _mm256_load_ps(pb + 8) : b0;
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        const __m256 a = _mm256_broadcast_ss(pa + i * lda);
        acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
        if (NV > 1) acc[i][NV - 1] = _mm256_fmadd_ps(a, b1, acc[i][NV - 1]);
      }
      pa += 1;
      pb += kNR;
    }
  }
  __m256i mk[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) mk[v] = mask8(s.nr - 8 * v);
  const Epilogue* ep = s.ep;
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    float* crow = s.c + i * s.ldc;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      __m256 x = acc[i][v];
      if (ep) x = epi8(x, ep, s.m0 + i, s.n0 + 8 * v, mk[v]);
      _mm256_maskstore_ps(crow + 8 * v, mk[v], x);
    }
  }
  if (ep && act_is_heavy(ep->act))
    for (int i = 0; i < R; ++i) activation_f32_inplace(s.c + i * s.ldc, s.nr, ep->act, ep->alpha, nullptr);
}
typedef void (*UkrBrFn)(const TileSeg*, int, int64_t, const float*, int64_t, const StoreArgs&);
#define AB_UKR_BR(R) {&ukr_br<R, 1>, &ukr_br<R, 2>}
const UkrBrFn kUkrBr[kMR][2] = {AB_UKR_BR(1), AB_UKR_BR(2), AB_UKR_BR(3), AB_UKR_BR(4), AB_UKR_BR(5), AB_UKR_BR(6)};
#undef AB_UKR_BR

#else
// ROWS = false: A is a packed panel (pa[k * kMR + i]); ROWS = true: A is r rows lda apart
// (pa[i * lda + k]), e.g. straight from a convolution's NHWC input.
template <int R, int NV, bool ROWS = false>
__attribute__((noinline)) void ukr(int64_t kc, const float* __restrict pa, const float* __restrict pb,
                                   const StoreArgs& s, int64_t lda = 0, int64_t /*ldb: avx512 only*/ = 0) {
  constexpr int W = 8 * NV;  // columns computed (NR = 16 = two "vectors" of 8)
  float acc[R][W];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < W; ++j) acc[i][j] = 0.f;
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < R; ++i) {
      const float a = ROWS ? pa[i * lda] : pa[i];
      for (int j = 0; j < W; ++j) acc[i][j] += a * pb[j];
    }
    pa += ROWS ? 1 : kMR;
    pb += kNR;
  }
  for (int i = 0; i < R; ++i) {
    float* crow = s.c + i * s.ldc;
    if (s.accumulate) {
      for (int j = 0; j < s.nr; ++j) crow[j] += acc[i][j];
    } else {
      for (int j = 0; j < s.nr; ++j) crow[j] = acc[i][j];
    }
  }
  if (s.ep) epilogue_ref(s.c, s.ldc, R, s.nr, s.ep, s.m0, s.n0);
}
constexpr int kVec = 8;
#endif

typedef void (*UkrFn)(int64_t, const float*, const float*, const StoreArgs&, int64_t, int64_t);
#if AB_ISA_LEVEL >= 2
#define AB_UKR_BD(R) {{&ukr<R, 1, false, 1>, &ukr<R, 2, false, 1>}, {&ukr<R, 1, false, 2>, &ukr<R, 2, false, 2>}}
const UkrFn kUkrBd[kMR][2][2] = {AB_UKR_BD(1),  AB_UKR_BD(2),  AB_UKR_BD(3),  AB_UKR_BD(4),  AB_UKR_BD(5),
                                   AB_UKR_BD(6),  AB_UKR_BD(7),  AB_UKR_BD(8),  AB_UKR_BD(9),  AB_UKR_BD(10),
                                   AB_UKR_BD(11), AB_UKR_BD(12), AB_UKR_BD(13), AB_UKR_BD(14)};
#undef AB_UKR_BD
#endif
#define AB_UKR_ROW(R) {&ukr<R, 1>, &ukr<R, 2>}
#define AB_UKR_ROWS(R) {&ukr<R, 1, true>, &ukr<R, 2, true>}
const UkrFn kUkr[kMR][2] = {
    AB_UKR_ROW(1), AB_UKR_ROW(2), AB_UKR_ROW(3), AB_UKR_ROW(4),
#if AB_ISA_LEVEL >= 1
    AB_UKR_ROW(5), AB_UKR_ROW(6),
#endif
#if AB_ISA_LEVEL >= 2
    AB_UKR_ROW(7), AB_UKR_ROW(8), AB_UKR_ROW(9), AB_UKR_ROW(10), AB_UKR_ROW(11), AB_UKR_ROW(12),
    AB_UKR_ROW(13), AB_UKR_ROW(14),
#endif
};
const UkrFn kUkrRows[kMR][2] = {
    AB_UKR_ROWS(1), AB_UKR_ROWS(2), AB_UKR_ROWS(3), AB_UKR_ROWS(4),
#if AB_ISA_LEVEL >= 1
    AB_UKR_ROWS(5), AB_UKR_ROWS(6),
#endif
#if AB_ISA_LEVEL >= 2
    AB_UKR_ROWS(7), AB_UKR_ROWS(8), AB_UKR_ROWS(9), AB_UKR_ROWS(10), AB_UKR_ROWS(11), AB_UKR_ROWS(12),
    AB_UKR_ROWS(13), AB_UKR_ROWS(14),
#endif
};
#undef AB_UKR_ROW
#undef AB_UKR_ROWS
static_assert(kNR == 2 * kVec, "tile is two vectors wide");

}  // namespace

// ---------------------------------------------------------------- entry points
void sgemm_params(KernelParams* out) {
  out->mr = kMR;
  out->nr = kNR;
  out->kc = kKC;
  out->mc = kMC;
  out->nc = kNC;
  out->name = kName;
  out->b_direct_max_m = AB_ISA_LEVEL >= 2 ? 3 * kMR : 0;
}

void sgemm_pack_a(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, float* dst) {
  pack_a_impl(a, rs, cs, mc, kc, dst);
}

void sgemm_pack_b(const float* b, int64_t rs, int64_t cs, int64_t kc, int64_t nc, float* dst) {
  pack_b_impl(b, rs, cs, kc, nc, dst);
}

void sgemm_pack_a_rows(const float* const* rows, int r, int64_t len, float* dst) {
  pack_a_rows_impl(rows, r, len, dst);
}

void sgemm_macro(const float* pa, const float* pb, int64_t mc, int64_t nc, int64_t kc, float* c,
                 int64_t ldc, int accumulate, const Epilogue* ep, int64_t m0, int64_t n0) {
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const int nr = static_cast<int>(nc - jr < kNR ? nc - jr : kNR);
    const float* b = pb + jr * kc;
    const int nv = nr > kVec ? 2 : 1;
    for (int64_t ir = 0; ir < mc; ir += kMR) {
      const int mr = static_cast<int>(mc - ir < kMR ? mc - ir : kMR);
      StoreArgs s{c + ir * ldc + jr, ldc, nr, accumulate, ep, m0 + ir, n0 + jr};
      kUkr[mr - 1][nv - 1](kc, pa + ir * kc, b, s, 0, 0);
    }
  }
}

// C[0:mc, 0:nc] (=|+=) packedA * B with B row-major as it is (ldb), for small mc (see
// KernelParams::b_direct_max_m; levels without a direct-B kernel never get this call).
void sgemm_macro_bdirect(const float* pa, const float* b, int64_t ldb, int64_t mc, int64_t nc, int64_t kc, float* c,
                         int64_t ldc, int accumulate, const Epilogue* ep, int64_t m0, int64_t n0, int prefetch) {
#if AB_ISA_LEVEL >= 2
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const int nr = static_cast<int>(nc - jr < kNR ? nc - jr : kNR);
    const int nv = nr > kVec ? 2 : 1;
    for (int64_t ir = 0; ir < mc; ir += kMR) {
      const int mr = static_cast<int>(mc - ir < kMR ? mc - ir : kMR);
      StoreArgs s{c + ir * ldc + jr, ldc, nr, accumulate, ep, m0 + ir, n0 + jr};
      kUkrBd[mr - 1][prefetch ? 1 : 0][nv - 1](kc, pa + ir * kc, b + jr, s, 0, ldb);
    }
  }
#else
  (void)pa, (void)b, (void)ldb, (void)mc, (void)nc, (void)kc, (void)c, (void)ldc, (void)accumulate, (void)ep;
  (void)m0, (void)n0, (void)prefetch;
  __builtin_trap();  // b_direct_max_m is 0 here: the driver never calls this
#endif
}

#if AB_ISA_LEVEL == 0
namespace {
// The scalar level: one register tile per term, accumulating in C.
void tile_br_generic(const ::ab::gemm::TileSeg* segs, int nseg, int64_t lda, const float* bdata, int64_t j0, int r,
                     int nr, float* c, int64_t ldc, const Epilogue* ep, int64_t m0) {
  const UkrFn f = kUkrRows[r - 1][nr > kVec ? 1 : 0];
  if (nseg == 0) {
    StoreArgs s{c, ldc, nr, 0, ep, m0, j0};
    f(0, nullptr, bdata, s, 0, 0);
    return;
  }
  for (int q = 0; q < nseg; ++q) {
    StoreArgs s{c, ldc, nr, q > 0 ? 1 : 0, q + 1 == nseg ? ep : nullptr, m0, j0};
    f(segs[q].len, segs[q].a, bdata + segs[q].boff + j0 * segs[q].kcur, s, lda, 0);
  }
}
}  // namespace
#endif

void sgemm_tile_br(const ::ab::gemm::TileSeg* segs, int nseg, int64_t lda, const float* bdata, int64_t j0, int r,
                   int nr, float* c, int64_t ldc, const Epilogue* ep, int64_t m0) {
#if AB_ISA_LEVEL >= 2
  StoreArgs s{c, ldc, nr, 0, ep, m0, j0};
  kUkrBr[r - 1][(nr - 1) / 8](segs, nseg, lda, bdata, j0, s);
#elif AB_ISA_LEVEL == 1
  StoreArgs s{c, ldc, nr, 0, ep, m0, j0};
  kUkrBr[r - 1][nr > kVec ? 1 : 0](segs, nseg, lda, bdata, j0, s);
#else
  tile_br_generic(segs, nseg, lda, bdata, j0, r, nr, c, ldc, ep, m0);
#endif
}

void sgemm_tile_br_wide(const ::ab::gemm::TileSeg* segs, int nseg, int64_t lda, const float* bdata, int64_t j0, int r,
                        float* c, int64_t ldc, const Epilogue* ep, int64_t m0) {
#if AB_ISA_LEVEL >= 2
  for (int i0 = 0; i0 < r; i0 += kWideMR) {
    const int rr = r - i0 < kWideMR ? r - i0 : kWideMR;
    StoreArgs s{c + i0 * ldc, ldc, 2 * kNR, 0, ep, m0 + i0, j0};
    kUkrBrWide[rr - 1](segs, nseg, lda, i0 * lda, bdata, j0, s);
  }
#else
  sgemm_tile_br(segs, nseg, lda, bdata, j0, r, kNR, c, ldc, ep, m0);
  sgemm_tile_br(segs, nseg, lda, bdata, j0 + kNR, r, kNR, c + kNR, ldc, ep, m0);
#endif
}

void sgemm_epilogue(float* c, int64_t ldc, int64_t rows, int64_t cols, const Epilogue* ep, int64_t m0,
                    int64_t n0) {
  epilogue_ref(c, ldc, rows, cols, ep, m0, n0);
}

// y[j * incy] = dot(x[j, :], v)
void sgemv_t(const float* x, int64_t ldx, const float* v, int64_t K, float* y, int64_t incy, int64_t j0,
             int64_t j1) {
#if AB_ISA_LEVEL >= 2
  const int64_t K32 = K & ~int64_t{31};
  const int64_t rem = K - K32;
  const __mmask16 m0 = rem >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << rem) - 1u);
  const __mmask16 m1 = rem > 16 ? static_cast<__mmask16>((1u << (rem - 16)) - 1u) : static_cast<__mmask16>(0);
  int64_t j = j0;
  for (; j + 4 <= j1; j += 4) {
    const float* r0 = x + j * ldx;
    const float* r1 = r0 + ldx;
    const float* r2 = r1 + ldx;
    const float* r3 = r2 + ldx;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    // The next 4 rows are streamed into L2 while these are consumed (HW prefetchers stop at
    // page boundaries; this keeps the DRAM pipe full). Prefetching past the end is harmless.
    const char* nx = reinterpret_cast<const char*>(r3 + ldx);
    const int64_t ldb = ldx * 4;
    for (int64_t k = 0; k < K32; k += 32) {
      _mm_prefetch(nx + 4 * k, _MM_HINT_T1);
      _mm_prefetch(nx + 4 * k + 64, _MM_HINT_T1);
      _mm_prefetch(nx + ldb + 4 * k, _MM_HINT_T1);
      _mm_prefetch(nx + ldb + 4 * k + 64, _MM_HINT_T1);
      _mm_prefetch(nx + 2 * ldb + 4 * k, _MM_HINT_T1);
      _mm_prefetch(nx + 2 * ldb + 4 * k + 64, _MM_HINT_T1);
      _mm_prefetch(nx + 3 * ldb + 4 * k, _MM_HINT_T1);
      _mm_prefetch(nx + 3 * ldb + 4 * k + 64, _MM_HINT_T1);
      const __m512 v0 = _mm512_loadu_ps(v + k), v1 = _mm512_loadu_ps(v + k + 16);
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(r0 + k), v0, a0);
      b0 = _mm512_fmadd_ps(_mm512_loadu_ps(r0 + k + 16), v1, b0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(r1 + k), v0, a1);
      b1 = _mm512_fmadd_ps(_mm512_loadu_ps(r1 + k + 16), v1, b1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(r2 + k), v0, a2);
      b2 = _mm512_fmadd_ps(_mm512_loadu_ps(r2 + k + 16), v1, b2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(r3 + k), v0, a3);
      b3 = _mm512_fmadd_ps(_mm512_loadu_ps(r3 + k + 16), v1, b3);
    }
    if (rem) {
      const __m512 v0 = _mm512_maskz_loadu_ps(m0, v + K32), v1 = _mm512_maskz_loadu_ps(m1, v + K32 + 16);
      a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, r0 + K32), v0, a0);
      b0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, r0 + K32 + 16), v1, b0);
      a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, r1 + K32), v0, a1);
      b1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, r1 + K32 + 16), v1, b1);
      a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, r2 + K32), v0, a2);
      b2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, r2 + K32 + 16), v1, b2);
      a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, r3 + K32), v0, a3);
      b3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, r3 + K32 + 16), v1, b3);
    }
    y[j * incy] = _mm512_reduce_add_ps(_mm512_add_ps(a0, b0));
    y[(j + 1) * incy] = _mm512_reduce_add_ps(_mm512_add_ps(a1, b1));
    y[(j + 2) * incy] = _mm512_reduce_add_ps(_mm512_add_ps(a2, b2));
    y[(j + 3) * incy] = _mm512_reduce_add_ps(_mm512_add_ps(a3, b3));
  }
  for (; j < j1; ++j) {
    const float* r0 = x + j * ldx;
    __m512 a0 = _mm512_setzero_ps(), b0 = a0;
    for (int64_t k = 0; k < K32; k += 32) {
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(r0 + k), _mm512_loadu_ps(v + k), a0);
      b0 = _mm512_fmadd_ps(_mm512_loadu_ps(r0 + k + 16), _mm512_loadu_ps(v + k + 16), b0);
    }
    if (rem) {
      a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, r0 + K32), _mm512_maskz_loadu_ps(m0, v + K32), a0);
      b0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, r0 + K32 + 16), _mm512_maskz_loadu_ps(m1, v + K32 + 16), b0);
    }
    y[j * incy] = _mm512_reduce_add_ps(_mm512_add_ps(a0, b0));
  }
#elif AB_ISA_LEVEL == 1
  const int64_t K16 = K & ~int64_t{15};
  const int64_t rem = K - K16;
  const __m256i m0 = mask8(static_cast<int>(rem)), m1 = mask8(static_cast<int>(rem) - 8);
  for (int64_t j = j0; j < j1; j += 2) {
    const bool two = j + 1 < j1;
    const float* r0 = x + j * ldx;
    const float* r1 = two ? r0 + ldx : r0;
    __m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0;
    const char* nx = reinterpret_cast<const char*>(r1 + ldx);  // next 2 rows, into L2
    for (int64_t k = 0; k < K16; k += 16) {
      _mm_prefetch(nx + 4 * k, _MM_HINT_T1);
      _mm_prefetch(nx + ldx * 4 + 4 * k, _MM_HINT_T1);
      const __m256 v0 = _mm256_loadu_ps(v + k), v1 = _mm256_loadu_ps(v + k + 8);
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + k), v0, a0);
      b0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + k + 8), v1, b0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + k), v0, a1);
      b1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + k + 8), v1, b1);
    }
    if (rem) {
      const __m256 v0 = _mm256_maskload_ps(v + K16, m0), v1 = _mm256_maskload_ps(v + K16 + 8, m1);
      a0 = _mm256_fmadd_ps(_mm256_maskload_ps(r0 + K16, m0), v0, a0);
      b0 = _mm256_fmadd_ps(_mm256_maskload_ps(r0 + K16 + 8, m1), v1, b0);
      a1 = _mm256_fmadd_ps(_mm256_maskload_ps(r1 + K16, m0), v0, a1);
      b1 = _mm256_fmadd_ps(_mm256_maskload_ps(r1 + K16 + 8, m1), v1, b1);
    }
    float t[8];
    _mm256_storeu_ps(t, _mm256_add_ps(a0, b0));
    y[j * incy] = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
    if (two) {
      _mm256_storeu_ps(t, _mm256_add_ps(a1, b1));
      y[(j + 1) * incy] = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
    }
  }
#else
  for (int64_t j = j0; j < j1; ++j) {
    const float* r = x + j * ldx;
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t k = 0;
    for (; k + 8 <= K; k += 8)
      for (int t = 0; t < 8; ++t) s[t] += r[k + t] * v[k + t];
    for (int t = 0; k < K; ++k, ++t) s[t] += r[k] * v[k];
    y[j * incy] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  }
#endif
}

// y[j] = sum_k v[k] x[k, j], K-ordered per element, 4 rows of x streamed at a time.
void sgemv_n(const float* x, int64_t ldx, const float* v, int64_t K, float* y, int64_t j0, int64_t j1) {
  constexpr int64_t kChunk = 4096;  // columns of y kept in L1 while K streams by
  for (int64_t jb = j0; jb < j1; jb += kChunk) {
    const int64_t je = jb + kChunk < j1 ? jb + kChunk : j1;
    for (int64_t j = jb; j < je; ++j) y[j] = 0.f;
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) {
      const float* x0 = x + k * ldx;
      const float* x1 = x0 + ldx;
      const float* x2 = x1 + ldx;
      const float* x3 = x2 + ldx;
      int64_t j = jb;
#if AB_ISA_LEVEL >= 2
      const __m512 v0 = _mm512_set1_ps(v[k]), v1 = _mm512_set1_ps(v[k + 1]), v2 = _mm512_set1_ps(v[k + 2]),
                   v3 = _mm512_set1_ps(v[k + 3]);
      const char* nx = reinterpret_cast<const char*>(x3 + ldx);  // next 4 rows, into L2
      const int64_t ldb = ldx * 4;
      for (; j + 16 <= je; j += 16) {
        _mm_prefetch(nx + 4 * j, _MM_HINT_T1);
        _mm_prefetch(nx + ldb + 4 * j, _MM_HINT_T1);
        _mm_prefetch(nx + 2 * ldb + 4 * j, _MM_HINT_T1);
        _mm_prefetch(nx + 3 * ldb + 4 * j, _MM_HINT_T1);
        __m512 acc = _mm512_loadu_ps(y + j);
        acc = _mm512_fmadd_ps(v0, _mm512_loadu_ps(x0 + j), acc);
        acc = _mm512_fmadd_ps(v1, _mm512_loadu_ps(x1 + j), acc);
        acc = _mm512_fmadd_ps(v2, _mm512_loadu_ps(x2 + j), acc);
        acc = _mm512_fmadd_ps(v3, _mm512_loadu_ps(x3 + j), acc);
        _mm512_storeu_ps(y + j, acc);
      }
      if (j < je) {
        const __mmask16 mk = static_cast<__mmask16>((1u << (je - j)) - 1u);
        __m512 acc = _mm512_maskz_loadu_ps(mk, y + j);
        acc = _mm512_fmadd_ps(v0, _mm512_maskz_loadu_ps(mk, x0 + j), acc);
        acc = _mm512_fmadd_ps(v1, _mm512_maskz_loadu_ps(mk, x1 + j), acc);
        acc = _mm512_fmadd_ps(v2, _mm512_maskz_loadu_ps(mk, x2 + j), acc);
        acc = _mm512_fmadd_ps(v3, _mm512_maskz_loadu_ps(mk, x3 + j), acc);
        _mm512_mask_storeu_ps(y + j, mk, acc);
      }
#elif AB_ISA_LEVEL == 1
      const __m256 v0 = _mm256_set1_ps(v[k]), v1 = _mm256_set1_ps(v[k + 1]), v2 = _mm256_set1_ps(v[k + 2]),
                   v3 = _mm256_set1_ps(v[k + 3]);
      const char* nx = reinterpret_cast<const char*>(x3 + ldx);  // next 4 rows, into L2
      const int64_t ldb = ldx * 4;
      for (; j + 8 <= je; j += 8) {
        if ((j & 15) == 0) {
          _mm_prefetch(nx + 4 * j, _MM_HINT_T1);
          _mm_prefetch(nx + ldb + 4 * j, _MM_HINT_T1);
          _mm_prefetch(nx + 2 * ldb + 4 * j, _MM_HINT_T1);
          _mm_prefetch(nx + 3 * ldb + 4 * j, _MM_HINT_T1);
        }
        __m256 acc = _mm256_loadu_ps(y + j);
        acc = _mm256_fmadd_ps(v0, _mm256_loadu_ps(x0 + j), acc);
        acc = _mm256_fmadd_ps(v1, _mm256_loadu_ps(x1 + j), acc);
        acc = _mm256_fmadd_ps(v2, _mm256_loadu_ps(x2 + j), acc);
        acc = _mm256_fmadd_ps(v3, _mm256_loadu_ps(x3 + j), acc);
        _mm256_storeu_ps(y + j, acc);
      }
      for (; j < je; ++j) {
        float a = y[j];
        a = __builtin_fmaf(v[k], x0[j], a);
        a = __builtin_fmaf(v[k + 1], x1[j], a);
        a = __builtin_fmaf(v[k + 2], x2[j], a);
        a = __builtin_fmaf(v[k + 3], x3[j], a);
        y[j] = a;
      }
#else
      const float v0 = v[k], v1 = v[k + 1], v2 = v[k + 2], v3 = v[k + 3];
      for (; j < je; ++j) y[j] = (((y[j] + v0 * x0[j]) + v1 * x1[j]) + v2 * x2[j]) + v3 * x3[j];
#endif
    }
    for (; k < K; ++k) {
      const float* x0 = x + k * ldx;
      const float v0 = v[k];
#if AB_ISA_LEVEL >= 1
      for (int64_t j = jb; j < je; ++j) y[j] = __builtin_fmaf(v0, x0[j], y[j]);
#else
      for (int64_t j = jb; j < je; ++j) y[j] = y[j] + v0 * x0[j];
#endif
    }
  }
}

} }  // namespace ab::AB_ISA_NS

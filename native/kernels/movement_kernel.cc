// SPDX-License-Identifier: Apache-2.0
// Data movement on 4-byte elements (bitwise: float32 and int32 alike) and the casts. The op layer
// (native/ops/movement.cc) collapses dims, picks one of these bodies for the innermost pair and
// splits the rest over threads.
// GCC 12 warns about the deliberately undefined pass-through operands inside AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <cstdint>
#include <cstring>

#include "dispatch/dispatch.h"

#if AB_ISA_LEVEL >= 1
#include <immintrin.h>
#endif

namespace ab { namespace AB_ISA_NS {

namespace {

// n contiguous elements. Long runs go to memcpy (glibc's, tuned per CPU); short ones stay inline.
inline void copy_run(uint32_t* d, const uint32_t* s, int64_t n) {
  if (n <= 4) {  // narrow rows (a concat of few channels): plain moves beat a masked vector
    for (int64_t i = 0; i < n; ++i) d[i] = s[i];
    return;
  }
  if (n >= 256) {
    std::memcpy(d, s, static_cast<size_t>(n) * 4);
    return;
  }
  int64_t i = 0;
#if AB_ISA_LEVEL >= 2
  for (; i + 16 <= n; i += 16) _mm512_storeu_si512(d + i, _mm512_loadu_si512(s + i));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_epi32(d + i, m, _mm512_maskz_loadu_epi32(m, s + i));
  }
  return;
#elif AB_ISA_LEVEL == 1
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i)));
  if (i + 4 <= n) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
    i += 4;
  }
#endif
  for (; i < n; ++i) d[i] = s[i];
}

inline void fill_run(uint32_t* d, int64_t n, uint32_t v) {
  int64_t i = 0;
#if AB_ISA_LEVEL >= 2
  const __m512i vv = _mm512_set1_epi32(static_cast<int>(v));
  for (; i + 16 <= n; i += 16) _mm512_storeu_si512(d + i, vv);
  if (i < n) _mm512_mask_storeu_epi32(d + i, static_cast<__mmask16>((1u << (n - i)) - 1), vv);
  return;
#elif AB_ISA_LEVEL == 1
  const __m256i vv = _mm256_set1_epi32(static_cast<int>(v));
  for (; i + 8 <= n; i += 8) _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i), vv);
#endif
  for (; i < n; ++i) d[i] = v;
}

#if AB_ISA_LEVEL >= 1
// dst[i * ds + j] = src[j * ss + i] for an 8x8 block (src rows are j, 8 consecutive i each).
inline void transpose8x8(const uint32_t* src, int64_t ss, uint32_t* dst, int64_t ds) {
  const float* s = reinterpret_cast<const float*>(src);
  float* d = reinterpret_cast<float*>(dst);
  const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ss), r2 = _mm256_loadu_ps(s + 2 * ss),
               r3 = _mm256_loadu_ps(s + 3 * ss), r4 = _mm256_loadu_ps(s + 4 * ss), r5 = _mm256_loadu_ps(s + 5 * ss),
               r6 = _mm256_loadu_ps(s + 6 * ss), r7 = _mm256_loadu_ps(s + 7 * ss);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
               t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
               u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)),
               u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2)),
               u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(d + ds, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(d + 2 * ds, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(d + 3 * ds, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(d + 4 * ds, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(d + 5 * ds, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(d + 6 * ds, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(d + 7 * ds, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

#if AB_ISA_LEVEL >= 2
// The 16x16 version on zmm registers: 4 rounds of two-source permutes.
inline void transpose16x16(const uint32_t* src, int64_t ss, uint32_t* dst, int64_t ds) {
  __m512i r[16], t[16];
  for (int j = 0; j < 16; ++j) r[j] = _mm512_loadu_si512(src + j * ss);
  for (int j = 0; j < 16; j += 2) {
    t[j] = _mm512_unpacklo_epi32(r[j], r[j + 1]);
    t[j + 1] = _mm512_unpackhi_epi32(r[j], r[j + 1]);
  }
  for (int j = 0; j < 16; j += 4) {
    r[j] = _mm512_unpacklo_epi64(t[j], t[j + 2]);
    r[j + 1] = _mm512_unpackhi_epi64(t[j], t[j + 2]);
    r[j + 2] = _mm512_unpacklo_epi64(t[j + 1], t[j + 3]);
    r[j + 3] = _mm512_unpackhi_epi64(t[j + 1], t[j + 3]);
  }
  // Now r[4q + p] holds, in each 128-bit lane L, column (4L + p') of rows 4q..4q+3 where the
  // in-lane order is p (0: cols 0, 1: col 1, 2: col 2, 3: col 3 of that lane's 4-column group).
  const __m512i lo = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0), hi = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
  for (int p = 0; p < 4; ++p) {
    // Combine row groups q = 0,1 and q = 2,3 lane-wise.
    t[p] = _mm512_permutex2var_epi64(r[p], lo, r[4 + p]);
    t[4 + p] = _mm512_permutex2var_epi64(r[p], hi, r[4 + p]);
    t[8 + p] = _mm512_permutex2var_epi64(r[8 + p], lo, r[12 + p]);
    t[12 + p] = _mm512_permutex2var_epi64(r[8 + p], hi, r[12 + p]);
  }
  for (int p = 0; p < 4; ++p) {
    // t[p] = lanes (R0.L0, R1.L0, R0.L1, R1.L1), t[4+p] = (R0.L2, R1.L2, R0.L3, R1.L3) with
    // R_q = rows 4q..4q+3; t[8+p], t[12+p] the same for R2, R3.
    const __m512i a0 = _mm512_shuffle_i64x2(t[p], t[8 + p], _MM_SHUFFLE(1, 0, 1, 0));       // column p
    const __m512i a1 = _mm512_shuffle_i64x2(t[p], t[8 + p], _MM_SHUFFLE(3, 2, 3, 2));       // column 4 + p
    const __m512i a2 = _mm512_shuffle_i64x2(t[4 + p], t[12 + p], _MM_SHUFFLE(1, 0, 1, 0));  // column 8 + p
    const __m512i a3 = _mm512_shuffle_i64x2(t[4 + p], t[12 + p], _MM_SHUFFLE(3, 2, 3, 2));  // column 12 + p
    _mm512_storeu_si512(dst + (0 + p) * ds, a0);
    _mm512_storeu_si512(dst + (4 + p) * ds, a1);
    _mm512_storeu_si512(dst + (8 + p) * ds, a2);
    _mm512_storeu_si512(dst + (12 + p) * ds, a3);
  }
}
#endif

// JavaScript's ToInt32 for a float32 value: truncation, NaN and ±Inf -> 0, modulo 2^32 beyond.
inline int32_t to_int32(float x) {
  const float ax = x < 0 ? -x : x;
  if (ax < 2147483648.f) return static_cast<int32_t>(x);
  if (!(ax < 9.2233720368547758e18f)) return 0;  // NaN, Inf, or a multiple of 2^40
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(static_cast<int64_t>(x))));
}

}  // namespace

// rows x cols: dst[r * ds + c] = src[r * ss + c] (ss may be 0: the same row repeated).
void copy_rows_u32(const uint32_t* src, int64_t ss, uint32_t* dst, int64_t ds, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) copy_run(dst + r * ds, src + r * ss, cols);
}

// The general case: dst[r * dr + c * dc] = src[r * sr + c * sc].
void copy_2d_u32(const uint32_t* src, int64_t sr, int64_t sc, uint32_t* dst, int64_t dr, int64_t dc, int64_t rows,
                 int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint32_t* s = src + r * sr;
    uint32_t* d = dst + r * dr;
    if (dc == 1 && sc == 0) {
      fill_run(d, cols, *s);
      continue;
    }
    int64_t c = 0;
#if AB_ISA_LEVEL >= 2
    if (dc == 1 && sc > 0 && sc <= 1 << 20) {
      const __m512i idx = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                             _mm512_set1_epi32(static_cast<int>(sc)));
      for (; c + 16 <= cols; c += 16) _mm512_storeu_si512(d + c, _mm512_i32gather_epi32(idx, s + c * sc, 4));
    }
#endif
    for (; c < cols; ++c) d[c * dc] = s[c * sc];
  }
}

// A x B block: dst[a * da + b] = src[a + b * sb], in 16x16 (avx512) or 8x8 (avx2, scalar)
// register blocks. The side with the longer stride is walked in groups of one block's rows, each
// group finished along the other side before the next: those rows are usually 4 KiB-aliased
// (image planes), so only a block's worth of them fits L1 at a time.
namespace {
#if AB_ISA_LEVEL >= 2
constexpr int64_t kBlk = 16;
inline void block(const uint32_t* s, int64_t sb, uint32_t* d, int64_t da) { transpose16x16(s, sb, d, da); }
#elif AB_ISA_LEVEL == 1
constexpr int64_t kBlk = 8;
inline void block(const uint32_t* s, int64_t sb, uint32_t* d, int64_t da) { transpose8x8(s, sb, d, da); }
#else
constexpr int64_t kBlk = 8;
inline void block(const uint32_t* s, int64_t sb, uint32_t* d, int64_t da) {
  for (int64_t a = 0; a < 8; ++a)
    for (int64_t b = 0; b < 8; ++b) d[a * da + b] = s[a + b * sb];
}
#endif
inline void edge(const uint32_t* src, int64_t sb, uint32_t* dst, int64_t da, int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
  for (int64_t a = a0; a < a1; ++a)
    for (int64_t b = b0; b < b1; ++b) dst[a * da + b] = src[a + b * sb];
}
}  // namespace

void transpose_u32(const uint32_t* src, int64_t sb, uint32_t* dst, int64_t da, int64_t A, int64_t B) {
  const int64_t Af = A - A % kBlk, Bf = B - B % kBlk;
  if (sb > da) {  // source rows (b) far apart: finish kBlk of them across all a first
    for (int64_t b0 = 0; b0 < Bf; b0 += kBlk) {
      for (int64_t a0 = 0; a0 < Af; a0 += kBlk) block(src + a0 + b0 * sb, sb, dst + a0 * da + b0, da);
      edge(src, sb, dst, da, Af, A, b0, b0 + kBlk);
    }
  } else {  // destination rows (a) far apart
    for (int64_t a0 = 0; a0 < Af; a0 += kBlk) {
      for (int64_t b0 = 0; b0 < Bf; b0 += kBlk) block(src + a0 + b0 * sb, sb, dst + a0 * da + b0, da);
      edge(src, sb, dst, da, a0, a0 + kBlk, Bf, B);
    }
    edge(src, sb, dst, da, Af, A, 0, Bf);
  }
  if (sb > da) edge(src, sb, dst, da, 0, A, Bf, B);
  else edge(src, sb, dst, da, Af, A, Bf, B);
}

void fill_u32(uint32_t* dst, int64_t n, uint32_t v) { fill_run(dst, n, v); }

// One padded output row: `before` values, n elements of src (null: n more values), `after` values.
void pad_row_u32(const uint32_t* src, uint32_t* dst, int64_t before, int64_t n, int64_t after, uint32_t v) {
  fill_run(dst, before, v);
  if (src) copy_run(dst + before, src, n);
  else fill_run(dst + before, n, v);
  fill_run(dst + before + n, after, v);
}

// One mirror-padded row of blocks of B elements: block j = src block m(j), m reflecting about the
// first / last block (offset 0: reflect, 1: symmetric, as tfjs-cpu). The middle is a plain copy.
void mirror_row_u32(const uint32_t* src, uint32_t* dst, int64_t before, int64_t n, int64_t after, int64_t offset,
                    int64_t B) {
  if (B == 1) {
    for (int64_t j = 0; j < before; ++j) dst[j] = src[before - j - offset];
    copy_run(dst + before, src, n);
    for (int64_t j = 0; j < after; ++j) dst[before + n + j] = src[n - 2 - j + offset];
    return;
  }
  for (int64_t j = 0; j < before; ++j) copy_run(dst + j * B, src + (before - j - offset) * B, B);
  copy_run(dst + before * B, src, n * B);
  for (int64_t j = 0; j < after; ++j) copy_run(dst + (before + n + j) * B, src + (n - 2 - j + offset) * B, B);
}

// Rows [r0, r1) of a concatenation: row r is srcs[0] row r, srcs[1] row r, ... (widths[i] each).
void concat_rows_u32(const uint32_t* const* srcs, const int64_t* widths, int64_t count, uint32_t* dst,
                     int64_t row_width, int64_t r0, int64_t r1) {
  if (row_width <= 16) {
    // Narrow rows (a concat of a few channels): input by input, a tight strided loop each.
    int64_t off = 0;
    for (int64_t i = 0; i < count; ++i) {
      const int64_t w = widths[i];
      const uint32_t* s = srcs[i] + r0 * w;
      uint32_t* d = dst + r0 * row_width + off;
      if (w == 1) {
        for (int64_t r = 0; r < r1 - r0; ++r) d[r * row_width] = s[r];
      } else {
        for (int64_t r = 0; r < r1 - r0; ++r)
          for (int64_t k = 0; k < w; ++k) d[r * row_width + k] = s[r * w + k];
      }
      off += w;
    }
    return;
  }
  for (int64_t r = r0; r < r1; ++r) {
    uint32_t* d = dst + r * row_width;
    for (int64_t i = 0; i < count; ++i) {
      const int64_t w = widths[i];
      copy_run(d, srcs[i] + r * w, w);
      d += w;
    }
  }
}

// dst[i * slice + s] = src[idx[i] * slice + s] for i < n.
void gather_rows_u32(const uint32_t* src, const int32_t* idx, int64_t n, int64_t slice, uint32_t* dst) {
  if (slice == 1) {
    int64_t i = 0;
#if AB_ISA_LEVEL >= 2
    for (; i + 16 <= n; i += 16)
      _mm512_storeu_si512(dst + i, _mm512_i32gather_epi32(_mm512_loadu_si512(idx + i), src, 4));
#endif
    for (; i < n; ++i) dst[i] = src[idx[i]];
    return;
  }
  for (int64_t i = 0; i < n; ++i) copy_run(dst + i * slice, src + static_cast<int64_t>(idx[i]) * slice, slice);
}

void cast_f32_i32(const float* x, int32_t* y, int64_t n) {
  int64_t i = 0;
#if AB_ISA_LEVEL >= 2
  const __m512i bad = _mm512_set1_epi32(INT32_MIN);
  for (; i + 16 <= n; i += 16) {
    const __m512i v = _mm512_cvttps_epi32(_mm512_loadu_ps(x + i));  // INT32_MIN where out of range or NaN
    _mm512_storeu_si512(y + i, v);
    if (_mm512_cmpeq_epi32_mask(v, bad))
      for (int64_t k = i; k < i + 16; ++k) y[k] = to_int32(x[k]);
  }
#elif AB_ISA_LEVEL == 1
  const __m256i bad = _mm256_set1_epi32(INT32_MIN);
  for (; i + 8 <= n; i += 8) {
    const __m256i v = _mm256_cvttps_epi32(_mm256_loadu_ps(x + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), v);
    if (_mm256_movemask_epi8(_mm256_cmpeq_epi32(v, bad)))
      for (int64_t k = i; k < i + 8; ++k) y[k] = to_int32(x[k]);
  }
#endif
  for (; i < n; ++i) y[i] = to_int32(x[i]);
}

void cast_f32_bool(const float* x, uint8_t* y, int64_t n) {
  int64_t i = 0;
#if AB_ISA_LEVEL >= 2
  const __m512 z = _mm512_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    const __mmask16 m = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), z, _CMP_NEQ_UQ);  // NaN != 0
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm_maskz_set1_epi8(m, 1));
  }
#elif AB_ISA_LEVEL == 1
  const __m256 z = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    const int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), z, _CMP_NEQ_UQ));
    for (int k = 0; k < 8; ++k) y[i + k] = static_cast<uint8_t>((m >> k) & 1);
  }
#endif
  for (; i < n; ++i) y[i] = x[i] != 0.f ? 1 : 0;  // NaN != 0 is true
}

void cast_i32_bool(const int32_t* x, uint8_t* y, int64_t n) {
  int64_t i = 0;
#if AB_ISA_LEVEL >= 2
  for (; i + 16 <= n; i += 16) {
    const __mmask16 m = _mm512_test_epi32_mask(_mm512_loadu_si512(x + i), _mm512_set1_epi32(-1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm_maskz_set1_epi8(m, 1));
  }
#endif
  for (; i < n; ++i) y[i] = x[i] != 0 ? 1 : 0;
}

} }  // namespace ab::AB_ISA_NS

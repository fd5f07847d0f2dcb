// SPDX-License-Identifier: Apache-2.0
// NHWC image resize, one output row at a time, bit-exact with tfjs-cpu: its bilinear arithmetic is
// JavaScript's (float64), so every lerp here is float64 too, each multiply and add rounded on its
// own (no FMA contraction: the pragma below), and the result rounded to float32 on store.
#pragma GCC optimize("fp-contract=off")
// GCC 12 warns about the deliberately undefined pass-through operands inside AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <cstdint>
#include <cstring>

#include "dispatch/dispatch.h"
#include "ops/movement.h"

#if AB_ISA_LEVEL >= 1
#include <immintrin.h>
#endif

namespace ab { namespace AB_ISA_NS {

namespace {

template <typename T>
inline double at(const T* p, int64_t i) { return static_cast<double>(p[i]); }

// out[c] = top + (bottom - top) * fy, top = tl + (tr - tl) * fx, bottom = bl + (br - bl) * fx.
inline float lerp2(double tl, double tr, double bl, double br, double fx, double fy) {
  const double top = tl + (tr - tl) * fx;
  const double bottom = bl + (br - bl) * fx;
  return static_cast<float>(top + (bottom - top) * fy);
}

#if AB_ISA_LEVEL >= 1
// Four channels as float64 (256-bit vectors: on Zen 4 the 512-bit float64 ops, split in two
// halves, measured slower here). The masked forms load and store the first k channels only.
inline __m256d load4(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
inline __m256d load4(const int32_t* p) { return _mm256_cvtepi32_pd(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline __m256d load4(const float* p, __m128i m) { return _mm256_cvtps_pd(_mm_maskload_ps(p, m)); }
inline __m256d load4(const int32_t* p, __m128i m) { return _mm256_cvtepi32_pd(_mm_maskload_epi32(p, m)); }
inline __m256d lerp(__m256d a, __m256d b, __m256d f) { return _mm256_add_pd(a, _mm256_mul_pd(_mm256_sub_pd(b, a), f)); }
inline __m128i first_lanes(int64_t k) { return _mm_cmpgt_epi32(_mm_set1_epi32(static_cast<int>(k)), _mm_set_epi32(3, 2, 1, 0)); }
#endif

// One output row (dst; h null) or one horizontally interpolated source row in float64 (h; dst
// null, row1 unused): per output pixel, its channels in vectors of four (a masked one for the rest).
template <typename T>
void bilinear_row(const T* row0, const T* row1, double fy, const BilinearCols& t, float* dst, double* h) {
  const int64_t C = t.channels;
#if AB_ISA_LEVEL >= 1
  const int64_t rem = C % 4, Cv = C - rem;
  const __m128i m = first_lanes(rem);
  const __m256d vfy = _mm256_set1_pd(fy);
  const int64_t row_n = t.out_w * C;
#endif
  for (int64_t ow = 0; ow < t.out_w; ++ow) {
    const T *tl = row0 + t.x0[ow], *tr = row0 + t.x1[ow], *bl = row1 + t.x0[ow], *br = row1 + t.x1[ow];
    const double f = t.fx[ow];
#if AB_ISA_LEVEL >= 1
    const __m256d vf = _mm256_set1_pd(f);
    if (h) {
      double* hh = h + ow * C;
      for (int64_t c = 0; c < Cv; c += 4) _mm256_storeu_pd(hh + c, lerp(load4(tl + c), load4(tr + c), vf));
      if (rem) {
        // A full store spills into the following pixels, which are written after this one: only
        // where it would pass the row's end is the (slow on AMD) masked store needed.
        const __m256d v = lerp(load4(tl + Cv, m), load4(tr + Cv, m), vf);
        if (ow * C + Cv + 4 <= row_n) _mm256_storeu_pd(hh + Cv, v);
        else _mm256_maskstore_pd(hh + Cv, _mm256_cvtepi32_epi64(m), v);
      }
    } else {
      float* d = dst + ow * C;
      for (int64_t c = 0; c < Cv; c += 4) {
        const __m256d top = lerp(load4(tl + c), load4(tr + c), vf), bottom = lerp(load4(bl + c), load4(br + c), vf);
        _mm_storeu_ps(d + c, _mm256_cvtpd_ps(lerp(top, bottom, vfy)));
      }
      if (rem) {
        const __m256d top = lerp(load4(tl + Cv, m), load4(tr + Cv, m), vf), bottom = lerp(load4(bl + Cv, m), load4(br + Cv, m), vf);
        const __m128 v = _mm256_cvtpd_ps(lerp(top, bottom, vfy));
        if (ow * C + Cv + 4 <= row_n) _mm_storeu_ps(d + Cv, v);
        else _mm_maskstore_ps(d + Cv, m, v);
      }
    }
#else
    for (int64_t c = 0; c < C; ++c) {
      if (h) h[ow * C + c] = at(tl, c) + (at(tr, c) - at(tl, c)) * f;
      else dst[ow * C + c] = lerp2(at(tl, c), at(tr, c), at(bl, c), at(br, c), f, fy);
    }
#endif
  }
}

}  // namespace

// One output row of a bilinear resize from the top and bottom source rows.
void resize_bilinear_row(const void* row0, const void* row1, bool is_i32, double fy, const BilinearCols& t, float* dst) {
  if (is_i32)
    bilinear_row(static_cast<const int32_t*>(row0), static_cast<const int32_t*>(row1), fy, t, dst, nullptr);
  else
    bilinear_row(static_cast<const float*>(row0), static_cast<const float*>(row1), fy, t, dst, nullptr);
}

// One source row interpolated horizontally, kept in float64 (h[ow * C + c] = top of the lerp):
// upsampling reuses it for several output rows.
void resize_bilinear_hrow(const void* row, bool is_i32, const BilinearCols& t, double* h) {
  if (is_i32) bilinear_row(static_cast<const int32_t*>(row), static_cast<const int32_t*>(row), 0.0, t, nullptr, h);
  else bilinear_row(static_cast<const float*>(row), static_cast<const float*>(row), 0.0, t, nullptr, h);
}

// dst[i] = h0[i] + (h1[i] - h0[i]) * fy, rounded to float32: the vertical lerp of two such rows.
void resize_bilinear_vrow(const double* h0, const double* h1, double fy, int64_t n, float* dst) {
  int64_t i = 0;
#if AB_ISA_LEVEL >= 1
  const __m256d vfy = _mm256_set1_pd(fy);
  for (; i + 4 <= n; i += 4)
    _mm_storeu_ps(dst + i, _mm256_cvtpd_ps(lerp(_mm256_loadu_pd(h0 + i), _mm256_loadu_pd(h1 + i), vfy)));
#endif
  for (; i < n; ++i) dst[i] = static_cast<float>(h0[i] + (h1[i] - h0[i]) * fy);
}

// One output row of a nearest-neighbour resize: xs[ow] is the element offset of the source pixel.
// float32 sources are copied bitwise; int32 ones converted to float32.
void resize_nearest_row(const void* row, bool is_i32, const int64_t* xs, int64_t out_w, int64_t C, float* dst) {
  if (is_i32) {
    const int32_t* s = static_cast<const int32_t*>(row);
    for (int64_t ow = 0; ow < out_w; ++ow) {
      const int32_t* p = s + xs[ow];
      float* d = dst + ow * C;
      int64_t c = 0;
#if AB_ISA_LEVEL >= 2
      for (; c + 16 <= C; c += 16) _mm512_storeu_ps(d + c, _mm512_cvtepi32_ps(_mm512_loadu_si512(p + c)));
#elif AB_ISA_LEVEL == 1
      for (; c + 8 <= C; c += 8)
        _mm256_storeu_ps(d + c, _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + c))));
#endif
      for (; c < C; ++c) d[c] = static_cast<float>(p[c]);
    }
    return;
  }
  const uint32_t* s = static_cast<const uint32_t*>(row);
  uint32_t* d = reinterpret_cast<uint32_t*>(dst);
  if (C == 1) {
    for (int64_t ow = 0; ow < out_w; ++ow) d[ow] = s[xs[ow]];
    return;
  }
  for (int64_t ow = 0; ow < out_w; ++ow) {
    if (C >= 64) {
      std::memcpy(d + ow * C, s + xs[ow], static_cast<size_t>(C) * 4);
    } else {
      const uint32_t* p = s + xs[ow];
      uint32_t* q = d + ow * C;
      int64_t c = 0;
#if AB_ISA_LEVEL >= 2
      for (; c + 16 <= C; c += 16) _mm512_storeu_si512(q + c, _mm512_loadu_si512(p + c));
      if (c < C) {
        const __mmask16 m = static_cast<__mmask16>((1u << (C - c)) - 1);
        _mm512_mask_storeu_epi32(q + c, m, _mm512_maskz_loadu_epi32(m, p + c));
        c = C;
      }
#elif AB_ISA_LEVEL == 1
      for (; c + 8 <= C; c += 8)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + c), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + c)));
#endif
      for (; c < C; ++c) q[c] = p[c];
    }
  }
}

} }  // namespace ab::AB_ISA_NS

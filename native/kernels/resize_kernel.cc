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

#if AB_ISA_LEVEL >= 2
inline __m512d load8(const float* p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
inline __m512d load8(const int32_t* p) { return _mm512_cvtepi32_pd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
inline __m512d lerp(__m512d a, __m512d b, __m512d f) { return _mm512_add_pd(a, _mm512_mul_pd(_mm512_sub_pd(b, a), f)); }
#elif AB_ISA_LEVEL == 1
inline __m256d load4(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
inline __m256d load4(const int32_t* p) { return _mm256_cvtepi32_pd(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline __m256d lerp(__m256d a, __m256d b, __m256d f) { return _mm256_add_pd(a, _mm256_mul_pd(_mm256_sub_pd(b, a), f)); }
#endif

template <typename T>
void bilinear_row(const T* row0, const T* row1, double fy, const int64_t* x0, const int64_t* x1, const double* fx,
                  int64_t out_w, int64_t C, float* dst) {
  for (int64_t ow = 0; ow < out_w; ++ow) {
    const T *tl = row0 + x0[ow], *tr = row0 + x1[ow], *bl = row1 + x0[ow], *br = row1 + x1[ow];
    const double f = fx[ow];
    float* d = dst + ow * C;
    int64_t c = 0;
#if AB_ISA_LEVEL >= 2
    const __m512d vf = _mm512_set1_pd(f), vfy = _mm512_set1_pd(fy);
    for (; c + 8 <= C; c += 8) {
      const __m512d top = lerp(load8(tl + c), load8(tr + c), vf);
      const __m512d bottom = lerp(load8(bl + c), load8(br + c), vf);
      _mm256_storeu_ps(d + c, _mm512_cvtpd_ps(lerp(top, bottom, vfy)));
    }
#elif AB_ISA_LEVEL == 1
    const __m256d vf = _mm256_set1_pd(f), vfy = _mm256_set1_pd(fy);
    for (; c + 4 <= C; c += 4) {
      const __m256d top = lerp(load4(tl + c), load4(tr + c), vf);
      const __m256d bottom = lerp(load4(bl + c), load4(br + c), vf);
      _mm_storeu_ps(d + c, _mm256_cvtpd_ps(lerp(top, bottom, vfy)));
    }
#endif
    for (; c < C; ++c) d[c] = lerp2(at(tl, c), at(tr, c), at(bl, c), at(br, c), f, fy);
  }
}

}  // namespace

// One output row of a bilinear resize: x0/x1 are the element offsets (column * C) of the left and
// right source pixels per output column, fx their weights; row0/row1 the top and bottom source rows.
void resize_bilinear_row(const void* row0, const void* row1, bool is_i32, double fy, const int64_t* x0,
                         const int64_t* x1, const double* fx, int64_t out_w, int64_t C, float* dst) {
  if (is_i32)
    bilinear_row(static_cast<const int32_t*>(row0), static_cast<const int32_t*>(row1), fy, x0, x1, fx, out_w, C, dst);
  else
    bilinear_row(static_cast<const float*>(row0), static_cast<const float*>(row1), fy, x0, x1, fx, out_w, C, dst);
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

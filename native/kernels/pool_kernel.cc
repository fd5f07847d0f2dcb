// SPDX-License-Identifier: Apache-2.0
// Max / average pooling, NHWC: one output row at a time, channels in registers across the window.
// Window bounds follow tfjs-cpu: rows/cols from max(0, corner) to min(in, corner + effective
// filter), stepping by the dilation.
#include <cstdint>

#include "dispatch/dispatch.h"
#include "ops/pool.h"

#if AB_ISA_LEVEL >= 1
#include <immintrin.h>
#endif

namespace ab { namespace AB_ISA_NS {

void pool_row_f32(const float* x, float* y, const PoolParams& p, int64_t b, int64_t oh, int type) {
  const int64_t C = p.channels;
  const int64_t eff_h = (p.f_h - 1) * p.dil_h + 1, eff_w = (p.f_w - 1) * p.dil_w + 1;
  const int64_t r_corner = oh * p.stride_h - p.pad_top;
  const int64_t r_min = r_corner > 0 ? r_corner : 0;
  const int64_t r_max = r_corner + eff_h < p.in_h ? r_corner + eff_h : p.in_h;
  const bool is_max = type == kPoolMax;
  for (int64_t ow = 0; ow < p.out_w; ++ow) {
    const int64_t c_corner = ow * p.stride_w - p.pad_left;
    const int64_t c_min = c_corner > 0 ? c_corner : 0;
    const int64_t c_max = c_corner + eff_w < p.in_w ? c_corner + eff_w : p.in_w;
    int64_t count = 0;
    for (int64_t r = r_min; r < r_max; r += p.dil_h)
      for (int64_t c = c_min; c < c_max; c += p.dil_w) ++count;
    const float inv = 1.f / static_cast<float>(count);  // count 0: avg is 0 * inf = NaN, as 0 / 0
    float* out = y + ((b * p.out_h + oh) * p.out_w + ow) * C;
    int64_t ch = 0;
#if AB_ISA_LEVEL >= 2
    for (; ch < C; ch += 16) {
      const __mmask16 m = C - ch >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (C - ch)) - 1);
      __m512 acc = _mm512_set1_ps(is_max ? -__builtin_inff() : 0.f);
      for (int64_t r = r_min; r < r_max; r += p.dil_h)
        for (int64_t c = c_min; c < c_max; c += p.dil_w) {
          const __m512 v = _mm512_maskz_loadu_ps(m, x + ((b * p.in_h + r) * p.in_w + c) * C + ch);
          acc = is_max ? _mm512_max_ps(v, acc) : _mm512_add_ps(acc, v);  // max_ps(v, acc): NaN v keeps acc
        }
      if (!is_max) acc = count ? _mm512_mul_ps(acc, _mm512_set1_ps(inv)) : _mm512_set1_ps(__builtin_nanf(""));
      _mm512_mask_storeu_ps(out + ch, m, acc);
    }
#elif AB_ISA_LEVEL == 1
    for (; ch + 8 <= C; ch += 8) {
      __m256 acc = _mm256_set1_ps(is_max ? -__builtin_inff() : 0.f);
      for (int64_t r = r_min; r < r_max; r += p.dil_h)
        for (int64_t c = c_min; c < c_max; c += p.dil_w) {
          const __m256 v = _mm256_loadu_ps(x + ((b * p.in_h + r) * p.in_w + c) * C + ch);
          acc = is_max ? _mm256_max_ps(v, acc) : _mm256_add_ps(acc, v);
        }
      if (!is_max) acc = count ? _mm256_mul_ps(acc, _mm256_set1_ps(inv)) : _mm256_set1_ps(__builtin_nanf(""));
      _mm256_storeu_ps(out + ch, acc);
    }
#endif
    for (; ch < C; ++ch) {
      float acc = is_max ? -__builtin_inff() : 0.f;
      for (int64_t r = r_min; r < r_max; r += p.dil_h)
        for (int64_t c = c_min; c < c_max; c += p.dil_w) {
          const float v = x[((b * p.in_h + r) * p.in_w + c) * C + ch];
          if (is_max) acc = v > acc ? v : acc;
          else acc += v;
        }
      out[ch] = is_max ? acc : (count ? acc * inv : __builtin_nanf(""));
    }
  }
}

} }  // namespace ab::AB_ISA_NS

// SPDX-License-Identifier: Apache-2.0
// Depthwise 2-D convolution, NHWC, f32: one output row (fixed batch b and output row oh) at a time.
// Channels are contiguous in NHWC, so the inner loop runs over channels and the compiler
// vectorizes it with the level's flags (FMA contraction on at avx2/avx512); __restrict tells it
// the output row does not alias the input or the filter (the N-API layer checks that).
#include <cstdint>

#include "dispatch/dispatch.h"
#include "kernels/activation.h"
#include "ops/depthwise.h"

#if AB_ISA_LEVEL >= 1
#include <immintrin.h>
#endif

namespace ab { namespace AB_ISA_NS {
namespace {

#if AB_ISA_LEVEL >= 2
// Four output positions whose taps all lie inside the row's width: each filter vector is loaded
// once for the four, and the four sums stay in registers.
void block4_mult1(const float* x, const float* w, float* out, const DepthwiseParams& p, int64_t b, int64_t oh,
                  int64_t ow, const float* bias) {
  const int64_t C = p.in_c;
  for (int64_t c0 = 0; c0 < C; c0 += 16) {
    const __mmask16 m = C - c0 >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (C - c0)) - 1);
    const __m512 init = bias ? _mm512_maskz_loadu_ps(m, bias + c0) : _mm512_setzero_ps();
    __m512 a0 = init, a1 = init, a2 = init, a3 = init;
    for (int64_t fh = 0; fh < p.f_h; ++fh) {
      const int64_t ih = oh * p.stride_h - p.pad_top + fh * p.dil_h;
      if (ih < 0 || ih >= p.in_h) continue;
      const float* xr = x + (b * p.in_h + ih) * p.in_w * C + c0;
      const float* wr = w + fh * p.f_w * C + c0;
      const int64_t step = p.stride_w * C;
      for (int64_t fw = 0; fw < p.f_w; ++fw) {
        const __m512 wv = _mm512_maskz_loadu_ps(m, wr + fw * C);
        const float* xp = xr + (ow * p.stride_w - p.pad_left + fw * p.dil_w) * C;
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp), wv, a0);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp + step), wv, a1);
        a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp + 2 * step), wv, a2);
        a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp + 3 * step), wv, a3);
      }
    }
    _mm512_mask_storeu_ps(out + c0, m, a0);
    _mm512_mask_storeu_ps(out + C + c0, m, a1);
    _mm512_mask_storeu_ps(out + 2 * C + c0, m, a2);
    _mm512_mask_storeu_ps(out + 3 * C + c0, m, a3);
  }
}

// Eight output positions, all taps inside the row, filter width FW and stride S (dilation 1): per
// filter row, the 7*S + FW input vectors the eight need are loaded once and each is used for
// every tap that reads it (FW = 3, S = 1: 10 loads and 3 filter loads feed 24 multiply-adds, where
// one position at a time would load 48).
template <int FW, int S>
void block8_mult1(const float* x, const float* w, float* out, const DepthwiseParams& p, int64_t b, int64_t oh,
                  int64_t ow, const float* bias) {
  constexpr int NX = 7 * S + FW;
  const int64_t C = p.in_c;
  for (int64_t c0 = 0; c0 < C; c0 += 16) {
    const __mmask16 m = C - c0 >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (C - c0)) - 1);
    const __m512 init = bias ? _mm512_maskz_loadu_ps(m, bias + c0) : _mm512_setzero_ps();
    __m512 acc[8];
    for (int j = 0; j < 8; ++j) acc[j] = init;
    for (int64_t fh = 0; fh < p.f_h; ++fh) {
      const int64_t ih = oh * p.stride_h - p.pad_top + fh * p.dil_h;
      if (ih < 0 || ih >= p.in_h) continue;
      const float* xp = x + ((b * p.in_h + ih) * p.in_w + ow * S - p.pad_left) * C + c0;
      const float* wr = w + fh * FW * C + c0;
      __m512 xv[NX];
      for (int i = 0; i < NX; ++i) xv[i] = _mm512_maskz_loadu_ps(m, xp + i * C);
      for (int fw = 0; fw < FW; ++fw) {
        const __m512 wv = _mm512_maskz_loadu_ps(m, wr + fw * C);
        for (int j = 0; j < 8; ++j) acc[j] = _mm512_fmadd_ps(xv[j * S + fw], wv, acc[j]);
      }
    }
    for (int j = 0; j < 8; ++j) _mm512_mask_storeu_ps(out + j * C + c0, m, acc[j]);
  }
}

using Block8Fn = void (*)(const float*, const float*, float*, const DepthwiseParams&, int64_t, int64_t, int64_t,
                          const float*);

Block8Fn pick_block8(const DepthwiseParams& p) {
  if (p.dil_w != 1) return nullptr;
  if (p.f_w == 3 && p.stride_w == 1) return block8_mult1<3, 1>;
  if (p.f_w == 3 && p.stride_w == 2) return block8_mult1<3, 2>;
  if (p.f_w == 5 && p.stride_w == 1) return block8_mult1<5, 1>;
  if (p.f_w == 5 && p.stride_w == 2) return block8_mult1<5, 2>;
  return nullptr;
}

// Channel multiplier 1: 16 channels at a time, the sum over the taps kept in a register.
void row_mult1(const float* x, const float* w, float* y, const DepthwiseParams& p, int64_t b, int64_t oh,
               const float* bias) {
  const int64_t C = p.in_c;
  const int64_t span = (p.f_w - 1) * p.dil_w;  // last tap's offset from the first
  const Block8Fn block8 = pick_block8(p);
  for (int64_t ow = 0; ow < p.out_w; ++ow) {
    if (block8 && ow + 8 <= p.out_w && ow * p.stride_w - p.pad_left >= 0 &&
        (ow + 7) * p.stride_w - p.pad_left + span < p.in_w) {
      block8(x, w, y + ((b * p.out_h + oh) * p.out_w + ow) * C, p, b, oh, ow, bias);
      ow += 7;
      continue;
    }
    if (ow + 4 <= p.out_w && ow * p.stride_w - p.pad_left >= 0 &&
        (ow + 3) * p.stride_w - p.pad_left + span < p.in_w) {
      block4_mult1(x, w, y + ((b * p.out_h + oh) * p.out_w + ow) * C, p, b, oh, ow, bias);
      ow += 3;
      continue;
    }
    float* out = y + ((b * p.out_h + oh) * p.out_w + ow) * C;
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
      const __mmask16 m = C - c0 >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (C - c0)) - 1);
      __m512 acc = bias ? _mm512_maskz_loadu_ps(m, bias + c0) : _mm512_setzero_ps();
      for (int64_t fh = 0; fh < p.f_h; ++fh) {
        const int64_t ih = oh * p.stride_h - p.pad_top + fh * p.dil_h;
        if (ih < 0 || ih >= p.in_h) continue;
        const float* xr = x + (b * p.in_h + ih) * p.in_w * C + c0;
        const float* wr = w + fh * p.f_w * C + c0;
        for (int64_t fw = 0; fw < p.f_w; ++fw) {
          const int64_t iw = ow * p.stride_w - p.pad_left + fw * p.dil_w;
          if (iw < 0 || iw >= p.in_w) continue;
          acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xr + iw * C), _mm512_maskz_loadu_ps(m, wr + fw * C), acc);
        }
      }
      _mm512_mask_storeu_ps(out + c0, m, acc);
    }
  }
}
#elif AB_ISA_LEVEL == 1
// Channel multiplier 1: 8 channels at a time in a register; the last < 8 channels in scalar code.
void row_mult1(const float* x, const float* w, float* y, const DepthwiseParams& p, int64_t b, int64_t oh,
               const float* bias) {
  const int64_t C = p.in_c, C8 = C / 8 * 8;
  for (int64_t ow = 0; ow < p.out_w; ++ow) {
    float* out = y + ((b * p.out_h + oh) * p.out_w + ow) * C;
    for (int64_t c0 = 0; c0 < C8; c0 += 8) {
      __m256 acc = bias ? _mm256_loadu_ps(bias + c0) : _mm256_setzero_ps();
      for (int64_t fh = 0; fh < p.f_h; ++fh) {
        const int64_t ih = oh * p.stride_h - p.pad_top + fh * p.dil_h;
        if (ih < 0 || ih >= p.in_h) continue;
        const float* xr = x + (b * p.in_h + ih) * p.in_w * C + c0;
        const float* wr = w + fh * p.f_w * C + c0;
        for (int64_t fw = 0; fw < p.f_w; ++fw) {
          const int64_t iw = ow * p.stride_w - p.pad_left + fw * p.dil_w;
          if (iw < 0 || iw >= p.in_w) continue;
          acc = _mm256_fmadd_ps(_mm256_loadu_ps(xr + iw * C), _mm256_loadu_ps(wr + fw * C), acc);
        }
      }
      _mm256_storeu_ps(out + c0, acc);
    }
    for (int64_t c = C8; c < C; ++c) {
      float acc = bias ? bias[c] : 0.f;
      for (int64_t fh = 0; fh < p.f_h; ++fh) {
        const int64_t ih = oh * p.stride_h - p.pad_top + fh * p.dil_h;
        if (ih < 0 || ih >= p.in_h) continue;
        for (int64_t fw = 0; fw < p.f_w; ++fw) {
          const int64_t iw = ow * p.stride_w - p.pad_left + fw * p.dil_w;
          if (iw < 0 || iw >= p.in_w) continue;
          acc = std::fma(x[((b * p.in_h + ih) * p.in_w + iw) * C + c], w[(fh * p.f_w + fw) * C + c], acc);
        }
      }
      out[c] = acc;
    }
  }
}
#endif

}  // namespace

void depthwise_row_f32(const float* x, const float* w, float* y, const DepthwiseParams& p, int64_t b, int64_t oh,
                       const float* bias, const float* slope, int act, float alpha) {
  const int64_t C = p.in_c, Q = p.mult, OC = C * Q;
#if AB_ISA_LEVEL >= 1
  if (Q == 1) {
    row_mult1(x, w, y, p, b, oh, bias);
    if (act == kActPrelu) {  // the slope is per channel: one call per output position
      for (int64_t ow = 0; ow < p.out_w; ++ow)
        activation_f32_inplace(y + ((b * p.out_h + oh) * p.out_w + ow) * OC, OC, act, alpha, slope);
    } else if (act != kActLinear) {
      activation_f32_inplace(y + (b * p.out_h + oh) * p.out_w * OC, p.out_w * OC, act, alpha, nullptr);
    }
    return;
  }
#endif
  for (int64_t ow = 0; ow < p.out_w; ++ow) {
    float* __restrict out = y + ((b * p.out_h + oh) * p.out_w + ow) * OC;
    for (int64_t o = 0; o < OC; ++o) out[o] = bias ? bias[o] : 0.f;
    for (int64_t fh = 0; fh < p.f_h; ++fh) {
      const int64_t ih = oh * p.stride_h - p.pad_top + fh * p.dil_h;
      if (ih < 0 || ih >= p.in_h) continue;
      for (int64_t fw = 0; fw < p.f_w; ++fw) {
        const int64_t iw = ow * p.stride_w - p.pad_left + fw * p.dil_w;
        if (iw < 0 || iw >= p.in_w) continue;
        const float* __restrict xv = x + ((b * p.in_h + ih) * p.in_w + iw) * C;
        const float* __restrict wv = w + (fh * p.f_w + fw) * OC;
        if (Q == 1) {
          for (int64_t c = 0; c < C; ++c) out[c] += xv[c] * wv[c];
        } else {
          for (int64_t c = 0; c < C; ++c)
            for (int64_t q = 0; q < Q; ++q) out[c * Q + q] += xv[c] * wv[c * Q + q];
        }
      }
    }
    if (act != kActLinear) activation_f32_inplace(out, OC, act, alpha, slope);
  }
}

} }  // namespace ab::AB_ISA_NS

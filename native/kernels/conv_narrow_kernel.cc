// SPDX-License-Identifier: Apache-2.0
// Convolutions to few output channels (out_c <= 4: segmentation masks, heatmap heads, a face
// mesh's last layer), f32 NHWC, dilation 1 along the width. The GEMM and direct paths put output
// channels in vector lanes, so a conv to one channel used 1 lane of 16 (blazepose's 3x3 8->1 head
// at 256x256: 2.3 GFLOP/s, a third of the model's time). Here each output is a dot product: for a
// filter row ky the taps' inputs x[ih, iw0 .. iw0 + f_w - 1, :] are one contiguous run of
// f_w * in_c floats, as is the filter row (transposed per output channel by the driver), so an
// output is f_h dots of f_w * in_c, 16 lanes at a time. 16 outputs are reduced together (a
// transpose-add tree), then the epilogue runs over the finished row (epilogue_ref).
// Taps outside the input are skipped: their lanes are masked off in both loads (x and the
// filter), so an Inf or NaN weight that meets only padding adds nothing, as tfjs-cpu does.
// The sum's order (16 lane partials in run order, then the tree) is this path's own: results
// agree with the GEMM path within float32 rounding, not bit for bit.
#include <cstdint>

#include "dispatch/dispatch.h"
#include "gemm/gemm.h"
#include "kernels/gemm_epilogue.h"
#include "ops/conv2d.h"

namespace ab { namespace AB_ISA_NS {
namespace {

#if AB_ISA_LEVEL >= 2
// Lane j of the result = the sum of z[j]'s 16 lanes.
AB_INLINE __m512 reduce16(const __m512 (&z)[16]) {
  __m512 t[8], u[4];
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j)  // 128-bit chunks: [z_j 0+2, z_j 1+3, z_j+8 0+2, z_j+8 1+3]
    t[j] = _mm512_add_ps(_mm512_shuffle_f32x4(z[j], z[j + 8], 0x44), _mm512_shuffle_f32x4(z[j], z[j + 8], 0xEE));
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j)  // chunks: z_j, z_j+8, z_j+4, z_j+12 (4 partial lanes each)
    u[j] = _mm512_add_ps(_mm512_shuffle_f32x4(t[j], t[j + 4], 0x88), _mm512_shuffle_f32x4(t[j], t[j + 4], 0xDD));
  const __m512 w01 = _mm512_add_ps(_mm512_unpacklo_ps(u[0], u[1]), _mm512_unpackhi_ps(u[0], u[1]));
  const __m512 w23 = _mm512_add_ps(_mm512_unpacklo_ps(u[2], u[3]), _mm512_unpackhi_ps(u[2], u[3]));
  const __m512 s = _mm512_add_ps(_mm512_shuffle_ps(w01, w23, 0x44), _mm512_shuffle_ps(w01, w23, 0xEE));
  return _mm512_shuffle_f32x4(s, s, 0xD8);  // chunks 0, 2, 1, 3: lanes in z order
}

// Lanes [lo, hi) of the 16 from e0 on.
AB_INLINE __mmask16 range_mask(int64_t e0, int64_t lo, int64_t hi) {
  auto below = [](int64_t n) -> uint32_t { return n <= 0 ? 0u : n >= 16 ? 0xFFFFu : (1u << n) - 1u; };
  return static_cast<__mmask16>(below(hi - e0) & ~below(lo - e0));
}

// Q positions (st floats apart in x) with every tap inside the row: z[q] = the lane partials of
// their dot products, filter rows ky_of[k] of this output channel's wt_o ([f_h][L]).
template <int Q>
AB_INLINE void inner_dots(const float* const* xr, const int64_t* ky_of, int nk, const float* wt_o, int64_t L,
                          int64_t st, int64_t off, __mmask16 tail, __m512* z) {
  __m512 a[Q];
#pragma GCC unroll 4
  for (int q = 0; q < Q; ++q) a[q] = _mm512_setzero_ps();
  for (int k = 0; k < nk; ++k) {
    const float* xs = xr[k] + off;
    const float* ws = wt_o + ky_of[k] * L;
    int64_t e0 = 0;
    for (; e0 + 16 <= L; e0 += 16) {
      const __m512 wv = _mm512_loadu_ps(ws + e0);
#pragma GCC unroll 4
      for (int q = 0; q < Q; ++q) a[q] = _mm512_fmadd_ps(_mm512_loadu_ps(xs + q * st + e0), wv, a[q]);
    }
    if (e0 < L) {
      const __m512 wv = _mm512_maskz_loadu_ps(tail, ws + e0);
#pragma GCC unroll 4
      for (int q = 0; q < Q; ++q) a[q] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, xs + q * st + e0), wv, a[q]);
    }
  }
#pragma GCC unroll 4
  for (int q = 0; q < Q; ++q) z[q] = a[q];
}

// The epilogue over a finished row of OW positions x N channels (contiguous, ldc N). Bias (one a
// channel) and a contiguous addend are added 16 lanes at a time and the activation runs once over
// the row (per position it would be one call per 1-4 values); prelu, per-position bias and
// strided addends take epilogue_ref. The same operations in the same order either way.
void row_epilogue(float* yrow, int64_t OW, int64_t N, const ::ab::gemm::Epilogue* ep, int64_t m0) {
  const bool channel_bias = ep->bias_mode == kOperandRow || ep->bias_mode == kOperandScalar;
  const bool vector = ep->act != kActPrelu && (ep->bias_mode == kOperandNone || (channel_bias && 16 % N == 0)) &&
                      (ep->addend == nullptr || ep->addend_ld == N);
  if (!vector) {
    epilogue_ref(yrow, N, OW, N, ep, m0, 0);
    return;
  }
  const int64_t n = OW * N;
  if (channel_bias) {  // one bias per channel repeats every N elements: a 16-lane pattern
    alignas(64) float pat[16];
    for (int l = 0; l < 16; ++l) pat[l] = ep->bias_mode == kOperandScalar ? ep->bias[0] : ep->bias[l % N];
    const __m512 bv = _mm512_load_ps(pat);
    for (int64_t e0 = 0; e0 < n; e0 += 16) {
      const __mmask16 m = range_mask(e0, 0, n);
      _mm512_mask_storeu_ps(yrow + e0, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, yrow + e0), bv));
    }
  }
  if (ep->addend) {
    const float* ad = ep->addend + m0 * N;
    for (int64_t e0 = 0; e0 < n; e0 += 16) {
      const __mmask16 m = range_mask(e0, 0, n);
      _mm512_mask_storeu_ps(yrow + e0, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, yrow + e0), _mm512_maskz_loadu_ps(m, ad + e0)));
    }
  }
  if (ep->act != kActLinear) activation_f32_inplace(yrow, n, ep->act, ep->alpha, nullptr);
}
#endif

}  // namespace

// Output rows [r0, r1) (r = b * out_h + oh) of the convolution: y (ldc out_c) gets the raw sums,
// then the epilogue (ep may be null). wt: [out_c][f_h][f_w * in_c]. Returns 0 at levels without a
// body (the caller takes another path; a call with r0 == r1 is the probe).
int conv_narrow_rows_f32(const float* x, const float* wt, const Conv2DParams& p, int64_t r0, int64_t r1, float* y,
                         const ::ab::gemm::Epilogue* ep) {
#if AB_ISA_LEVEL >= 2
  const int64_t C = p.in_c, N = p.out_c, L = p.f_w * C, S = p.stride_w, OW = p.out_w;
  constexpr int kMaxRows = 64;
  if (p.f_h > kMaxRows) return 0;
  const __mmask16 tail = range_mask(L / 16 * 16, 0, L);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / p.out_h, oh = r % p.out_h;
    const float* xr[kMaxRows];
    int64_t ky_of[kMaxRows];
    int nk = 0;
    for (int64_t ky = 0; ky < p.f_h; ++ky) {
      const int64_t ih = oh * p.stride_h - p.pad_top + ky * p.dil_h;
      if (ih < 0 || ih >= p.in_h) continue;
      xr[nk] = x + (b * p.in_h + ih) * p.in_w * C;
      ky_of[nk++] = ky;
    }
    float* yrow = y + r * OW * N;
    for (int64_t ow0 = 0; ow0 < OW; ow0 += 16) {
      const int nj = OW - ow0 < 16 ? static_cast<int>(OW - ow0) : 16;
      for (int64_t o = 0; o < N; ++o) {
        __m512 z[16];
#pragma GCC unroll 16
        for (int j = 0; j < 16; ++j) z[j] = _mm512_setzero_ps();
        for (int j = 0; j < nj; ++j) {
          const int64_t iw0 = (ow0 + j) * S - p.pad_left;
          // Four positions with every tap inside the row share the filter loads; then one such.
          if (j + 4 <= nj && iw0 >= 0 && iw0 + 3 * S + p.f_w <= p.in_w) {
            inner_dots<4>(xr, ky_of, nk, wt + o * p.f_h * L, L, S * C, iw0 * C, tail, z + j);
            j += 3;
            continue;
          }
          if (iw0 >= 0 && iw0 + p.f_w <= p.in_w) {
            inner_dots<1>(xr, ky_of, nk, wt + o * p.f_h * L, L, S * C, iw0 * C, tail, z + j);
            continue;
          }
          // A border position: only the run's elements inside the row (taps kx with
          // 0 <= iw0 + kx < in_w), under per-vector masks.
          const int64_t lo = iw0 < 0 ? -iw0 * C : 0;
          const int64_t hi = p.in_w - iw0 < p.f_w ? (p.in_w - iw0) * C : L;
          if (hi <= lo) continue;
          __m512 acc = _mm512_setzero_ps();
          for (int k = 0; k < nk; ++k) {
            const float* xs = xr[k] + iw0 * C;  // masked lanes are not read (may lie before the row)
            const float* ws = wt + (o * p.f_h + ky_of[k]) * L;
            for (int64_t e0 = 0; e0 < L; e0 += 16) {
              const __mmask16 m = range_mask(e0, lo, hi);
              if (m == 0) continue;
              acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xs + e0), _mm512_maskz_loadu_ps(m, ws + e0), acc);
            }
          }
          z[j] = acc;
        }
        const __m512 s = reduce16(z);
        if (N == 1) {
          _mm512_mask_storeu_ps(yrow + ow0, static_cast<__mmask16>((1u << nj) - 1u), s);
        } else {
          alignas(64) float v[16];
          _mm512_store_ps(v, s);
          for (int j = 0; j < nj; ++j) yrow[(ow0 + j) * N + o] = v[j];
        }
      }
    }
    if (ep != nullptr) row_epilogue(yrow, OW, N, ep, r * OW);
  }
  return 1;
#else
  (void)x, (void)wt, (void)p, (void)r0, (void)r1, (void)y, (void)ep;
  return 0;
#endif
}

} }  // namespace ab::AB_ISA_NS

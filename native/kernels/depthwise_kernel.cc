// SPDX-License-Identifier: Apache-2.0
// Depthwise 2-D convolution, NHWC, f32: one or two output rows (batch b, rows oh, oh + 1) at a
// time, over a slice [c0, c1) of the channels, written to `out[r] + ow * ostride` (the output
// rows in y, or the in-place driver's pending rows: native/ops/depthwise.cc).
//
// Every output element is the same chain at every level, path and split: acc = bias (or +0), then
// acc = fma(x, w, acc) over the taps inside the input in (fh, fw) order (the scalar level: acc +=
// x * w), then the activation. So tiles, row pairs, channel slices and thread counts give the same
// bits, and in place the same bits as out of place.
//
// avx512, channel multiplier 1: tiles of 8 output positions x 16 channels (x 1 or 2 output rows),
// accumulators in registers across all taps. Interior tiles (all taps inside the row, dil_w 1,
// f_w 3 or 5, stride_w 1 or 2) load each input vector once per input row and use it for every
// tap and output row that reads it (3x3 stride 1, two rows: 4 x 10 loads feed 144 FMAs); border
// and other tiles take the taps one by one under per-position masks (a tap outside the input is
// skipped, not multiplied by a zero: tfjs-cpu skips it, which matters for Inf/NaN weights and -0).
// Bias, relu/relu6/leakyrelu/prelu are applied in registers on the store; elu and sigmoid run
// over the finished row. avx2: the same tiles at 4 positions x 8 channels (full channel blocks;
// the last < 8 channels and other geometries position by position), activations over the row.
// Input vectors are loaded column by column: each feeds its taps and dies (few registers).
#include <cstdint>
#include <cmath>

#include "dispatch/dispatch.h"
#include "kernels/activation.h"
#include "ops/depthwise.h"

#if AB_ISA_LEVEL >= 1
#include <immintrin.h>
#endif
// GCC 12 reports the intrinsics' own undefined pass-through operands (_mm512_max_ps).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace ab { namespace AB_ISA_NS {
namespace {

#define AB_DW_INLINE inline __attribute__((always_inline))


struct Epi {
  const float* bias;   // per channel, or nullptr
  const float* slope;  // prelu only
  int act;
  float alpha;
  const DepthwiseShift* shift;  // avx512 stride-1 tiles on 64-byte lines, or nullptr
};

bool heavy_act(int act) { return act == kActElu || act == kActSigmoid; }

// Activation over a finished row (out_w positions of [c0, c1) channels) for the activations not
// applied on the store: `all` = every activation (the levels without in-register epilogues).
void row_activation(float* out, int64_t out_w, int64_t ostride, int64_t c0, int64_t c1, const Epi& e, bool all) {
  if (e.act == kActLinear || (!all && !heavy_act(e.act))) return;
  const int64_t cw = c1 - c0;
  if (e.act != kActPrelu && ostride == cw) {
    activation_f32_inplace(out, out_w * cw, e.act, e.alpha, nullptr);
    return;
  }
  for (int64_t ow = 0; ow < out_w; ++ow)
    activation_f32_inplace(out + ow * ostride, cw, e.act, e.alpha, e.act == kActPrelu ? e.slope + c0 : nullptr);
}

// Any channel multiplier, any geometry, one output row: plain loops (the reference shape of the
// arithmetic; the compiler vectorizes the channel loops). Multiplier 1: per position, the taps
// inside the input are listed once, then each group of 16 (4) channels sums over them in registers.
void row_generic(const float* x, const float* w, const DepthwiseParams& p, int64_t b, int64_t oh, int64_t c0,
                 int64_t c1, float* outrow, int64_t ostride, const Epi& e) {
  const int64_t C = p.in_c, Q = p.mult, OC = C * Q, cw = c1 - c0;
  const float* bias = e.bias ? e.bias + c0 * Q : nullptr;
  constexpr int kMaxTaps = 64;
  const bool listed = Q == 1 && p.f_h * p.f_w <= kMaxTaps;
  for (int64_t ow = 0; ow < p.out_w; ++ow) {
    float* __restrict out = outrow + ow * ostride;  // channel c0 * Q
    if (listed) {
      const float* xt[kMaxTaps];
      const float* wt[kMaxTaps];
      int nt = 0;
      for (int64_t fh = 0; fh < p.f_h; ++fh) {
        const int64_t ih = oh * p.stride_h - p.pad_top + fh * p.dil_h;
        if (ih < 0 || ih >= p.in_h) continue;
        for (int64_t fw = 0; fw < p.f_w; ++fw) {
          const int64_t iw = ow * p.stride_w - p.pad_left + fw * p.dil_w;
          if (iw < 0 || iw >= p.in_w) continue;
          xt[nt] = x + ((b * p.in_h + ih) * p.in_w + iw) * C + c0;
          wt[nt++] = w + (fh * p.f_w + fw) * C + c0;
        }
      }
      int64_t c = 0;
      for (; c + 16 <= cw; c += 16) {
        float acc[16];
        for (int i = 0; i < 16; ++i) acc[i] = bias ? bias[c + i] : 0.f;
        for (int t = 0; t < nt; ++t)
          for (int i = 0; i < 16; ++i) acc[i] += xt[t][c + i] * wt[t][c + i];
        for (int i = 0; i < 16; ++i) out[c + i] = acc[i];
      }
      for (; c + 4 <= cw; c += 4) {
        float acc[4];
        for (int i = 0; i < 4; ++i) acc[i] = bias ? bias[c + i] : 0.f;
        for (int t = 0; t < nt; ++t)
          for (int i = 0; i < 4; ++i) acc[i] += xt[t][c + i] * wt[t][c + i];
        for (int i = 0; i < 4; ++i) out[c + i] = acc[i];
      }
      for (; c < cw; ++c) {
        float acc = bias ? bias[c] : 0.f;
        for (int t = 0; t < nt; ++t) acc += xt[t][c] * wt[t][c];
        out[c] = acc;
      }
      continue;
    }
    for (int64_t o = 0; o < cw * Q; ++o) out[o] = bias ? bias[o] : 0.f;
    for (int64_t fh = 0; fh < p.f_h; ++fh) {
      const int64_t ih = oh * p.stride_h - p.pad_top + fh * p.dil_h;
      if (ih < 0 || ih >= p.in_h) continue;
      for (int64_t fw = 0; fw < p.f_w; ++fw) {
        const int64_t iw = ow * p.stride_w - p.pad_left + fw * p.dil_w;
        if (iw < 0 || iw >= p.in_w) continue;
        const float* __restrict xv = x + ((b * p.in_h + ih) * p.in_w + iw) * C + c0;
        const float* __restrict wv = w + (fh * p.f_w + fw) * OC + c0 * Q;
        for (int64_t c = 0; c < cw; ++c)
          for (int64_t q = 0; q < Q; ++q) out[c * Q + q] += xv[c] * wv[c * Q + q];
      }
    }
  }
}

#if AB_ISA_LEVEL >= 1
// One input row a row block reads: its data (position 0, channel 0) and the filter row it meets
// for output row 0 and 1 of the block (-1: none).
struct InRow {
  const float* row;
  int f0, f1;
};
constexpr int kMaxInRows = 64;

// The distinct input rows inside the input that output rows oh .. oh + nrows - 1 read, in
// increasing order (so each output row meets its filter rows in fh order). -1 if too many.
int block_rows(const float* x, const DepthwiseParams& p, int64_t b, int64_t oh, int nrows, InRow* rows) {
  int64_t ih_of[2][kMaxInRows];
  if (p.f_h > kMaxInRows) return -1;
  for (int r = 0; r < nrows; ++r)
    for (int64_t fh = 0; fh < p.f_h; ++fh) {
      const int64_t ih = (oh + r) * p.stride_h - p.pad_top + fh * p.dil_h;
      ih_of[r][fh] = (ih >= 0 && ih < p.in_h) ? ih : -1;
    }
  int nr = 0, i0 = 0, i1 = 0;
  const int64_t fh_n = p.f_h;
  for (;;) {
    while (i0 < fh_n && ih_of[0][i0] < 0) ++i0;
    if (nrows > 1)
      while (i1 < fh_n && ih_of[1][i1] < 0) ++i1;
    const bool has0 = i0 < fh_n, has1 = nrows > 1 && i1 < fh_n;
    if (!has0 && !has1) break;
    const int64_t a = has0 ? ih_of[0][i0] : INT64_MAX, c = has1 ? ih_of[1][i1] : INT64_MAX;
    const int64_t ih = a < c ? a : c;
    if (nr >= kMaxInRows) return -1;
    InRow& ir = rows[nr++];
    ir.row = x + (b * p.in_h + ih) * p.in_w * p.in_c;
    ir.f0 = ir.f1 = -1;
    if (a == ih) ir.f0 = i0++;
    if (c == ih) ir.f1 = i1++;
  }
  return nr;
}

#endif

#if AB_ISA_LEVEL >= 2
AB_DW_INLINE __mmask16 chan_mask(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

// The store-side epilogue: the same operations as activation_f32_inplace's (vec_math.h).
AB_DW_INLINE __m512 act16(__m512 v, const Epi& e, int64_t c, __mmask16 m) {
  const __m512 zero = _mm512_setzero_ps();
  switch (e.act) {
    case kActRelu: return _mm512_add_ps(_mm512_max_ps(zero, v), zero);
    case kActRelu6: return _mm512_min_ps(_mm512_set1_ps(6.f), _mm512_add_ps(_mm512_max_ps(zero, v), zero));
    case kActLeakyRelu: return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, _mm512_set1_ps(e.alpha));
    case kActPrelu:
      return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, _mm512_maskz_loadu_ps(m, e.slope + c));
    default: return v;
  }
}

// One input row's columns applied to one output row's 8 accumulators (see tile_fast).
template <int FW, int S, bool EDGE>
AB_DW_INLINE void columns(const float* xp, int64_t iw0, int64_t C, const bool* col_in, const __mmask16* kx,
                          const __m512 (&wv)[FW], __m512 (&acc)[8]) {
#pragma GCC unroll 32
  for (int i = 0; i < 7 * S + FW; ++i) {
    const __m512 xv = _mm512_maskz_loadu_ps(kx[i], xp + (col_in[i] ? (iw0 + i) * C : 0));
#pragma GCC unroll 8
    for (int fw = 0; fw < FW; ++fw) {
      if ((i - fw) % S != 0 || i < fw || (i - fw) / S >= 8) continue;
      const int j = (i - fw) / S;
      acc[j] = EDGE ? _mm512_mask3_fmadd_ps(xv, wv[fw], acc[j], kx[i]) : _mm512_fmadd_ps(xv, wv[fw], acc[j]);
    }
  }
}

// A tile of 8 positions from ow0 (dilation 1, filter width FW, stride S; RH output rows). Each
// input vector is loaded once per input row and used for every tap and output row that reads it.
// EDGE: some of the tile's input columns lie outside the row (or past the last position): those
// loads and their taps are masked off (the taps skipped); positions >= n are not stored.
template <int FW, int S, int RH, bool EDGE>
void tile_fast(const InRow* rows, int nr, const float* w, const DepthwiseParams& p, int64_t ow0, int n, int64_t c0,
               int64_t c1, float* const* out, int64_t ostride, const Epi& e) {
  constexpr int NX = 7 * S + FW;
  const int64_t C = p.in_c;
  const int64_t iw0 = ow0 * S - p.pad_left;
  bool col_in[NX];
#pragma GCC unroll 32
  for (int i = 0; i < NX; ++i) col_in[i] = !EDGE || static_cast<uint64_t>(iw0 + i) < static_cast<uint64_t>(p.in_w);
  for (int64_t c = c0; c < c1; c += 16) {
    const __mmask16 m = chan_mask(c1 - c);
    __mmask16 kx[NX];
#pragma GCC unroll 32
    for (int i = 0; i < NX; ++i) kx[i] = col_in[i] ? m : 0;
    const __m512 init = e.bias ? _mm512_maskz_loadu_ps(m, e.bias + c) : _mm512_setzero_ps();
    __m512 a0[8], a1[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) a0[j] = a1[j] = init;
    for (int k = 0; k < nr; ++k) {
      const float* xp = rows[k].row + c;
      const int f0 = rows[k].f0, f1 = RH == 2 ? rows[k].f1 : -1;
      // The row's filter vectors for the output rows that meet it.
      __m512 w0[FW], w1[FW];
#pragma GCC unroll 8
      for (int fw = 0; fw < FW; ++fw) {
        w0[fw] = f0 >= 0 ? _mm512_maskz_loadu_ps(m, w + (f0 * FW + fw) * C + c) : _mm512_setzero_ps();
        w1[fw] = f1 >= 0 ? _mm512_maskz_loadu_ps(m, w + (f1 * FW + fw) * C + c) : _mm512_setzero_ps();
      }
      // Column by column: each input vector is loaded once and feeds every tap that reads it
      // (position j, tap fw with j * S + fw == i), then dies: few registers at any stride.
      if (f0 >= 0 && (RH == 1 || f1 >= 0)) {
#pragma GCC unroll 32
        for (int i = 0; i < NX; ++i) {
          const __m512 xv = _mm512_maskz_loadu_ps(kx[i], xp + (col_in[i] ? (iw0 + i) * C : 0));
#pragma GCC unroll 8
          for (int fw = 0; fw < FW; ++fw) {
            if ((i - fw) % S != 0 || i < fw || (i - fw) / S >= 8) continue;
            const int j = (i - fw) / S;
            a0[j] = EDGE ? _mm512_mask3_fmadd_ps(xv, w0[fw], a0[j], kx[i]) : _mm512_fmadd_ps(xv, w0[fw], a0[j]);
            if (RH == 2)
              a1[j] = EDGE ? _mm512_mask3_fmadd_ps(xv, w1[fw], a1[j], kx[i]) : _mm512_fmadd_ps(xv, w1[fw], a1[j]);
          }
        }
      } else if (f0 >= 0) {  // RH 2, output row 0 only (the block's first input rows)
        columns<FW, S, EDGE>(xp, iw0, C, col_in, kx, w0, a0);
      } else {  // output row 1 only (its last input rows)
        columns<FW, S, EDGE>(xp, iw0, C, col_in, kx, w1, a1);
      }
    }
    float* o0 = out[0] + ow0 * ostride + (c - c0);
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j)
      if (!EDGE || j < n) _mm512_mask_storeu_ps(o0 + j * ostride, m, act16(a0[j], e, c, m));
    if (RH == 2) {
      float* o1 = out[1] + ow0 * ostride + (c - c0);
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j)
        if (!EDGE || j < n) _mm512_mask_storeu_ps(o1 + j * ostride, m, act16(a1[j], e, c, m));
    }
  }
}

// Any tile of n <= 8 positions from ow0, any filter width, stride and dilation: each tap of each
// position under its own mask (zero where the tap lies outside the input or j >= n).
template <int RH, int NJ = 8>
void tile_masked(const InRow* rows, int nr, const float* w, const DepthwiseParams& p, int64_t ow0, int n, int64_t c0,
                 int64_t c1, float* const* out, int64_t ostride, const Epi& e) {
  const int64_t C = p.in_c, FW = p.f_w;
  for (int64_t c = c0; c < c1; c += 16) {
    const __mmask16 m = chan_mask(c1 - c);
    const __m512 init = e.bias ? _mm512_maskz_loadu_ps(m, e.bias + c) : _mm512_setzero_ps();
    __m512 a0[NJ], a1[NJ];
#pragma GCC unroll 8
    for (int j = 0; j < NJ; ++j) a0[j] = a1[j] = init;
    for (int k = 0; k < nr; ++k) {
      const float* xr = rows[k].row + c;
      const int f0 = rows[k].f0, f1 = RH == 2 ? rows[k].f1 : -1;
      for (int64_t fw = 0; fw < FW; ++fw) {
        const __m512 w0 = f0 >= 0 ? _mm512_maskz_loadu_ps(m, w + (f0 * FW + fw) * C + c) : _mm512_setzero_ps();
        const __m512 w1 = f1 >= 0 ? _mm512_maskz_loadu_ps(m, w + (f1 * FW + fw) * C + c) : _mm512_setzero_ps();
        const __mmask16 m0 = f0 >= 0 ? m : 0, m1 = f1 >= 0 ? m : 0;
        const int64_t iw0 = ow0 * p.stride_w - p.pad_left + fw * p.dil_w;
#pragma GCC unroll 8
        for (int j = 0; j < NJ; ++j) {
          const int64_t iw = iw0 + j * p.stride_w;
          const bool in = j < n && static_cast<uint64_t>(iw) < static_cast<uint64_t>(p.in_w);
          const __mmask16 kx = in ? m : 0;
          const __m512 xv = _mm512_maskz_loadu_ps(kx, xr + (in ? iw : 0) * C);
          a0[j] = _mm512_mask3_fmadd_ps(xv, w0, a0[j], kx & m0);
          if (RH == 2) a1[j] = _mm512_mask3_fmadd_ps(xv, w1, a1[j], kx & m1);
        }
      }
    }
    float* o0 = out[0] + ow0 * ostride + (c - c0);
#pragma GCC unroll 8
    for (int j = 0; j < NJ; ++j)
      if (j < n) _mm512_mask_storeu_ps(o0 + j * ostride, m, act16(a0[j], e, c, m));
    if (RH == 2) {
      float* o1 = out[1] + ow0 * ostride + (c - c0);
#pragma GCC unroll 8
      for (int j = 0; j < NJ; ++j)
        if (j < n) _mm512_mask_storeu_ps(o1 + j * ostride, m, act16(a1[j], e, c, m));
    }
  }
}

using TileFn = void (*)(const InRow*, int, const float*, const DepthwiseParams&, int64_t, int, int64_t, int64_t,
                        float* const*, int64_t, const Epi&);

// The interior and edge tiles for this geometry (nullptr: no template, tile_masked).
template <int FW, int S, int RH>
void set_tiles(TileFn* fast, TileFn* edge) {
  *fast = tile_fast<FW, S, RH, false>;
  *edge = tile_fast<FW, S, RH, true>;
}
void pick_tiles(const DepthwiseParams& p, int rh, TileFn* fast, TileFn* edge) {
  *fast = *edge = nullptr;
  if (p.dil_w != 1) return;
  const int fw = static_cast<int>(p.f_w), s = static_cast<int>(p.stride_w);
  if (rh == 2) {
    if (fw == 3 && s == 1) set_tiles<3, 1, 2>(fast, edge);
    if (fw == 3 && s == 2) set_tiles<3, 2, 2>(fast, edge);
    if (fw == 5 && s == 1) set_tiles<5, 1, 2>(fast, edge);
    if (fw == 5 && s == 2) set_tiles<5, 2, 2>(fast, edge);
    return;
  }
  if (fw == 3 && s == 1) set_tiles<3, 1, 1>(fast, edge);
  if (fw == 3 && s == 2) set_tiles<3, 2, 1>(fast, edge);
  if (fw == 5 && s == 1) set_tiles<5, 1, 1>(fast, edge);
  if (fw == 5 && s == 2) set_tiles<5, 2, 1>(fast, edge);
}

// ---- interior tiles on 64-byte lines --------------------------------------------------------------
// V8 puts a large Float32Array 16 bytes into a cache line, so every 16-channel vector of such an
// x and y straddles two lines (3x3 112x112x32, interleaved in one process: 108.5 us against 95.2
// aligned). At stride 1, with
// all C channels (C a multiple of 16) and out rows of position stride C starting s floats into a
// line as x does, the rows are taken as one flat run of floats: the vector s floats before channel
// c of position ow (on a line) holds, in its first s lanes, the last s channels of position ow - 1,
// whose taps sit at the same flat distance (k * C) as ow's. So the interior tile runs unchanged on
// x, y shifted back by s floats, with filter, bias and prelu slopes rotated by s channels: every
// load and store is on a line. Each lane computes the same chain as the unshifted tile (bias, taps
// in (fh, fw) order, activation), so the bits are the same. A run of shifted tiles from ow0 covers
// [ow0 * C - s, ow1 * C - s): the tile before the run (ow0 - 1 >= lo keeps the wrapped lanes'
// taps inside the row) rewrites those s floats with the same bits, and shifted_tail writes the
// last s channels of the run's last position.
struct Shifted {
  InRow rows[kMaxInRows];
  float* out[2];
  Epi e;
};

// The shifted rows, outputs and epilogue when the driver made `shift` and this call's out rows
// (all channels, position stride C) sit on x's offset into a line.
bool shift_rows(const DepthwiseShift* shift, const DepthwiseParams& p, int rh, int64_t c0, int64_t c1,
                float* const* out, int64_t ostride, const Epi& e, const InRow* rows, int nr, Shifted* sh) {
  const int64_t C = p.in_c;
  if (!shift || c0 != 0 || c1 != C || ostride != C) return false;
  const int64_t s = shift->s;
  for (int r = 0; r < rh; ++r)
    if ((reinterpret_cast<uintptr_t>(out[r]) - reinterpret_cast<uintptr_t>(rows[0].row)) % 64 != 0) return false;
  sh->e = e;
  sh->e.bias = e.bias ? shift->bias : nullptr;
  sh->e.slope = e.act == kActPrelu ? shift->slope : e.slope;
  for (int k = 0; k < nr; ++k) {
    sh->rows[k] = rows[k];
    sh->rows[k].row = rows[k].row - s;
  }
  for (int r = 0; r < rh; ++r) sh->out[r] = out[r] - s;
  return true;
}

// The last 16 channels of position ow (unshifted): the s channels a run of shifted tiles leaves.
void shifted_tail(const InRow* rows, int nr, const float* w, const DepthwiseParams& p, int rh, int64_t ow,
                  float* const* out, int64_t ostride, const Epi& e) {
  const int64_t C = p.in_c;
  float* o[2] = {out[0] + (C - 16), rh == 2 ? out[1] + (C - 16) : nullptr};
  if (rh == 2) tile_masked<2, 1>(rows, nr, w, p, ow, 1, C - 16, C, o, ostride, e);
  else tile_masked<1, 1>(rows, nr, w, p, ow, 1, C - 16, C, o, ostride, e);
}

// Output rows oh .. oh + rh - 1 (rh 1 or 2), channel multiplier 1.
void rows_mult1(const float* x, const float* w, const DepthwiseParams& p, int64_t b, int64_t oh, int rh, int64_t c0,
                int64_t c1, float* const* out, int64_t ostride, const Epi& e) {
  InRow rows[kMaxInRows];
  const int nr = block_rows(x, p, b, oh, rh, rows);
  if (nr < 0) {
    for (int r = 0; r < rh; ++r) {
      row_generic(x, w, p, b, oh + r, c0, c1, out[r], ostride, e);
      row_activation(out[r], p.out_w, ostride, c0, c1, e, true);
    }
    return;
  }
  TileFn fast, edge;
  pick_tiles(p, rh, &fast, &edge);
  const int64_t S = p.stride_w, span = (p.f_w - 1) * p.dil_w;
  // Interior positions [lo, hi): every tap inside the row.
  const int64_t lo = (p.pad_left + S - 1) / S;
  const int64_t last = p.in_w - 1 - span + p.pad_left;  // the largest ow * S allowed
  int64_t hi = last >= 0 ? last / S + 1 : 0;
  if (hi > p.out_w) hi = p.out_w;
  Shifted sh;
  const DepthwiseShift* shift = e.shift;
  const bool shifted = fast && shift_rows(shift, p, rh, c0, c1, out, ostride, e, rows, nr, &sh);
  bool in_run = false;  // the last tile was a shifted one
  for (int64_t ow0 = 0; ow0 < p.out_w; ow0 += 8) {
    const int n = p.out_w - ow0 >= 8 ? 8 : static_cast<int>(p.out_w - ow0);
    const bool interior = fast && n == 8 && ow0 >= lo && ow0 + 8 <= hi;
    if (in_run && !(interior && ow0 >= lo + 1)) {
      shifted_tail(rows, nr, w, p, rh, ow0 - 1, out, ostride, e);
      in_run = false;
    }
    if (shifted && interior && ow0 >= lo + 1) {
      fast(sh.rows, nr, shift->w, p, ow0, n, 0, p.in_c, sh.out, ostride, sh.e);
      in_run = true;
    } else if (interior)
      fast(rows, nr, w, p, ow0, n, c0, c1, out, ostride, e);
    else if (edge)
      edge(rows, nr, w, p, ow0, n, c0, c1, out, ostride, e);
    else if (rh == 2)
      tile_masked<2>(rows, nr, w, p, ow0, n, c0, c1, out, ostride, e);
    else
      tile_masked<1>(rows, nr, w, p, ow0, n, c0, c1, out, ostride, e);
  }
  if (in_run) shifted_tail(rows, nr, w, p, rh, p.out_w - 1, out, ostride, e);
  for (int r = 0; r < rh; ++r) row_activation(out[r], p.out_w, ostride, c0, c1, e, false);
}

void rows_f32(const float* x, const float* w, const DepthwiseParams& p, int64_t b, int64_t oh, int nrows, int64_t c0,
              int64_t c1, float* const* out, int64_t ostride, const Epi& e) {
  if (p.mult != 1) {
    for (int r = 0; r < nrows; ++r) {
      row_generic(x, w, p, b, oh + r, c0, c1, out[r], ostride, e);
      row_activation(out[r], p.out_w, ostride, c0 * p.mult, c1 * p.mult, e, true);
    }
    return;
  }
  // Two rows share the loads of the input rows they both read.
  if (nrows == 2) {
    rows_mult1(x, w, p, b, oh, 2, c0, c1, out, ostride, e);
    return;
  }
  for (int r = 0; r < nrows; ++r) rows_mult1(x, w, p, b, oh + r, 1, c0, c1, out + r, ostride, e);
}

#elif AB_ISA_LEVEL == 1
// Channel multiplier 1: 8 channels at a time in a register; the last < 8 channels in scalar code.
void row_mult1(const float* x, const float* w, const DepthwiseParams& p, int64_t b, int64_t oh, int64_t c0,
               int64_t c1, float* outrow, int64_t ostride, const float* bias) {
  const int64_t C = p.in_c, C8 = c0 + (c1 - c0) / 8 * 8;
  for (int64_t ow = 0; ow < p.out_w; ++ow) {
    float* out = outrow + ow * ostride - c0;  // out[c] for c in [c0, c1)
    for (int64_t c = c0; c < C8; c += 8) {
      __m256 acc = bias ? _mm256_loadu_ps(bias + c) : _mm256_setzero_ps();
      for (int64_t fh = 0; fh < p.f_h; ++fh) {
        const int64_t ih = oh * p.stride_h - p.pad_top + fh * p.dil_h;
        if (ih < 0 || ih >= p.in_h) continue;
        const float* xr = x + (b * p.in_h + ih) * p.in_w * C + c;
        const float* wr = w + fh * p.f_w * C + c;
        for (int64_t fw = 0; fw < p.f_w; ++fw) {
          const int64_t iw = ow * p.stride_w - p.pad_left + fw * p.dil_w;
          if (iw < 0 || iw >= p.in_w) continue;
          acc = _mm256_fmadd_ps(_mm256_loadu_ps(xr + iw * C), _mm256_loadu_ps(wr + fw * C), acc);
        }
      }
      _mm256_storeu_ps(out + c, acc);
    }
    for (int64_t c = C8; c < c1; ++c) {
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

// 4 positions x 8 channels (full channel blocks only) x RH output rows, dilation 1, filter width
// FW, stride S: the avx512 tile's scheme at half the width (16 ymm registers). EDGE: columns
// outside the row are skipped (their taps are), positions >= n are not stored.
template <int FW, int S, bool EDGE>
inline __attribute__((always_inline)) void columns8(const float* xp, int64_t iw0, int64_t C, const bool* col_in,
                                                    const __m256 (&wv)[FW], __m256 (&acc)[4]) {
#pragma GCC unroll 32
  for (int i = 0; i < 3 * S + FW; ++i) {
    if (EDGE && !col_in[i]) continue;
    const __m256 xv = _mm256_loadu_ps(xp + (iw0 + i) * C);
#pragma GCC unroll 8
    for (int fw = 0; fw < FW; ++fw) {
      if ((i - fw) % S != 0 || i < fw || (i - fw) / S >= 4) continue;
      acc[(i - fw) / S] = _mm256_fmadd_ps(xv, wv[fw], acc[(i - fw) / S]);
    }
  }
}

template <int FW, int S, int RH, bool EDGE>
void tile4(const InRow* rows, int nr, const float* w, const DepthwiseParams& p, int64_t ow0, int n, int64_t c0,
           int64_t c8, float* const* out, int64_t ostride, const float* bias) {
  constexpr int NX = 3 * S + FW;
  const int64_t C = p.in_c, iw0 = ow0 * S - p.pad_left;
  bool col_in[NX];
#pragma GCC unroll 32
  for (int i = 0; i < NX; ++i) col_in[i] = !EDGE || static_cast<uint64_t>(iw0 + i) < static_cast<uint64_t>(p.in_w);
  for (int64_t c = c0; c < c8; c += 8) {
    const __m256 init = bias ? _mm256_loadu_ps(bias + c) : _mm256_setzero_ps();
    __m256 a0[4] = {init, init, init, init}, a1[4] = {init, init, init, init};
    for (int k = 0; k < nr; ++k) {
      const float* xp = rows[k].row + c;
      const int f0 = rows[k].f0, f1 = RH == 2 ? rows[k].f1 : -1;
      __m256 w0[FW], w1[FW];
#pragma GCC unroll 8
      for (int fw = 0; fw < FW; ++fw) {
        w0[fw] = f0 >= 0 ? _mm256_loadu_ps(w + (f0 * FW + fw) * C + c) : _mm256_setzero_ps();
        w1[fw] = f1 >= 0 ? _mm256_loadu_ps(w + (f1 * FW + fw) * C + c) : _mm256_setzero_ps();
      }
      if (f0 >= 0) columns8<FW, S, EDGE>(xp, iw0, C, col_in, w0, a0);
      if (RH == 2 && f1 >= 0) columns8<FW, S, EDGE>(xp, iw0, C, col_in, w1, a1);
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j)
      if (!EDGE || j < n) _mm256_storeu_ps(out[0] + (ow0 + j) * ostride + (c - c0), a0[j]);
    if (RH == 2) {
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j)
        if (!EDGE || j < n) _mm256_storeu_ps(out[1] + (ow0 + j) * ostride + (c - c0), a1[j]);
    }
  }
}

using Tile4Fn = void (*)(const InRow*, int, const float*, const DepthwiseParams&, int64_t, int, int64_t, int64_t,
                         float* const*, int64_t, const float*);
template <int FW, int S, int RH>
void set_tiles4(Tile4Fn* fast, Tile4Fn* edge) {
  *fast = tile4<FW, S, RH, false>;
  *edge = tile4<FW, S, RH, true>;
}
void pick_tiles4(const DepthwiseParams& p, int rh, Tile4Fn* fast, Tile4Fn* edge) {
  *fast = *edge = nullptr;
  if (p.dil_w != 1) return;
  const int fw = static_cast<int>(p.f_w), s = static_cast<int>(p.stride_w);
  if (rh == 2) {
    if (fw == 3 && s == 1) set_tiles4<3, 1, 2>(fast, edge);
    if (fw == 3 && s == 2) set_tiles4<3, 2, 2>(fast, edge);
    if (fw == 5 && s == 1) set_tiles4<5, 1, 2>(fast, edge);
    if (fw == 5 && s == 2) set_tiles4<5, 2, 2>(fast, edge);
    return;
  }
  if (fw == 3 && s == 1) set_tiles4<3, 1, 1>(fast, edge);
  if (fw == 3 && s == 2) set_tiles4<3, 2, 1>(fast, edge);
  if (fw == 5 && s == 1) set_tiles4<5, 1, 1>(fast, edge);
  if (fw == 5 && s == 2) set_tiles4<5, 2, 1>(fast, edge);
}

void rows_f32(const float* x, const float* w, const DepthwiseParams& p, int64_t b, int64_t oh, int nrows, int64_t c0,
              int64_t c1, float* const* out, int64_t ostride, const Epi& e) {
  const int64_t c8 = c0 + (c1 - c0) / 8 * 8;
  Tile4Fn fast = nullptr, edge = nullptr;
  InRow rows[kMaxInRows];
  int nr = -1;
  if (p.mult == 1 && c8 > c0) {
    nr = block_rows(x, p, b, oh, nrows, rows);
    if (nr >= 0) pick_tiles4(p, nrows, &fast, &edge);
  }
  if (edge) {
    // Full channel blocks in tiles; the last < 8 channels position by position below.
    const int64_t S = p.stride_w, span = p.f_w - 1;
    const int64_t lo = (p.pad_left + S - 1) / S, last = p.in_w - 1 - span + p.pad_left;
    int64_t hi = last >= 0 ? last / S + 1 : 0;
    if (hi > p.out_w) hi = p.out_w;
    for (int64_t ow0 = 0; ow0 < p.out_w; ow0 += 4) {
      const int n = p.out_w - ow0 >= 4 ? 4 : static_cast<int>(p.out_w - ow0);
      (n == 4 && ow0 >= lo && ow0 + 4 <= hi ? fast : edge)(rows, nr, w, p, ow0, n, c0, c8, out, ostride, e.bias);
    }
  }
  for (int r = 0; r < nrows; ++r) {
    if (p.mult != 1) row_generic(x, w, p, b, oh + r, c0, c1, out[r], ostride, e);
    else if (edge) row_mult1(x, w, p, b, oh + r, c8, c1, out[r] + (c8 - c0), ostride, e.bias);
    else row_mult1(x, w, p, b, oh + r, c0, c1, out[r], ostride, e.bias);
    row_activation(out[r], p.out_w, ostride, c0 * p.mult, c1 * p.mult, e, true);
  }
}

#else
void rows_f32(const float* x, const float* w, const DepthwiseParams& p, int64_t b, int64_t oh, int nrows, int64_t c0,
              int64_t c1, float* const* out, int64_t ostride, const Epi& e) {
  for (int r = 0; r < nrows; ++r) {
    row_generic(x, w, p, b, oh + r, c0, c1, out[r], ostride, e);
    row_activation(out[r], p.out_w, ostride, c0 * p.mult, c1 * p.mult, e, true);
  }
}
#endif

}  // namespace

void depthwise_rows_f32(const float* x, const float* w, const DepthwiseParams& p, int64_t b, int64_t oh, int nrows,
                        int64_t c0, int64_t c1, float* const* out, int64_t ostride, const float* bias,
                        const float* slope, int act, float alpha, const DepthwiseShift* shift) {
  const Epi e{bias, slope, act, alpha, shift};
  rows_f32(x, w, p, b, oh, nrows, c0, c1, out, ostride, e);
}

} }  // namespace ab::AB_ISA_NS

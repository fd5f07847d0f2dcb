// SPDX-License-Identifier: Apache-2.0
// Shared by the addon's f32 conv2d tests (native-conv-narrow, native-conv-direct): random
// geometries, epilogues, a float64 reference with the error bound of each output, and a runner.
import assert from 'node:assert/strict';

import {ACT} from './gemm-ref.mjs';

const U = 2 ** -24;

/**
 * [B, H, W, C, OH, OW, N, FH, FW, SH, SW, DH, DW, PT, PL] from rnd() (uniform in [-1, 1)): out_c
 * from outC(), in_c from inC, filter rows of runs f_w * C >= minRun.
 */
export function convGeometry(rnd, {outC, inC = [3, 4, 8, 16, 17, 32, 40], minRun = 16}) {
  const irand = (lo, hi) => lo + Math.floor((rnd() + 1) / 2 * (hi - lo + 1) - 1e-9);
  for (;;) {
    const B = irand(1, 2), H = irand(1, 13), W = irand(1, 40), N = outC();
    const FH = irand(1, 5), FW = irand(1, 5), C = inC[irand(0, inC.length - 1)];
    if (FW * C < minRun) continue;
    const SH = irand(1, 3), SW = irand(1, 3), DH = rnd() < 0.7 ? 1 : 2;
    const eh = (FH - 1) * DH + 1;
    const mode = irand(0, 2);
    let PT, PL, OH, OW;
    if (mode === 0) {  // same
      OH = Math.ceil(H / SH); OW = Math.ceil(W / SW);
      PT = Math.max((OH - 1) * SH + eh - H, 0) >> 1; PL = Math.max((OW - 1) * SW + FW - W, 0) >> 1;
    } else if (mode === 1) {  // valid
      PT = PL = 0;
      OH = Math.floor((H - eh) / SH) + 1; OW = Math.floor((W - FW) / SW) + 1;
    } else {  // explicit
      PT = irand(0, eh); PL = irand(0, FW);
      const PB = irand(0, eh), PR = irand(0, FW);
      OH = Math.floor((H + PT + PB - eh) / SH) + 1; OW = Math.floor((W + PL + PR - FW) / SW) + 1;
    }
    if (OH < 1 || OW < 1) continue;
    return [B, H, W, C, OH, OW, N, FH, FW, SH, SW, DH, 1, PT, PL];
  }
}

export const CONV_EPILOGUES = [
  {act: ACT.linear}, {act: ACT.linear, bias: 'row'}, {act: ACT.relu6, bias: 'row'}, {act: ACT.sigmoid, bias: 'scalar'},
  {act: ACT.leakyrelu, alpha: 0.1}, {act: ACT.prelu, bias: 'row'}, {act: ACT.relu, bias: 'row', addend: true},
  {act: ACT.linear, addend: true},
];

/** A case on geometry d with epilogue epi: operands from randArray, and its float64 reference. */
export function convCase(randArray, d, epi) {
  const [B, H, W, C, OH, OW, N, FH, FW] = d;
  const c = {d, epi, x: randArray(B * H * W * C), w: randArray(FH * FW * C * N)};
  if (epi.bias) c.bias = randArray(epi.bias === 'row' ? N : 1);
  if (epi.act === ACT.prelu) c.slope = randArray(N, 2);
  if (epi.addend) c.addend = randArray(B * OH * OW * N);
  c.ref = convReference(c.x, c.w, d, c);
  return c;
}

/** float64 reference and the error bound of each output (K terms summed, plus the epilogue's roundings). */
export function convReference(x, w, d, c) {
  const [B, H, W, C, OH, OW, N, FH, FW, SH, SW, DH, DW, PT, PL] = d;
  const y = new Float64Array(B * OH * OW * N), tol = new Float64Array(y.length);
  const K = FH * FW * C, g = (K + 3) * U / (1 - (K + 3) * U);
  for (let b = 0; b < B; ++b) for (let oh = 0; oh < OH; ++oh) for (let ow = 0; ow < OW; ++ow) for (let n = 0; n < N; ++n) {
    let s = 0, a = 0;
    for (let fh = 0; fh < FH; ++fh) for (let fw = 0; fw < FW; ++fw) {
      const ih = oh * SH - PT + fh * DH, iw = ow * SW - PL + fw * DW;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      for (let ch = 0; ch < C; ++ch) {
        const p = x[((b * H + ih) * W + iw) * C + ch] * w[((fh * FW + fw) * C + ch) * N + n];
        s += p;
        a += Math.abs(p);
      }
    }
    const m = (b * OH + oh) * OW + ow;
    const bias = c.bias == null ? 0 : c.bias.length === 1 ? c.bias[0] : c.bias[n];
    let v = s + bias + (c.addend ? c.addend[m * N + n] : 0);
    a += Math.abs(bias) + (c.addend ? Math.abs(c.addend[m * N + n]) : 0);
    let L = 1;
    switch (c.epi.act) {
      case ACT.relu: v = Math.max(0, v); break;
      case ACT.relu6: v = Math.min(6, Math.max(0, v)); break;
      case ACT.sigmoid: v = 1 / (1 + Math.exp(-v)); L = 0.25; break;
      case ACT.leakyrelu: v = v < 0 ? v * c.epi.alpha : v; break;
      case ACT.prelu: L = Math.max(1, Math.abs(c.slope[n])); v = v < 0 ? v * c.slope[n] : v; break;
      default: break;
    }
    y[m * N + n] = v;
    tol[m * N + n] = g * a * L + 8 * U * Math.abs(v) + (c.epi.act === ACT.sigmoid ? 4e-7 : 0) + 1e-30;
  }
  return {y, tol};
}

/** nat.conv2d on case c (in place over the addend when out is it). */
export function runConv(nat, c, {out = null} = {}) {
  const d = c.d, n = d[0] * d[4] * d[5] * d[6];
  const y = out ?? new Float32Array(n).fill(NaN);
  const biasMode = c.bias == null ? 0 : c.bias.length === 1 ? 1 : 2;
  const slopeMode = c.slope ? 2 : 0;
  nat.conv2d(c.x, c.w, y, d, c.bias, biasMode, c.epi.act, c.epi.alpha ?? 0, c.slope, slopeMode, null,
      c.addend ? (out != null ? out : c.addend) : null);
  return y;
}

export function checkConv(y, ref, label) {
  for (let i = 0; i < y.length; ++i) {
    if (!(Math.abs(y[i] - ref.y[i]) <= ref.tol[i])) assert.fail(`${label}: y[${i}] = ${y[i]}, want ${ref.y[i]} (tol ${ref.tol[i]})`);
  }
}

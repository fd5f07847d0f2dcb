// SPDX-License-Identifier: Apache-2.0
// conv2d to few output channels (<= 4): the narrow path (a dot product per output,
// native/kernels/conv_narrow_kernel.cc; avx512 and up), on random geometries: strides, dilation
// along the height, 'same' / 'valid' / explicit padding, 1x1 included, batch 2, every epilogue
// (bias per channel or scalar, relu6, sigmoid, leakyrelu, prelu, a residual addend, written in
// place over the addend). Checked against a float64 reference with a bound by K, against the
// direct path (forced), 2 threads bitwise equal to 1, and taps outside the input skipped (an
// Inf weight that meets only padding gives no NaN).
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {ACT} from './lib/gemm-ref.mjs';
import {LADDER, nativeKit, sameBits, withConvMode} from './lib/native-kit.mjs';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');
const {rnd, randArray, withLevel, withThreads} = nativeKit(nat, 8080);
const cpuMax = LADDER.indexOf(nat.isaCpu());
const LEVELS = nat.isaBuiltLevels().filter((l) => LADDER.indexOf(l) <= cpuMax && l !== 'amx');
const U = 2 ** -24;
const irand = (lo, hi) => lo + Math.floor((rnd() + 1) / 2 * (hi - lo + 1) - 1e-9);

/** [B, H, W, C, OH, OW, N, FH, FW, SH, SW, DH, DW, PT, PL] with out_c 1..4 and runs f_w * C >= 16. */
function geometry() {
  for (;;) {
    const B = irand(1, 2), H = irand(1, 13), W = irand(1, 40), N = irand(1, 4);
    const FH = irand(1, 5), FW = irand(1, 5), C = [3, 4, 8, 16, 17, 32, 40][irand(0, 6)];
    if (FW * C < 16) continue;
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

const EPILOGUES = [
  {act: ACT.linear}, {act: ACT.linear, bias: 'row'}, {act: ACT.relu6, bias: 'row'}, {act: ACT.sigmoid, bias: 'scalar'},
  {act: ACT.leakyrelu, alpha: 0.1}, {act: ACT.prelu, bias: 'row'}, {act: ACT.relu, bias: 'row', addend: true},
  {act: ACT.linear, addend: true},
];

/** float64 reference and the error bound of each output (K terms summed, plus the epilogue's roundings). */
function reference(x, w, d, c) {
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

function run(c, {out = null} = {}) {
  const d = c.d, n = d[0] * d[4] * d[5] * d[6];
  const y = out ?? new Float32Array(n).fill(NaN);
  const biasMode = c.bias == null ? 0 : c.bias.length === 1 ? 1 : 2;
  const slopeMode = c.slope ? 2 : 0;
  nat.conv2d(c.x, c.w, y, d, c.bias, biasMode, c.epi.act, c.epi.alpha ?? 0, c.slope, slopeMode, null,
      c.addend ? (out != null ? out : c.addend) : null);
  return y;
}

function check(y, ref, label) {
  for (let i = 0; i < y.length; ++i) {
    if (!(Math.abs(y[i] - ref.y[i]) <= ref.tol[i])) assert.fail(`${label}: y[${i}] = ${y[i]}, want ${ref.y[i]} (tol ${ref.tol[i]})`);
  }
}

test('conv2d to <= 4 channels: float64 reference, the direct path, threads and in place, at every level', () => {
  const cases = [];
  for (let i = 0; i < 60; ++i) {
    const d = geometry(), epi = EPILOGUES[i % EPILOGUES.length];
    const [B, H, W, C, OH, OW, N, FH, FW] = d;
    const c = {d, epi, x: randArray(B * H * W * C), w: randArray(FH * FW * C * N)};
    if (epi.bias) c.bias = randArray(epi.bias === 'row' ? N : 1);
    if (epi.act === ACT.prelu) c.slope = randArray(N, 2);
    if (epi.addend) c.addend = randArray(B * OH * OW * N);
    c.ref = reference(c.x, c.w, d, c);
    cases.push(c);
  }
  // The blazepose head (3x3 8 -> 1, sigmoid) at a size with interior groups of four.
  {
    const d = [1, 20, 37, 8, 20, 37, 1, 3, 3, 1, 1, 1, 1, 1, 1], epi = {act: ACT.sigmoid, bias: 'row'};
    const c = {d, epi, x: randArray(20 * 37 * 8), w: randArray(72), bias: randArray(1)};
    c.ref = reference(c.x, c.w, d, c);
    cases.push(c);
  }
  for (const level of LEVELS) {
    withLevel(level, () => {
      for (const c of cases) {
        const label = `${level} ${JSON.stringify(c.d)} act ${c.epi.act}${c.bias ? ' bias' : ''}${c.addend ? ' addend' : ''}`;
        const y1 = withThreads(1, () => run(c));
        check(y1, c.ref, label);
        sameBits(withThreads(2, () => run(c)), y1, `${label}: 2 threads`);
        check(withConvMode('direct', () => run(c)), c.ref, `${label}: direct`);
        check(withConvMode('narrow', () => run(c)), c.ref, `${label}: narrow forced`);
        if (c.addend) {  // written in place over the addend
          const buf = c.addend.slice();
          run(c, {out: buf});
          sameBits(buf, y1, `${label}: in place over the addend`);
        }
      }
    });
  }
});

test('conv2d to one channel skips taps outside the input (an Inf weight at the border)', () => {
  // 3x3 'same' over [1, 3, 3, 8] -> 1 channel; w[0, 0, :] = Inf meets the input only at outputs
  // (1, 1) and below-right: the corner (0, 0) must stay finite.
  const x = new Float32Array(72).fill(1), w = new Float32Array(72).fill(1);
  for (let c = 0; c < 8; ++c) w[c] = Infinity;
  for (const level of LEVELS) {
    withLevel(level, () => {
      const y = new Float32Array(9);
      nat.conv2d(x, w, y, [1, 3, 3, 8, 3, 3, 1, 3, 3, 1, 1, 1, 1, 1, 1], null, 0, 0, 0, null, 0);
      assert.equal(y[0], 4 * 8, `${level} corner`);
      assert.equal(y[4], Infinity, `${level} center`);
    });
  }
});

// SPDX-License-Identifier: Apache-2.0
// node --test test/native-depthwise.test.mjs — the addon's depthwiseConv2d (NHWC, f32), out of
// place and in place (out === x), on random geometries, at every ISA level and at 1 and 2 threads.
//
// Checks:
//  * against a float64 reference (taps outside the input skipped, as tfjs-cpu does):
//      |y - ref| <= gamma_{K+2} * (sum |x w| + |bias|) * L + 4u |ref|
//    (K taps; L the activation's largest slope, 1 but for prelu/leakyrelu);
//  * bitwise: in place equals out of place, 2 threads equal 1, and avx2 equals avx512 (the same
//    fma chain in (fh, fw) order from the bias; elu and sigmoid excluded from the cross-level check,
//    their vector math is the level's own);
//  * taps outside the input are skipped: an Inf weight meeting only padding gives no NaN;
//  * the in-place rules: exactly out === x (same start, out no longer than x) with multiplier 1 and
//    an output no larger than x; every other overlap throws.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {ACT, actRef} from './lib/gemm-ref.mjs';
import {LADDER, nativeKit, sameBits} from './lib/native-kit.mjs';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');
const {rnd, randArray, withLevel, withThreads} = nativeKit(nat, 977);

const cpuMax = LADDER.indexOf(nat.isaCpu());
const LEVELS = nat.isaBuiltLevels().filter((l) => LADDER.indexOf(l) <= cpuMax && l !== 'amx');
const U = 2 ** -24;
const irand = (lo, hi) => lo + Math.floor((rnd() + 1) / 2 * (hi - lo + 1) - 1e-9);

/** A random geometry; `inPlace`: one whose output is no larger than its input (mult 1). */
function geometry(inPlace) {
  for (;;) {
    const B = irand(1, 2), H = irand(1, 14), W = irand(1, 21);
    const C = [1, 3, 8, 15, 16, 17, 24, 32, 33, 48][irand(0, 9)];
    const FH = irand(1, 5), FW = [1, 2, 3, 3, 5, 5, 4][irand(0, 6)];
    const SH = irand(1, 3), SW = [1, 1, 2, 2, 3][irand(0, 4)];
    const DH = rnd() < 0.75 ? 1 : 2, DW = rnd() < 0.75 ? 1 : 2;
    const Q = inPlace ? 1 : [1, 1, 2][irand(0, 2)];
    const eh = (FH - 1) * DH + 1, ew = (FW - 1) * DW + 1;
    const mode = irand(0, 2);  // same, valid, explicit
    let pt, pb, pl, pr;
    if (mode === 0) {
      const oh = Math.ceil(H / SH), ow = Math.ceil(W / SW);
      const ph = Math.max((oh - 1) * SH + eh - H, 0), pw = Math.max((ow - 1) * SW + ew - W, 0);
      pt = ph >> 1; pb = ph - pt; pl = pw >> 1; pr = pw - pl;
    } else if (mode === 1) {
      pt = pb = pl = pr = 0;
    } else {
      pt = irand(0, eh); pb = irand(0, eh); pl = irand(0, ew); pr = irand(0, ew);
    }
    const OH = Math.floor((H + pt + pb - eh) / SH) + 1, OW = Math.floor((W + pl + pr - ew) / SW) + 1;
    if (OH < 1 || OW < 1) continue;
    if (inPlace && OH * OW > H * W) continue;
    return {B, H, W, C, Q, OH, OW, FH, FW, SH, SW, DH, DW, pt, pl};
  }
}
const dimsOf = (g) => [g.B, g.H, g.W, g.C, g.OH, g.OW, g.Q, g.FH, g.FW, g.SH, g.SW, g.DH, g.DW, g.pt, g.pl];

const EPILOGUES = [
  {act: ACT.linear}, {act: ACT.linear, bias: true}, {act: ACT.relu, bias: true}, {act: ACT.relu6},
  {act: ACT.elu, bias: true}, {act: ACT.leakyrelu, alpha: 0.2}, {act: ACT.prelu, bias: true},
  {act: ACT.sigmoid, bias: true},
];

function makeCase(g, epi) {
  const OC = g.C * g.Q;
  return {
    g, epi, x: randArray(g.B * g.H * g.W * g.C), w: randArray(g.FH * g.FW * OC),
    bias: epi.bias ? randArray(OC) : null, slope: epi.act === ACT.prelu ? randArray(OC, 2) : null,
  };
}

/** Runs the case out of place (a fresh output), or in place (over a copy of x). */
function run(c, inPlace) {
  const g = c.g, n = g.B * g.OH * g.OW * g.C * g.Q;
  if (inPlace) {
    const buf = c.x.slice();
    nat.depthwiseConv2d(buf, c.w, buf, dimsOf(g), c.bias, c.epi.act, c.epi.alpha ?? 0, c.slope);
    return buf.subarray(0, n);
  }
  const y = new Float32Array(n).fill(NaN);
  nat.depthwiseConv2d(c.x, c.w, y, dimsOf(g), c.bias, c.epi.act, c.epi.alpha ?? 0, c.slope);
  return y;
}

function check(c, y, label) {
  const g = c.g, OC = g.C * g.Q, K = g.FH * g.FW;
  for (let b = 0; b < g.B; ++b) for (let oh = 0; oh < g.OH; ++oh) for (let ow = 0; ow < g.OW; ++ow) {
    for (let o = 0; o < OC; ++o) {
      const ci = Math.floor(o / g.Q);
      let s = c.bias ? c.bias[o] : 0, a = Math.abs(s);
      for (let fh = 0; fh < g.FH; ++fh) {
        const ih = oh * g.SH - g.pt + fh * g.DH;
        if (ih < 0 || ih >= g.H) continue;
        for (let fw = 0; fw < g.FW; ++fw) {
          const iw = ow * g.SW - g.pl + fw * g.DW;
          if (iw < 0 || iw >= g.W) continue;
          const p = c.x[((b * g.H + ih) * g.W + iw) * g.C + ci] * c.w[(fh * g.FW + fw) * OC + o];
          s += p;
          a += Math.abs(p);
        }
      }
      const sl = c.slope ? c.slope[o] : 0, alpha = c.epi.alpha ?? 0;
      const want = actRef(s, c.epi.act, alpha, sl);
      const L = Math.max(1, Math.abs(c.epi.act === ACT.prelu ? sl : c.epi.act === ACT.leakyrelu ? alpha : 1));
      const tol = (K + 2) * U / (1 - (K + 2) * U) * a * L + 4 * U * Math.abs(want) + 1e-30;
      const got = y[((b * g.OH + oh) * g.OW + ow) * OC + o];
      if (!(Math.abs(got - want) <= tol)) {
        assert.fail(`${label}: y[${b},${oh},${ow},${o}] = ${got}, want ${want} (tol ${tol})`);
      }
    }
  }
}

const describe = (c) => `${JSON.stringify(dimsOf(c.g))} act ${c.epi.act}${c.bias ? ' bias' : ''}`;

test('depthwiseConv2d: float64 reference, 2 threads = 1, in place = out of place, at every level', () => {
  const cases = [];
  for (let i = 0; i < 40; ++i) cases.push(makeCase(geometry(i % 4 !== 3), EPILOGUES[i % EPILOGUES.length]));
  // Shapes of the fast tiles: 3x3 / 5x5, stride 1 / 2, 'same', channels 16 and 32 and a tail.
  for (const [H, C, F, S] of [[20, 32, 3, 1], [19, 16, 3, 2], [18, 24, 5, 1], [21, 40, 5, 2], [9, 96, 3, 1]]) {
    const OH = Math.ceil(H / S), ph = Math.max((OH - 1) * S + F - H, 0);
    const g = {B: 1, H, W: H + 3, C, Q: 1, OH, OW: Math.ceil((H + 3) / S), FH: F, FW: F, SH: S, SW: S, DH: 1, DW: 1, pt: ph >> 1,
      pl: Math.max((Math.ceil((H + 3) / S) - 1) * S + F - H - 3, 0) >> 1};
    for (const epi of EPILOGUES) cases.push(makeCase(g, epi));
  }
  const results = new Map();
  for (const level of LEVELS) {
    withLevel(level, () => {
      for (const c of cases) {
        const label = `${level} ${describe(c)}`;
        const y1 = withThreads(1, () => run(c, false));
        check(c, y1, label);
        sameBits(withThreads(2, () => run(c, false)), y1, `${label}: 2 threads`);
        if (c.g.Q === 1 && c.g.OH * c.g.OW <= c.g.H * c.g.W) {
          sameBits(withThreads(1, () => run(c, true)), y1, `${label}: in place, 1 thread`);
          sameBits(withThreads(2, () => run(c, true)), y1, `${label}: in place, 2 threads`);
        }
        if (!results.has(c)) results.set(c, {});
        results.get(c)[level] = y1;
      }
    });
  }
  // avx2 and avx512 run the same chains (the scalar level multiplies and adds separately).
  const vec = LEVELS.filter((l) => l !== 'scalar');
  for (const [c, r] of results) {
    if (c.epi.act === ACT.elu || c.epi.act === ACT.sigmoid) continue;
    for (const l of vec.slice(1)) sameBits(r[l], r[vec[0]], `${l} vs ${vec[0]} ${describe(c)}`);
  }
});

test('depthwiseConv2d in place: large in-place geometries (pending rows, channel slices)', () => {
  // MobileNet-like shapes: stride 1 and 2, 3x3 and 5x5, channel counts that split over threads.
  const shapes = [[1, 28, 28, 96, 3, 1], [1, 28, 28, 144, 3, 2], [2, 15, 17, 64, 5, 2], [1, 16, 16, 48, 5, 1],
    [1, 12, 12, 40, 3, 3]];
  for (const level of LEVELS) {
    withLevel(level, () => {
      for (const [B, H, W, C, F, S] of shapes) {
        const OH = Math.ceil(H / S), OW = Math.ceil(W / S);
        const g = {B, H, W, C, Q: 1, OH, OW, FH: F, FW: F, SH: S, SW: S, DH: 1, DW: 1,
          pt: Math.max((OH - 1) * S + F - H, 0) >> 1, pl: Math.max((OW - 1) * S + F - W, 0) >> 1};
        const c = makeCase(g, {act: ACT.relu6, bias: true});
        const y1 = withThreads(1, () => run(c, false));
        for (const t of [1, 2, 3]) sameBits(withThreads(t, () => run(c, true)), y1, `${level} ${describe(c)} in place, ${t} threads`);
      }
    });
  }
});

test('depthwiseConv2d at every offset into a 64-byte line (the shifted interior tiles), out of place and in place', () => {
  // Stride 1 with C a multiple of 16 and x, y at the same offset s != 0 into a line: the avx512
  // interior tiles run on vectors shifted back by s with rotated filter, bias and slopes. Every
  // offset of x (and y at the same, another, and an aligned one) must give the float64 result and
  // the same bits as x and y on a line; in place too.
  // [B, H, W, C, F, 'valid']: 'valid' with 24 output columns ends a row on a shifted tile.
  const shapes = [[1, 5, 27, 32, 3], [2, 4, 26, 16, 3], [1, 4, 30, 48, 5], [1, 3, 41, 64, 3], [1, 4, 26, 32, 3, true]];
  const epis = [{act: ACT.linear}, {act: ACT.relu6, bias: true}, {act: ACT.prelu, bias: true}, {act: ACT.elu}];
  /** A view of n floats starting k floats past a 64-byte boundary. */
  const at = (src, k) => {
    const buf = nat.alignedF32(src.length + 16), v = buf.subarray(k, k + src.length);
    v.set(src);
    assert.ok(nat.isAligned64(buf));
    return v;
  };
  for (const level of LEVELS) {
    withLevel(level, () => {
      for (const [si, [B, H, W, C, F, valid]] of shapes.entries()) {
        const p = valid ? 0 : (F - 1) >> 1, OH = valid ? H - F + 1 : H, OW = valid ? W - F + 1 : W;
        const g = {B, H, W, C, Q: 1, OH, OW, FH: F, FW: F, SH: 1, SW: 1, DH: 1, DW: 1, pt: p, pl: p};
        const c = makeCase(g, epis[si % epis.length]);
        const n = B * OH * OW * C, args = (x, y) => [x, c.w, y, dimsOf(g), c.bias, c.epi.act, c.epi.alpha ?? 0, c.slope];
        const ref = at(new Float32Array(n), 0);
        nat.depthwiseConv2d(...args(at(c.x, 0), ref));
        check(c, ref, `${level} ${describe(c)} on a line`);
        for (let k = 1; k < 16; ++k) {
          for (const ky of [k, (k + 5) % 16, 0]) {
            const y = at(new Float32Array(n).fill(NaN), ky);
            nat.depthwiseConv2d(...args(at(c.x, k), y));
            sameBits(y, ref, `${level} ${describe(c)} x at ${k}, y at ${ky}`);
          }
          for (const t of [1, 2]) {
            const xy = at(c.x, k);
            withThreads(t, () => nat.depthwiseConv2d(...args(xy, xy)));
            sameBits(xy.subarray(0, n), ref, `${level} ${describe(c)} in place at ${k}, ${t} threads`);
          }
        }
      }
    });
  }
});

test('depthwiseConv2d skips taps outside the input (Inf weights at the border)', () => {
  // 3x3 'same' on [1, 3, 3, 1]: the corner output (0, 0) never meets filter row 0 or column 0.
  const x = Float32Array.from({length: 9}, (_, i) => i + 1), w = new Float32Array(9).fill(1);
  w[0] = Infinity;
  for (const level of LEVELS) {
    withLevel(level, () => {
      for (const inPlace of [false, true]) {
        const buf = x.slice(), y = inPlace ? buf : new Float32Array(9);
        nat.depthwiseConv2d(buf, w, y, [1, 3, 3, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1, 1, 1], null, 0, 0, null);
        assert.equal(y[0], 1 + 2 + 4 + 5, `${level} in place ${inPlace}`);
        assert.equal(y[4], Infinity, `${level} center meets w[0]`);
      }
    });
  }
});

test('depthwiseConv2d in place: only out === x, and only where it can be computed', () => {
  const x = randArray(4 * 4 * 2 + 8), w = randArray(18), bias = randArray(2);
  const d = [1, 4, 4, 2, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1];
  const xs = x.subarray(0, 32), x64 = randArray(64), w36 = randArray(36);
  // Accepted: the same array, or out a prefix view of x.
  nat.depthwiseConv2d(xs.slice(), w, new Float32Array(32), d, bias, 0, 0, null);
  const a = xs.slice();
  nat.depthwiseConv2d(a, w, a, d, bias, 0, 0, null);
  const b = x.slice();
  nat.depthwiseConv2d(b, w, b.subarray(0, 32), d, bias, 0, 0, null);
  sameBits(b.subarray(0, 32), a, 'out as a prefix view of x');
  // Stride 2 shrinks the output: in place allowed.
  const s2 = xs.slice();
  nat.depthwiseConv2d(s2, w, s2, [1, 4, 4, 2, 2, 2, 1, 3, 3, 2, 2, 1, 1, 0, 0], null, 0, 0, null);
  const bad = [
    [[x, w, x.subarray(1, 33), d, null, 0, 0, null], /must not share memory/],          // shifted by one element
    [[x.subarray(2), w, x.subarray(0, 32), d, null, 0, 0, null], /must not share memory/],  // out starts before x
    [[xs, w, x, d, null, 0, 0, null], /must not share memory/],                         // out longer than x
    [[x64, w36, x64, [1, 4, 4, 2, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1], null, 0, 0, null], /in place.*channel multiplier 1/],
    [[xs, w, xs, [1, 2, 2, 2, 4, 4, 1, 3, 3, 1, 1, 1, 1, 2, 2], null, 0, 0, null], /in place.*no larger than x/],
    [[xs, xs, xs, d, null, 0, 0, null], /must not share memory/],                       // filter is out
    [[xs, w, xs, d, xs, 0, 0, null], /must not share memory/],                          // bias is out
    [[xs, w, xs, d, null, 5, 0, xs], /must not share memory/],                          // slope is out
  ];
  for (const [args, re] of bad) assert.throws(() => nat.depthwiseConv2d(...args), re);
});

// SPDX-License-Identifier: Apache-2.0
// The pointwise path of conv2d (1x1, stride 1, unpadded NHWC: register tiles on x itself,
// native/kernels/pointwise_kernel.cc), straight on the addon at every ISA level this CPU runs, at 1
// and 2 threads, with and without a prepacked filter:
//   - against a float64 reference: |y - act(exact + bias)| within the f32 sum bound
//     gamma_{K+1} * (sum |x w| + |bias|) pushed through the activation (elu, sigmoid: + 2e-6 relative);
//   - bit for bit against the GEMM path (AFTERBURNER_CONV=gemm) at the same level, and across thread
//     counts (the same sum order and epilogue);
//   - random shapes: odd channel counts, out_c not a multiple of 8 or 16, batch > 1, in_c past one K
//     block (then another path runs: still checked), every epilogue form;
//   - NaN / Inf reach the outputs they feed; bad arguments throw.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {ACT, actRef} from './lib/gemm-ref.mjs';
import {LADDER, sameBits} from './lib/native-kit.mjs';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON || fileURLToPath(new URL('../build/Release/afterburner.node', import.meta.url)));
const LEVELS = LADDER.slice(0, LADDER.indexOf(nat.isaCpu()) + 1).filter((l) => nat.isaBuiltLevels().includes(l));
const TOP = nat.isaCurrent();

let seed = 0x9e3779b9;
const rnd = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const randArray = (n, lo = -1, hi = 1) => Float32Array.from({length: n}, () => lo + (hi - lo) * rnd());
const ri = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));

function withEnv(path, fn) {
  const prev = process.env.AFTERBURNER_CONV;
  if (path == null) delete process.env.AFTERBURNER_CONV;
  else process.env.AFTERBURNER_CONV = path;
  try { return fn(); } finally {
    if (prev == null) delete process.env.AFTERBURNER_CONV;
    else process.env.AFTERBURNER_CONV = prev;
  }
}
function scoped(level, threads, fn) {
  const prevT = nat.getNumThreads();
  nat.isaSet(level);
  nat.setNumThreads(threads);
  try { return fn(); } finally {
    nat.setNumThreads(prevT);
    nat.isaSet(TOP);
  }
}

/** A pointwise case: x [B, H, W, C], filter [1, 1, C, OC], epilogue operands. */
function mkCase(B, H, W, C, OC, {biasMode = 2, act = ACT.relu6, slopeMode = 2} = {}) {
  const M = B * H * W;
  const x = randArray(M * C), w = randArray(C * OC);
  const bias = biasMode === 0 ? null : randArray(biasMode === 1 ? 1 : biasMode === 2 ? OC : M * OC, -0.5, 0.5);
  const slope = act === ACT.prelu ? randArray(slopeMode === 1 ? 1 : slopeMode === 2 ? OC : M * OC, -0.5, 1.5) : null;
  return {B, H, W, C, OC, M, x, w, bias, biasMode, act, alpha: 0.15, slope, slopeMode: act === ACT.prelu ? slopeMode : 0,
          dims: [B, H, W, C, H, W, OC, 1, 1, 1, 1, 1, 1, 0, 0]};
}
function run(c, {packed = null, path} = {}) {
  const y = new Float32Array(c.M * c.OC).fill(NaN);
  withEnv(path, () => nat.conv2d(c.x, c.w, y, c.dims, c.bias, c.biasMode, c.act, c.alpha, c.slope, c.slopeMode,
                                 ...(packed ? [packed] : [])));
  return y;
}
const opAt = (p, mode, m, n, N) => (mode === 1 ? p[0] : mode === 2 ? p[n] : mode === 3 ? p[m * N + n] : 0);
const GAMMA = (k) => (k * 2 ** -24) / (1 - k * 2 ** -24);

function checkRef(c, y, label) {
  const {M, C, OC} = c;
  const g = GAMMA(C + 1);
  for (let m = 0; m < M; ++m) {
    for (let n = 0; n < OC; ++n) {
      let s = 0, a = 0;
      for (let k = 0; k < C; ++k) {
        const t = c.x[m * C + k] * c.w[k * OC + n];
        s += t;
        a += Math.abs(t);
      }
      const b = c.bias ? opAt(c.bias, c.biasMode, m, n, OC) : 0;
      s += b;
      a += Math.abs(b);
      const e = g * a, sl = c.slope ? opAt(c.slope, c.slopeMode, m, n, OC) : 0;
      const cands = [actRef(s - e, c.act, c.alpha, sl), actRef(s + e, c.act, c.alpha, sl)];
      if (s - e < 0 && s + e > 0) cands.push(actRef(0, c.act, c.alpha, sl));
      const lo = Math.min(...cands), hi = Math.max(...cands);
      const heavy = c.act === ACT.elu || c.act === ACT.sigmoid;
      const tol = Math.max(Math.abs(lo), Math.abs(hi)) * (heavy ? 2e-6 : 2 ** -23) + 1e-30;
      const v = y[m * OC + n];
      if (!(v >= lo - tol && v <= hi + tol)) {
        assert.fail(`${label}: y[${m}, ${n}] = ${v}, expected in [${lo}, ${hi}] (+- ${tol})`);
      }
    }
  }
}

const ACTS = Object.values(ACT);
// Where the pointwise kernel runs (one K block: 512 deep at avx512, 256 at avx2; the scalar level
// has no body and runs the GEMM below in_c 128), it gives the GEMM path's bits. With several K
// blocks the direct path runs, which keeps the sum in registers across blocks (other bits).
const oneBlock = (level, C) => (level === 'scalar' ? C < 128 : C <= (level === 'avx2' ? 256 : 512));
const describe = (c) => `${c.B}x${c.H}x${c.W}x${c.C}->${c.OC} bias ${c.biasMode} act ${c.act}${c.act === ACT.prelu ? ` slope ${c.slopeMode}` : ''}`;

test('pointwise conv2d: random shapes and every epilogue against float64, bitwise against the GEMM path', () => {
  const cases = [];
  // The MobileNet-like shapes (small spatial), and random ones with odd channels.
  for (const [C, OC] of [[16, 96], [96, 16], [24, 144], [144, 24], [32, 192], [192, 32], [64, 64], [8, 48]]) {
    cases.push(mkCase(1, 5, 6, C, OC, {biasMode: 2, act: ACT.relu6}));
  }
  for (let i = 0; i < 36; ++i) {
    const act = ACTS[i % ACTS.length];
    cases.push(mkCase(ri(1, 2), ri(1, 9), ri(1, 17), ri(1, 70), ri(1, 140),
                      {biasMode: Math.floor(i / ACTS.length) % 4, act, slopeMode: 1 + (i % 3)}));
  }
  cases.push(mkCase(1, 3, 5, 600, 20, {biasMode: 2, act: ACT.relu}));  // in_c past avx512's 512-deep K block
  cases.push(mkCase(1, 4, 4, 300, 9, {biasMode: 1, act: ACT.linear}));  // past avx2's 256
  cases.push(mkCase(1, 1, 1, 7, 33, {biasMode: 3, act: ACT.prelu, slopeMode: 3}));  // one pixel
  for (const level of LEVELS) {
    for (const c of cases) {
      const label = `${level} ${describe(c)}`;
      const y1 = scoped(level, 1, () => run(c));
      checkRef(c, y1, label);
      const handle = scoped(level, 1, () => nat.packWeight(c.w, c.C, c.OC, false));
      try {
        sameBits(scoped(level, 2, () => run(c)), y1, `${label}: 2 threads vs 1`);
        sameBits(scoped(level, 1, () => run(c, {packed: handle})), y1, `${label}: prepacked vs not`);
        sameBits(scoped(level, 2, () => run(c, {packed: handle})), y1, `${label}: prepacked, 2 threads`);
        if (oneBlock(level, c.C)) sameBits(scoped(level, 1, () => run(c, {path: 'gemm'})), y1, `${label}: vs the GEMM path`);
        sameBits(scoped(level, 1, () => run(c, {path: 'pointwise'})), y1, `${label}: forced pointwise`);
      } finally {
        nat.packedFree(handle);
      }
    }
  }
});

test('pointwise conv2d: large enough to thread (2 threads take blocks), same bits as 1 thread', () => {
  for (const level of LEVELS) {
    for (const [H, C, OC] of [[28, 16, 96], [28, 96, 24], [19, 5, 200], [30, 33, 7]]) {
      const c = mkCase(1, H, H, C, OC, {biasMode: 2, act: ACT.relu6});
      const y1 = scoped(level, 1, () => run(c));
      sameBits(scoped(level, 2, () => run(c)), y1, `${level} ${describe(c)}: 2 threads vs 1`);
      sameBits(scoped(level, 1, () => run(c, {path: 'gemm'})), y1, `${level} ${describe(c)}: vs the GEMM path`);
      // a sample of outputs against float64 (the whole check is slow at this size)
      const sub = {...c, M: 40};
      checkRef(sub, y1.subarray(0, 40 * OC), `${level} ${describe(c)}`);
    }
  }
});

test('pointwise conv2d: NaN and Inf reach the outputs they feed', () => {
  for (const level of LEVELS) {
    const c = mkCase(1, 3, 7, 20, 40, {biasMode: 2, act: ACT.linear});
    c.x[5 * 20 + 3] = NaN;  // pixel 5
    c.w[7 * 40 + 11] = Infinity;  // column 11, fed by channel 7 (x > 0 there: +Inf, < 0: -Inf)
    const y = scoped(level, 1, () => run(c));
    for (let n = 0; n < 40; ++n) assert.ok(Number.isNaN(y[5 * 40 + n]), `${level}: NaN at pixel 5, column ${n}`);
    for (let m = 0; m < c.M; ++m) {
      if (m === 5) continue;
      const xv = c.x[m * 20 + 7];
      assert.equal(y[m * 40 + 11], xv > 0 ? Infinity : xv < 0 ? -Infinity : NaN, `${level}: pixel ${m} column 11`);
      assert.ok(Number.isFinite(y[m * 40 + 12]), `${level}: pixel ${m} column 12 is finite`);
    }
    sameBits(scoped(level, 1, () => run(c, {path: 'gemm'})), y, `${level}: specials vs the GEMM path`);
  }
});

test('pointwise conv2d: bad arguments throw', () => {
  const c = mkCase(1, 4, 4, 8, 12);
  const y = new Float32Array(c.M * c.OC);
  const h = nat.packWeight(randArray(9 * 12), 9, 12, false);
  try {
    assert.throws(() => nat.conv2d(c.x, c.w, y, c.dims, c.bias, 2, ACT.relu6, 0, null, 0, h),
                  /conv2d: 'packedFilter' was packed for K=9 N=12, but this convolution has K=8 N=12/);
  } finally {
    nat.packedFree(h);
  }
  assert.throws(() => nat.conv2d(c.x, c.w.subarray(1), y, c.dims, c.bias, 2, ACT.relu6, 0, null, 0), /conv2d: x, filter or out is smaller than its shape \(x 128\/128, filter 95\/96/);
  assert.throws(() => nat.conv2d(c.x, c.w, y, c.dims, c.bias.subarray(2), 2, ACT.relu6, 0, null, 0), /'bias' has 10 elements, needs 12/);
  assert.throws(() => nat.conv2d(c.x, c.w, y, c.dims, c.bias, 2, ACT.prelu, 0, null, 0), /act prelu needs a slope/);
  assert.throws(() => nat.conv2d(c.x, c.w, y, c.dims, c.bias, 2, ACT.relu6, 0, null, 0, {}), /'packedFilter' must be a packed-weight handle/);
  // out === x is in place (test/native-inplace.test.mjs); any other overlap is refused.
  assert.throws(() => nat.conv2d(c.x, c.w, c.x.subarray(8), [1, 4, 4, 8, 3, 4, 8, 1, 1, 1, 1, 1, 1, 0, 0], null, 0, 0, 0, null, 0),
                /must not share memory/);
});

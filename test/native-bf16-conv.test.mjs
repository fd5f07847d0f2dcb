// SPDX-License-Identifier: Apache-2.0
// node --test test/native-bf16-conv.test.mjs — conv2dBf16's paths (native/ops/conv2d_bf16.h): the
// direct path at avx512_bf16 (a padded bf16 copy of x read in place by vdpbf16ps register tiles,
// native/ops/conv2d_bf16_direct.h) and the implicit / explicit im2col GEMMs elsewhere.
//
// Each random case (shapes, strides, pads of any sign, dilations, channel counts odd and even, every
// epilogue form) is also a GEMM case: A = im2col(x) built here in JS, B = the filter. Checks:
//  * against float64 on the bf16-rounded operands (f32 accumulation's bound by K, as
//    test/native-bf16.test.mjs) and against the f32 conv (bf16's bound);
//  * bitwise: conv2dBf16 on its default path (direct where it applies) = AFTERBURNER_CONV=implicit =
//    bf16Gemm on the im2col matrix, at every level up to avx512_bf16 and at 1 and 2 threads;
//  * which path runs (bf16ConvPath): direct at avx512_bf16 (any in_c), never below it;
//  * NaN / Inf in x, the 56x56x64 shape, bad arguments.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {ACT, actRef, bf} from './lib/gemm-ref.mjs';
import {LADDER, nativeKit, operandAt, sameBits, U} from './lib/native-kit.mjs';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');
const {rnd, randArray, epilogues, withLevel, withThreads} = nativeKit(nat, 777);

const cpuMax = LADDER.indexOf(nat.isaCpu());
const LEVELS = nat.isaBuiltLevels().filter((l) => LADDER.indexOf(l) <= cpuMax && l !== 'amx');
const TOP = LEVELS.at(-1);
const HAS_DIRECT = TOP === 'avx512_bf16' && !nat.bf16Policy().emulate;
const KC_PAIRS = 256;
const pick = (a) => a[Math.floor((rnd() + 1) / 2 * a.length) % a.length];
const int = (lo, hi) => lo + Math.floor((rnd() + 1) / 2 * (hi - lo + 1)) % (hi - lo + 1);

function withEnv(name, value, fn) {
  const prev = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return fn();
  } finally {
    if (prev === undefined) delete process.env[name];
    else process.env[name] = prev;
  }
}

/** A conv case: x, filter, dims (conv2dBf16's 15), its im2col matrix and an epilogue. */
function makeCase(s, ep = {}) {
  const {B, H, W, C, OC, FH, FW, sh, sw, dh, dw, top, left, OH, OW} = s;
  const x = s.x ?? randArray(B * H * W * C), f = randArray(FH * FW * C * OC, 0.5);
  const K = FH * FW * C, M = B * OH * OW;
  const cols = new Float32Array(M * K);
  for (let m = 0; m < M; ++m) {
    const ow = m % OW, oh = Math.floor(m / OW) % OH, b = Math.floor(m / (OW * OH));
    for (let fh = 0; fh < FH; ++fh)
      for (let fw = 0; fw < FW; ++fw) {
        const ih = oh * sh - top + fh * dh, iw = ow * sw - left + fw * dw;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
        for (let ci = 0; ci < C; ++ci) cols[m * K + (fh * FW + fw) * C + ci] = x[((b * H + ih) * W + iw) * C + ci];
      }
  }
  const e = {bias: null, biasMode: 0, act: 0, alpha: 0, slope: null, slopeMode: 0, ...ep};
  return {...s, x, f, K, M, N: OC, cols, packed: nat.bf16Pack(f, K, OC, false),
    dims: [B, H, W, C, OH, OW, OC, FH, FW, sh, sw, dh, dw, top, left], ...e};
}

const conv = (c) => {
  const out = new Float32Array(c.M * c.N).fill(NaN);  // never read
  nat.conv2dBf16(c.x, c.packed, out, c.dims, c.bias, c.biasMode, c.act, c.alpha, c.slope, c.slopeMode);
  return out;
};
const gemmOnCols = (c) => {
  const out = new Float32Array(c.M * c.N);
  nat.bf16Gemm(c.cols, c.packed, out, c.M, c.N, c.K, false, c.bias, c.biasMode, c.act, c.alpha, c.slope, c.slopeMode);
  return out;
};

/** out against float64 on the bf16-rounded operands and against the f32 conv (as native-bf16's checkCase). */
function checkRef(c, out, label) {
  const nb = Math.max(1, Math.ceil(Math.ceil(c.K / 2) / KC_PAIRS));
  const n = 2 * Math.ceil(c.K / 2) + nb + 2;
  const gamma = (n * U) / (1 - n * U), gammaF = ((c.K + 2) * U) / (1 - (c.K + 2) * U);
  const f32 = new Float32Array(c.M * c.N);
  nat.conv2d(c.x, c.f, f32, c.dims, c.bias, c.biasMode, c.act, c.alpha, c.slope, c.slopeMode);
  const fb = c.f.map(bf);
  for (let i = 0; i < c.M; ++i) {
    const arow = c.cols.subarray(i * c.K, (i + 1) * c.K), ab = arow.map(bf);
    for (let j = 0; j < c.N; ++j) {
      let s = 0, sabs = 0, sraw = 0;
      for (let k = 0; k < c.K; ++k) {
        const p = ab[k] * fb[k * c.N + j];
        s += p;
        sabs += Math.abs(p);
        sraw += Math.abs(arow[k] * c.f[k * c.N + j]);
      }
      const bias = c.biasMode ? operandAt(c.bias, c.biasMode, i, j, c.N) : 0;
      const slope = c.act === ACT.prelu ? operandAt(c.slope, c.slopeMode, i, j, c.N) : c.alpha;
      const L = c.act === ACT.prelu || c.act === ACT.leakyrelu ? Math.max(1, Math.abs(slope)) : 1;
      const ref = actRef(s + bias, c.act, c.alpha, slope);
      const got = out[i * c.N + j];
      const tol = gamma * (sabs + Math.abs(bias)) * L + 4 * U * Math.abs(ref) + 1e-30;
      if (!(Math.abs(got - ref) <= tol))
        assert.fail(`${label}: y[${i}][${j}] = ${got}, float64 on bf16 operands = ${ref}, |err| ${Math.abs(got - ref)} > ${tol}`);
      const tolF = ((2 ** -7 + 2 ** -16) * sraw + gamma * sabs + gammaF * (sraw + Math.abs(bias))) * L + 8 * U * Math.abs(ref) + 1e-30;
      const dF = Math.abs(got - f32[i * c.N + j]);
      if (!(dF <= tolF)) assert.fail(`${label}: y[${i}][${j}] = ${got}, f32 conv ${f32[i * c.N + j]}, |diff| ${dF} > ${tolF}`);
    }
  }
}

/**
 * conv2dBf16 at every level, 1 and 2 threads, default and implicit paths: the bits of bf16Gemm on
 * im2col at that level, and the same bits at every level (elu and sigmoid: the per-level f32
 * activation kernels, as in the GEMM, so their bits are compared per level only).
 */
function checkBits(c, label) {
  const top = withLevel(TOP, () => gemmOnCols(c));
  const heavy = c.act === ACT.elu || c.act === ACT.sigmoid;
  for (const level of LEVELS) {
    const ref = withLevel(level, () => gemmOnCols(c));
    if (!heavy) sameBits(ref, top, `${label} bf16Gemm ${level} vs ${TOP}`);
    for (const threads of [1, 2])
      for (const mode of [undefined, 'implicit']) {
        const out = withEnv('AFTERBURNER_CONV', mode, () => withThreads(threads, () => withLevel(level, () => conv(c))));
        sameBits(out, ref, `${label} ${level} ${threads}T ${mode ?? 'default'}`);
      }
  }
  return top;
}

/** A random geometry (explicit pads of any sign; output size from them, >= 1). */
function randomShape(i) {
  for (;;) {
    const C = pick([1, 2, 3, 4, 6, 7, 8, 16, 18, 24, 32, 64, 5, 130, 131]), OC = pick([1, 5, 16, 32, 33, 48, 64, 65, 100]);
    const FH = int(1, 5), FW = int(1, 5), sh = int(1, 3), sw = int(1, 3), dh = int(1, 2), dw = int(1, 2);
    const B = i % 3 === 0 ? 2 : 1, H = int(1, 13), W = int(1, 17);
    const top = int(-1, 3), left = int(-1, 3), bottom = int(-1, 3), right = int(-1, 3);
    const OH = Math.floor((H + top + bottom - dh * (FH - 1) - 1) / sh) + 1;
    const OW = Math.floor((W + left + right - dw * (FW - 1) - 1) / sw) + 1;
    if (OH < 1 || OW < 1) continue;
    if (B * OH * OW * OC * FH * FW * C > 1.5e6) continue;
    return {B, H, W, C, OC, FH, FW, sh, sw, dh, dw, top, left, OH, OW};
  }
}
const shapeName = (s) => `${s.B}x${s.H}x${s.W}x${s.C} f${s.FH}x${s.FW}->${s.OC} s${s.sh},${s.sw} d${s.dh},${s.dw} ` +
  `pad ${s.top},${s.left} out ${s.OH}x${s.OW}`;

test('conv2dBf16: random shapes, strides, pads, dilations and epilogues: float64 bound, bitwise at every level and thread count', () => {
  let direct = 0;
  for (let i = 0; i < 40; ++i) {
    const s = randomShape(i);
    const M = s.B * s.OH * s.OW;
    const c = makeCase(s, pick(epilogues(M, s.OC)));
    const label = `#${i} ${shapeName(s)} act ${c.act} bias ${c.biasMode}`;
    const path = withLevel(TOP, () => nat.bf16ConvPath(c.dims));
    const pointwise = s.FH === 1 && s.FW === 1 && s.sh === 1 && s.sw === 1 && s.top === 0 && s.left === 0 &&
      s.OH === s.H && s.OW === s.W;
    if (pointwise) assert.equal(path, 'gemm', label);
    else if (HAS_DIRECT) assert.equal(path, 'direct', label);
    else assert.equal(path, 'implicit', label);
    if (path === 'direct') ++direct;
    const out = checkBits(c, label);
    checkRef(c, out, label);
  }
  if (HAS_DIRECT) assert.ok(direct >= 20, `only ${direct} cases ran the direct path`);
});

test('conv2dBf16: every epilogue form on the direct path (3x3 and 5x5, strides 1 and 2, dilations, odd in_c, up to 3 K blocks)', () => {
  const shapes = [
    {B: 1, H: 9, W: 16, C: 16, OC: 70, FH: 3, FW: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 1, left: 1, OH: 9, OW: 16},
    {B: 2, H: 11, W: 10, C: 64, OC: 40, FH: 3, FW: 3, sh: 2, sw: 2, dh: 1, dw: 1, top: 0, left: 0, OH: 5, OW: 5},
    {B: 1, H: 6, W: 7, C: 120, OC: 33, FH: 3, FW: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 1, left: 1, OH: 6, OW: 7},
    // odd in_c: pairs across filter rows / taps, K odd (a last pair with a zero), 3 K blocks
    {B: 1, H: 17, W: 19, C: 3, OC: 24, FH: 5, FW: 5, sh: 2, sw: 2, dh: 1, dw: 1, top: 1, left: 2, OH: 8, OW: 9},
    {B: 1, H: 8, W: 9, C: 131, OC: 20, FH: 3, FW: 3, sh: 1, sw: 1, dh: 2, dw: 2, top: 2, left: 2, OH: 8, OW: 9},
    {B: 2, H: 9, W: 9, C: 1, OC: 32, FH: 3, FW: 3, sh: 2, sw: 2, dh: 1, dw: 3, top: 0, left: 3, OH: 4, OW: 4},
  ];
  for (const s of shapes) {
    const M = s.B * s.OH * s.OW;
    for (const ep of epilogues(M, s.OC)) {
      const c = makeCase(s, ep);
      const label = `${shapeName(s)} act ${c.act} bias ${c.biasMode} slope ${c.slopeMode}`;
      if (HAS_DIRECT) assert.equal(withLevel(TOP, () => nat.bf16ConvPath(c.dims)), 'direct', label);
      checkRef(c, checkBits(c, label), label);
    }
  }
});

test('conv2dBf16: NaN and Inf in x give the same bits on every path and level', () => {
  const s = {B: 1, H: 7, W: 9, C: 8, OC: 20, FH: 3, FW: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 1, left: 1, OH: 7, OW: 9};
  const x = randArray(7 * 9 * 8);
  x[5] = NaN;
  x[100] = Infinity;
  x[301] = -Infinity;
  x[302] = 1e-40;  // a denormal: bf16 rounding makes it a zero
  const out = checkBits(makeCase({...s, x}, {bias: randArray(20), biasMode: 2, act: ACT.relu}), 'nan/inf');
  assert.ok(out.some(Number.isNaN));
  assert.ok(out.some((v) => Number.isFinite(v)));
});

test('conv2dBf16: the issue\'s 3x3 64->64 on 1x56x56x64: direct = implicit, bitwise, 1 and 2 threads', () => {
  const s = {B: 1, H: 56, W: 56, C: 64, OC: 64, FH: 3, FW: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 1, left: 1, OH: 56, OW: 56};
  const x = randArray(56 * 56 * 64), f = randArray(576 * 64, 0.5), packed = nat.bf16Pack(f, 576, 64, false);
  const dims = [1, 56, 56, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1];
  const bias = randArray(64);
  const run = (mode, threads) => withEnv('AFTERBURNER_CONV', mode, () => withThreads(threads, () => {
    const out = new Float32Array(56 * 56 * 64);
    nat.conv2dBf16(x, packed, out, dims, bias, 2, ACT.relu, 0, null, 0);
    return out;
  }));
  if (HAS_DIRECT) assert.equal(nat.bf16ConvPath(dims), 'direct');
  const ref = run('implicit', 1);
  sameBits(run(undefined, 1), ref, '1T');
  sameBits(run(undefined, 2), ref, '2T');
  // a few outputs against float64 on the bf16-rounded operands
  for (const o of [0, 55, 56 * 30 + 7, 3135]) {
    const oh = Math.floor(o / 56), ow = o % 56;
    for (const j of [0, 31, 63]) {
      let sum = 0, sabs = 0;
      for (let fh = 0; fh < 3; ++fh)
        for (let fw = 0; fw < 3; ++fw) {
          const ih = oh - 1 + fh, iw = ow - 1 + fw;
          if (ih < 0 || ih >= 56 || iw < 0 || iw >= 56) continue;
          for (let ci = 0; ci < 64; ++ci) {
            const p = bf(x[(ih * 56 + iw) * 64 + ci]) * bf(f[((fh * 3 + fw) * 64 + ci) * 64 + j]);
            sum += p;
            sabs += Math.abs(p);
          }
        }
      const want = Math.max(0, sum + bias[j]);
      const tol = (((2 * 288 + 4) * U) / (1 - (2 * 288 + 4) * U)) * (sabs + Math.abs(bias[j])) + 4 * U * Math.abs(want);
      assert.ok(Math.abs(ref[o * 64 + j] - want) <= tol, `y[${o}][${j}] = ${ref[o * 64 + j]} vs ${want}`);
    }
  }
});

test('conv2dBf16 paths: bf16ConvPath below avx512_bf16 and under AFTERBURNER_CONV; bad arguments throw', () => {
  const dims = [1, 8, 8, 16, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1];
  for (const level of LEVELS.filter((l) => l !== 'avx512_bf16')) assert.equal(withLevel(level, () => nat.bf16ConvPath(dims)), 'implicit', level);
  withLevel(TOP, () => {
    assert.equal(withEnv('AFTERBURNER_CONV', 'implicit', () => nat.bf16ConvPath(dims)), 'implicit');
    assert.equal(withEnv('AFTERBURNER_CONV', 'im2col', () => nat.bf16ConvPath(dims)), 'im2col');
    assert.equal(nat.bf16ConvPath([1, 8, 8, 16, 8, 8, 32, 1, 1, 1, 1, 1, 1, 0, 0]), 'gemm');
    assert.equal(nat.bf16ConvPath([1, 8, 8, 3, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1]), HAS_DIRECT ? 'direct' : 'implicit', 'odd in_c');
    assert.equal(nat.bf16ConvPath([0, 8, 8, 16, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1]), 'empty');
    assert.equal(nat.bf16ConvPath(dims), HAS_DIRECT ? 'direct' : 'implicit');
    // a huge dilation with one output would copy mostly unread pixels: the implicit path
    assert.equal(nat.bf16ConvPath([1, 8, 8, 16, 1, 1, 32, 3, 3, 1, 1, 100000, 100000, 0, 0]), 'implicit');
  });
  assert.throws(() => nat.bf16ConvPath([1, 2, 3]), /bf16ConvPath: 'dims' must hold 15 integers/);
  assert.throws(() => nat.bf16ConvPath([1, 8, 8, 16, 8, 8, 32, 3, 3, 0, 1, 1, 1, 1, 1]), /bf16ConvPath: strides and dilations must be >= 1/);
  assert.throws(() => nat.bf16ConvPath(), /bf16ConvPath: expected 1 argument/);
  // conv2dBf16's checks hold on the direct path too
  const x = randArray(8 * 8 * 16), packed = nat.bf16Pack(randArray(144 * 32), 144, 32, false);
  assert.throws(() => nat.conv2dBf16(x, packed, new Float32Array(8 * 8 * 32 - 1), dims, null, 0, 0, 0, null, 0),
      /conv2dBf16: x or out is smaller than its shape/);
  assert.throws(() => nat.conv2dBf16(x, nat.bf16Pack(randArray(144 * 32), 143, 32, false), new Float32Array(2048), dims, null, 0, 0, 0, null, 0),
      /conv2dBf16: 'packed' holds a 143 x 32 matrix/);
});

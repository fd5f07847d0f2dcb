// SPDX-License-Identifier: Apache-2.0
// bf16 weights end to end (issue 3, point 3): a weight marked by toBf16Weight() makes tf.matMul /
// tf.fused.matMul (as B) and tf.conv2d / tf.fused.conv2d (as the filter) run the bf16 GEMM
// (native/gemm/gemm_bf16.h, native/ops/conv2d_bf16.h). Checked against float64 on the
// bf16-rounded operands (f32 accumulation's bound) and against the f32 result (bf16's bound), the
// same bits at every ISA level, freed on dispose; ab.optimize(model, {dtype: 'bfloat16'}) on a
// small LayersModel, on nsfwjs MobileNetV2 (same top-1, probabilities within 0.03; 0.007 seen over 8
// images) and on the MobileNetV2Mid GraphModel (within 0.05; 0.026 seen).
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {bf} from './lib/gemm-ref.mjs';
import {ab, images, inputBatch, loadModel, modelById, predict, quietCpu, tf, tfl} from './lib/models.mjs';

const require = createRequire(import.meta.url);
const wc = require('../dist/cjs/backend/weight-cache.js');
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');

quietCpu();
await tf.setBackend('afterburner');
// The levels that give the same bits (amx rounds its own way: test/native-amx.test.mjs).
const LEVELS = ab.isa.effective().filter((l) => l !== 'amx');
const TOP = LEVELS.at(-1);
const U = 2 ** -24;
const KC_PAIRS = 256;  // kBf16KcPairs

let seed = 12345;
function rnd() {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 2 ** 32 - 0.5;
}
const randArray = (n, scale = 1) => Float32Array.from({length: n}, () => 2 * scale * rnd());

function withLevel(level, fn) {
  const prev = ab.isa.current();
  ab.isa.set(level);
  try {
    return fn();
  } finally {
    ab.isa.set(prev);
  }
}

function sameBits(x, y, label) {
  assert.equal(x.length, y.length, label);
  const a = new Uint32Array(x.buffer, x.byteOffset, x.length), b = new Uint32Array(y.buffer, y.byteOffset, y.length);
  for (let i = 0; i < a.length; ++i) if (a[i] !== b[i]) assert.fail(`${label}: [${i}] ${x[i]} vs ${y[i]} (bits differ)`);
}

const ACTS = {
  linear: (v) => v,
  relu: (v) => Math.max(0, v),
  prelu: (v, s) => (v < 0 ? s * v : v),
};

/**
 * Checks got (f32 via bf16 weights) against terms(o) -> [{a, b}] (float64 on bf16-rounded operands,
 * the bound of f32 accumulation in K blocks) and against f32 (the f32 kernel's output; bf16's bound).
 */
function checkOutputs(got, f32, count, termsOf, epOf, label) {
  let worstRef = 0, worstF = 0;
  for (let o = 0; o < count; ++o) {
    const terms = termsOf(o);
    const K = terms.K;
    const nb = Math.max(1, Math.ceil(Math.ceil(K / 2) / KC_PAIRS));
    const n = 2 * Math.ceil(K / 2) + nb + 2;
    const gamma = (n * U) / (1 - n * U), gammaF = ((K + 2) * U) / (1 - (K + 2) * U);
    let s = 0, sabs = 0, sraw = 0;
    for (const [a, b] of terms.pairs) {
      const p = bf(a) * bf(b);
      s += p;
      sabs += Math.abs(p);
      sraw += Math.abs(a * b);
    }
    const {bias, act, slope} = epOf(o);
    const ref = ACTS[act](s + bias, slope);
    const L = act === 'prelu' ? Math.max(1, Math.abs(slope)) : 1;
    const tol = (gamma * (sabs + Math.abs(bias))) * L + 4 * U * Math.abs(ref) + 1e-30;
    const err = Math.abs(got[o] - ref);
    if (!(err <= tol)) assert.fail(`${label}: out[${o}] = ${got[o]}, float64 on bf16 operands = ${ref}, |err| ${err} > ${tol}`);
    const tolF = ((2 ** -7 + 2 ** -16) * sraw + gamma * sabs + gammaF * (sraw + Math.abs(bias))) * L + 8 * U * Math.abs(ref) + 1e-30;
    const dF = Math.abs(got[o] - f32[o]);
    if (!(dF <= tolF)) assert.fail(`${label}: out[${o}] = ${got[o]}, f32 ${f32[o]}, |diff| ${dF} > ${tolF}`);
    worstRef = Math.max(worstRef, err / tol);
    worstF = Math.max(worstF, dF / tolF);
  }
  return {worstRef, worstF};
}

// ---- conv2d

const CONVS = [
  {name: '1x1 s1 (one GEMM on x)', x: [1, 7, 6, 24], f: [1, 1, 24, 40], strides: 1, pad: 'valid'},
  {name: '3x3 same', x: [1, 9, 8, 16], f: [3, 3, 16, 33], strides: 1, pad: 'same'},
  {name: '3x3 valid', x: [1, 9, 10, 5], f: [3, 3, 5, 12], strides: 1, pad: 'valid'},
  {name: '3x3 stride 2 same', x: [1, 11, 12, 8], f: [3, 3, 8, 16], strides: 2, pad: 'same'},
  {name: '3x3 batch 2 same, fused bias+relu', x: [2, 8, 7, 12], f: [3, 3, 12, 20], strides: 1, pad: 'same', bias: true, act: 'relu'},
  {name: '1x1 batch 2, fused bias+prelu', x: [2, 5, 5, 18], f: [1, 1, 18, 10], strides: 1, pad: 'valid', bias: true, act: 'prelu'},
  {name: '3x3 stride 2 valid, fused prelu, K > 2 blocks', x: [1, 7, 7, 130], f: [3, 3, 130, 9], strides: 2, pad: 'valid', bias: true, act: 'prelu'},
  {name: '3x3 batch 2 same, threaded (M = 800)', x: [2, 20, 20, 32], f: [3, 3, 32, 48], strides: 1, pad: 'same', bias: true, act: 'relu'},
  {name: '5x5 dilation 2 same', x: [1, 12, 12, 4], f: [5, 5, 4, 8], strides: 1, pad: 'same', dilations: 2},
];

function convRun(c, x, f, bias, slope) {
  if (!c.bias && !c.act) return tf.conv2d(x, f, c.strides, c.pad, 'NHWC', c.dilations ?? 1);
  return tf.fused.conv2d({x, filter: f, strides: c.strides, pad: c.pad, dilations: c.dilations ?? 1, bias,
    activation: c.act ?? 'linear', preluActivationWeights: c.act === 'prelu' ? slope : undefined});
}

test('conv2d with a bf16 filter: float64 on bf16 operands, f32 within bf16 bound, same bits at every ISA level', () => {
  for (const c of CONVS) {
    const xv = randArray(c.x.reduce((a, b) => a * b)), fv = randArray(c.f.reduce((a, b) => a * b), 0.5);
    const oc = c.f[3];
    const bv = randArray(oc), sv = randArray(oc, 0.4);
    const x = tf.tensor(xv, c.x), f = tf.tensor(fv, c.f), bias = tf.tensor(bv, [oc]), slope = tf.tensor(sv, [oc]);
    const y32 = convRun(c, x, f, bias, slope);
    const f32 = y32.dataSync().slice();
    assert.equal(wc.toBf16Weight(f, 'conv2d'), true);
    const perLevel = LEVELS.map((l) => withLevel(l, () => tf.tidy(() => convRun(c, x, f, bias, slope).dataSync().slice())));
    for (let i = 1; i < LEVELS.length; ++i) sameBits(perLevel[i], perLevel[0], `${c.name}: ${LEVELS[i]} vs ${LEVELS[0]}`);
    const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.strides, c.dilations ?? 1, c.pad);
    const {outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw} = info;
    const [, H, W, C] = c.x, [FH, FW] = c.f, {top, left} = info.padInfo;
    const termsOf = (o) => {
      const n = o % oc, p = Math.floor(o / oc), ow = p % OW, oh = Math.floor(p / OW) % OH, b = Math.floor(p / (OW * OH));
      const pairs = [];
      for (let fh = 0; fh < FH; ++fh)
        for (let fw = 0; fw < FW; ++fw) {
          const ih = oh * sh - top + fh * dh, iw = ow * sw - left + fw * dw;
          if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
          for (let ci = 0; ci < C; ++ci) pairs.push([xv[((b * H + ih) * W + iw) * C + ci], fv[((fh * FW + fw) * C + ci) * oc + n]]);
        }
      return {pairs, K: FH * FW * C};
    };
    const epOf = (o) => ({bias: c.bias ? bv[o % oc] : 0, act: c.act ?? 'linear', slope: sv[o % oc]});
    checkOutputs(perLevel[0], f32, f32.length, termsOf, epOf, c.name);
    assert.ok(perLevel[0].some((v, i) => v !== f32[i]), `${c.name}: bf16 must differ from f32 somewhere`);
    tf.dispose([x, f, bias, slope, y32]);
  }
});

// ---- matmul

const MATMULS = [
  {name: '[8,96]x[96,70]', a: [8, 96], b: [96, 70]},
  {name: 'M = 1 (GEMV)', a: [1, 300], b: [300, 40]},
  {name: 'transposeB', a: [5, 33], b: [17, 33], tB: true},
  {name: 'transposeA, batch 3 a with one B', a: [3, 40, 6], b: [40, 24], tA: true},
  {name: 'batch 2 a, fused bias+relu', a: [2, 9, 64], b: [64, 48], bias: [48], act: 'relu'},
  {name: 'fused matrix bias + prelu, batch 2', a: [2, 4, 20], b: [20, 12], bias: [4, 12], act: 'prelu'},
  {name: 'K = 1000 (several K blocks)', a: [3, 1000], b: [1000, 20]},
];

test('matMul with a bf16 B: float64 on bf16 operands, f32 within bf16 bound, same bits at every ISA level', () => {
  for (const c of MATMULS) {
    const av = randArray(c.a.reduce((x, y) => x * y)), bv = randArray(c.b.reduce((x, y) => x * y), 0.5);
    const rb = c.b.length, N = c.tB ? c.b[rb - 2] : c.b[rb - 1], K = c.tB ? c.b[rb - 1] : c.b[rb - 2];
    const ra = c.a.length, M = c.tA ? c.a[ra - 1] : c.a[ra - 2];
    const batch = c.a.slice(0, -2).reduce((x, y) => x * y, 1);
    const biasv = c.bias ? randArray(c.bias.reduce((x, y) => x * y)) : null, sv = randArray(N, 0.4);
    const a = tf.tensor(av, c.a), b = tf.tensor(bv, c.b);
    const bias = biasv ? tf.tensor(biasv, c.bias) : undefined, slope = tf.tensor(sv, [N]);
    const run = () => (c.bias || c.act ?
      tf.fused.matMul({a, b, transposeA: !!c.tA, transposeB: !!c.tB, bias, activation: c.act ?? 'linear',
        preluActivationWeights: c.act === 'prelu' ? slope : undefined}) :
      tf.matMul(a, b, !!c.tA, !!c.tB));
    const f32 = tf.tidy(() => run().dataSync().slice());
    assert.equal(wc.toBf16Weight(b, c.tB ? 'matmulT' : 'matmul'), true);
    const perLevel = LEVELS.map((l) => withLevel(l, () => tf.tidy(() => run().dataSync().slice())));
    for (let i = 1; i < LEVELS.length; ++i) sameBits(perLevel[i], perLevel[0], `${c.name}: ${LEVELS[i]} vs ${LEVELS[0]}`);
    const aAt = (bi, i, k) => (c.tA ? av[bi * M * K + k * M + i] : av[bi * M * K + i * K + k]);
    const bAt = (k, j) => (c.tB ? bv[j * K + k] : bv[k * N + j]);
    const termsOf = (o) => {
      const j = o % N, i = Math.floor(o / N) % M, bi = Math.floor(o / (M * N));
      const pairs = [];
      for (let k = 0; k < K; ++k) pairs.push([aAt(bi, i, k), bAt(k, j)]);
      return {pairs, K};
    };
    const epOf = (o) => ({bias: biasv ? (c.bias.length === 1 ? biasv[o % N] : biasv[o % (M * N)]) : 0,
                          act: c.act ?? 'linear', slope: sv[o % N]});
    checkOutputs(perLevel[0], f32, batch * M * N, termsOf, epOf, c.name);
    assert.ok(perLevel[0].some((v, i) => v !== f32[i]), `${c.name}: bf16 must differ from f32 somewhere`);
    tf.dispose([a, b, bias, slope]);
  }
});

test('bf16 entries: opt-in, one per layout, freed on dispose, f32 packs dropped, bad kinds throw', () => {
  const s0 = ab.prepackStats();
  const f = tf.randomNormal([3, 3, 8, 16]), x = tf.randomNormal([1, 6, 6, 8]);
  // unmarked: f32 (bitwise as before marking anything)
  const y0 = tf.conv2d(x, f, 1, 'same').dataSync().slice();
  tf.conv2d(x, f, 1, 'same').dataSync();  // second use: packed f32
  assert.equal(ab.prepackStats().count, s0.count + 1);
  assert.equal(ab.prepackStats().bf16Count, s0.bf16Count);
  assert.equal(wc.toBf16Weight(f, 'conv2d'), true);
  let s = ab.prepackStats();
  assert.equal(s.count, s0.count + 1, 'the f32 pack was dropped, the bf16 one added');
  assert.equal(s.bf16Count, s0.bf16Count + 1);
  assert.equal(s.bf16Bytes - s0.bf16Bytes, 128 + 16 * 36 * 4 * 2, 'bf16Pack byteLength: header + 32 cols x 36 pairs x 4 B');
  assert.equal(s.bf16Weights, s0.bf16Weights + 1);
  const y1 = tf.conv2d(x, f, 1, 'same').dataSync();
  assert.ok(y1.some((v, i) => v !== y0[i]));
  // a reshape of the filter shares its data: the same mark; another layout packs again
  const f2 = tf.reshape(f, [72, 16]);
  const a = tf.randomNormal([4, 72]);
  tf.matMul(a, f2).dataSync();
  assert.equal(ab.prepackStats().bf16Count, s0.bf16Count + 1, 'the same 72 x 16 layout: the same entry');
  tf.matMul(tf.randomNormal([4, 16]), f2, false, true).dataSync();
  s = ab.prepackStats();
  assert.equal(s.bf16Count, s0.bf16Count + 2, 'a new K x N layout of a marked weight is packed bf16 at once');
  assert.equal(wc.prepackWeight(f, 'conv2d'), false, 'a bf16 weight is not prepacked f32');
  f2.dispose();
  f.dispose();
  s = ab.prepackStats();
  assert.equal(s.bf16Count, s0.bf16Count);
  assert.equal(s.bf16Bytes, s0.bf16Bytes);
  assert.equal(s.bf16Weights, s0.bf16Weights);
  assert.equal(s.count, s0.count);
  // a new tensor is not marked (even if it reuses nothing)
  const g = tf.randomNormal([3, 3, 8, 16]);
  tf.conv2d(x, g, 1, 'same').dataSync();
  assert.equal(ab.prepackStats().bf16Count, s0.bf16Count);
  assert.throws(() => wc.toBf16Weight(g, 'depthwiseConv2d'), /toBf16Weight: unknown weight kind 'depthwiseConv2d'/);
  assert.throws(() => wc.toBf16Weight(a, 'conv2d'), /toBf16Weight: a conv2d filter is \[fH, fW, inC, outC\]/);
  assert.equal(wc.toBf16Weight(tf.zeros([2, 2], 'int32'), 'matmul'), false);
  tf.dispose([x, g, a]);
});

test('a marked weight keeps its mark when its data visits another backend and comes back', async () => {
  // tfjs moves data lazily: running a bf16 model on 'cpu' moves its weights there (the afterburner
  // backend frees their packed forms); back on 'afterburner' they compute in bf16 again, not f32.
  const f = tf.randomNormal([3, 3, 8, 16]), x = tf.randomNormal([1, 6, 6, 8]);
  const b = tf.randomNormal([8, 5]), a = tf.randomNormal([3, 8]);
  const y32 = [tf.conv2d(x, f, 1, 'same').dataSync().slice(), tf.matMul(a, b).dataSync().slice()];
  assert.equal(wc.toBf16Weight(f, 'conv2d'), true);
  assert.equal(wc.toBf16Weight(b, 'matmul'), true);
  const y16 = [tf.conv2d(x, f, 1, 'same').dataSync().slice(), tf.matMul(a, b).dataSync().slice()];
  for (let i = 0; i < 2; ++i) assert.ok(y16[i].some((v, k) => v !== y32[i][k]), `op ${i}: bf16 differs from f32`);
  const s0 = ab.prepackStats();
  await tf.setBackend('cpu');
  try {
    sameBits(tf.conv2d(x, f, 1, 'same').dataSync(), y32[0], 'on cpu: tfjs-cpu\'s f32 conv');
    tf.matMul(a, b).dataSync();
    const s1 = ab.prepackStats();
    assert.equal(s0.bf16Weights - s1.bf16Weights, 2, 'the data left: its bf16 entries were freed');
  } finally {
    await tf.setBackend('afterburner');
  }
  sameBits(tf.conv2d(x, f, 1, 'same').dataSync(), y16[0], 'back on afterburner: the bf16 conv');
  sameBits(tf.matMul(a, b).dataSync(), y16[1], 'back on afterburner: the bf16 matmul');
  assert.equal(ab.prepackStats().bf16Weights, s0.bf16Weights, 'marked again');
  const left = ab.prepackStats().bf16Weights;
  tf.dispose([f, b]);
  assert.equal(ab.prepackStats().bf16Weights, left - 2, 'and freed on dispose');
  tf.dispose([x, a]);
});

test('conv2dBf16: implicit im2col = explicit im2col path = bf16Gemm on a JS-built im2col matrix, bitwise, any level and thread count', () => {
  for (const c of CONVS) {
    const xv = randArray(c.x.reduce((a, b) => a * b)), fv = randArray(c.f.reduce((a, b) => a * b), 0.5);
    const oc = c.f[3], bv = randArray(oc);
    const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.strides, c.dilations ?? 1, c.pad);
    const {outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw} = info;
    const [B, H, W, C] = c.x, [FH, FW] = c.f, {top, left} = info.padInfo;
    const K = FH * FW * C, M = B * OH * OW;
    const dims = [B, H, W, C, OH, OW, oc, FH, FW, sh, sw, dh, dw, top, left];
    const packed = nat.bf16Pack(fv, K, oc, false);
    const cols = new Float32Array(M * K);
    for (let m = 0; m < M; ++m) {
      const ow = m % OW, oh = Math.floor(m / OW) % OH, b = Math.floor(m / (OW * OH));
      for (let fh = 0; fh < FH; ++fh)
        for (let fw = 0; fw < FW; ++fw) {
          const ih = oh * sh - top + fh * dh, iw = ow * sw - left + fw * dw;
          if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
          for (let ci = 0; ci < C; ++ci) cols[m * K + (fh * FW + fw) * C + ci] = xv[((b * H + ih) * W + iw) * C + ci];
        }
    }
    const ref = new Float32Array(M * oc);
    withLevel(TOP, () => nat.bf16Gemm(cols, packed, ref, M, oc, K, false, bv, 2, 1, 0, null, 0));
    for (const level of LEVELS) {
      for (const threads of [1, 2]) {
        for (const mode of ['', 'im2col']) {
          const out = new Float32Array(M * oc);
          const prevT = ab.getNumThreads();
          if (mode) process.env.AFTERBURNER_CONV = mode;
          ab.setNumThreads(threads);
          try {
            withLevel(level, () => nat.conv2dBf16(xv, packed, out, dims, bv, 2, 1, 0, null, 0));
          } finally {
            delete process.env.AFTERBURNER_CONV;
            ab.setNumThreads(prevT);
          }
          sameBits(out, withLevel(level, () => {
            const r = new Float32Array(M * oc);
            nat.bf16Gemm(cols, packed, r, M, oc, K, false, bv, 2, 1, 0, null, 0);
            return r;
          }), `${c.name} ${level} ${threads}T ${mode || 'implicit'}`);
          sameBits(out, ref, `${c.name} ${level} ${threads}T ${mode || 'implicit'} vs ${TOP}`);
        }
      }
    }
  }
});

test('conv2dBf16: arguments validated, errors name the function and argument', () => {
  const x = randArray(1 * 4 * 4 * 3), w = randArray(2 * 2 * 3 * 5), packed = nat.bf16Pack(w, 12, 5, false);
  const dims = [1, 4, 4, 3, 3, 3, 5, 2, 2, 1, 1, 1, 1, 0, 0];
  const out = new Float32Array(45);
  const call = (o = {}) => {
    const v = {x, packed, out, dims, bias: null, bm: 0, act: 0, alpha: 0, slope: null, sm: 0, ...o};
    return nat.conv2dBf16(v.x, v.packed, v.out, v.dims, v.bias, v.bm, v.act, v.alpha, v.slope, v.sm);
  };
  call();
  const ref = new Float32Array(45);
  nat.conv2d(x, w, ref, dims, null, 0, 0, 0, null, 0);
  for (let i = 0; i < 45; ++i) assert.ok(Math.abs(ref[i] - out[i]) < 0.05, `${out[i]} vs ${ref[i]}`);
  assert.throws(() => call({x: [1, 2]}), /conv2dBf16: argument 'x' must be a Float32Array/);
  assert.throws(() => call({packed: new ArrayBuffer(8)}), /conv2dBf16: argument 'packed' is not a packed bf16 matrix/);
  assert.throws(() => call({packed: w}), /conv2dBf16: argument 'packed' must be an ArrayBuffer/);
  assert.throws(() => call({packed: nat.bf16Pack(w, 15, 4, false)}), /conv2dBf16: 'packed' holds a 15 x 4 matrix, the call needs K x N = 12 x 5/);
  assert.throws(() => call({dims: dims.slice(0, 14)}), /conv2dBf16: 'dims' must hold 15 integers/);
  assert.throws(() => call({dims: [1, 4, 4, 3, 3, 3, 5, 2, 2, 0, 1, 1, 1, 0, 0]}), /conv2dBf16: strides and dilations must be >= 1/);
  assert.throws(() => call({dims: [1, -4, 4, 3, 3, 3, 5, 2, 2, 1, 1, 1, 1, 0, 0]}), /conv2dBf16: dims\[1\] must be in/);
  assert.throws(() => call({x: new Float32Array(10)}), /conv2dBf16: x or out is smaller than its shape/);
  assert.throws(() => call({out: new Float32Array(44)}), /conv2dBf16: x or out is smaller than its shape/);
  assert.throws(() => call({out: x}), /conv2dBf16: 'out' must not share memory/);
  assert.throws(() => call({act: 5}), /conv2dBf16: .*slope/);
  assert.throws(() => call({bm: 2, bias: new Float32Array(2)}), /conv2dBf16: .*bias/);
  assert.throws(() => nat.conv2dBf16(x, packed, out, dims), /conv2dBf16: expected 10 arguments/);
});

// ---- ab.optimize({dtype: 'bfloat16'})

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; ++i) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('optimize({dtype: "bfloat16"}) on a small LayersModel: within bf16 tolerance, report counts, original unchanged', () => {
  const m = tfl.sequential({layers: [
    tfl.layers.conv2d({inputShape: [12, 12, 3], filters: 16, kernelSize: 3, padding: 'same', useBias: false}),
    tfl.layers.batchNormalization(),
    tfl.layers.reLU({}),
    tfl.layers.depthwiseConv2d({kernelSize: 3, padding: 'same'}),
    tfl.layers.conv2d({filters: 24, kernelSize: 1, activation: 'relu'}),
    tfl.layers.globalAveragePooling2d({}),
    tfl.layers.dense({units: 10, activation: 'softmax'}),
  ]});
  const bn = m.layers[1];
  bn.setWeights(bn.getWeights().map((w, i) => tf.add(w, tf.randomUniform(w.shape, 0.1, i === 3 ? 1 : 0.5))));
  const x = tf.randomUniform([2, 12, 12, 3]);
  const y0 = m.predict(x).dataSync().slice();
  const opt = ab.optimize(m, {dtype: 'bfloat16'});
  const r = opt.optimizationReport;
  assert.equal(r.bf16, 'applied');
  assert.equal(r.weightsBf16, 3, 'two conv filters and the dense kernel');
  assert.equal(r.weightsPacked, 0);
  assert.deepEqual(r.leftAlone.filter((l) => /bf16/.test(l.reason)).map((l) => [l.op, l.reason]),
      [['depthwise filter', 'bf16: stays float32 (there is no bf16 depthwise kernel)']]);
  const y1 = opt.predict(x).dataSync().slice();
  assert.ok(maxAbsDiff(y0, y1) > 0, 'bf16 changes the numerics');
  assert.ok(maxAbsDiff(y0, y1) < 2e-2, `softmax outputs within 2e-2 of f32: ${maxAbsDiff(y0, y1)}`);
  const y2 = m.predict(x).dataSync();
  sameBits(y2, y0, 'the original model still computes in f32');
  // every level: the bf16 GEMMs give the same bits; the f32 kernels around them (depthwise, pooling,
  // softmax) round per level, so the model agrees to f32 rounding, far below the bf16 differences
  const perLevel = LEVELS.map((l) => withLevel(l, () => tf.tidy(() => opt.predict(x).dataSync().slice())));
  for (let i = 1; i < LEVELS.length; ++i) {
    const d = maxAbsDiff(perLevel[i], perLevel[0]);
    assert.ok(d <= 1e-6, `optimized model: ${LEVELS[i]} vs ${LEVELS[0]}: ${d}`);
  }
  const before = ab.prepackStats();
  opt.dispose();
  assert.equal(ab.prepackStats().bf16Weights, before.bf16Weights - 3, 'disposing the model frees its bf16 weights');
  m.dispose();
  x.dispose();
});

test('optimize({dtype: "bfloat16"}) on nsfwjs MobileNetV2: same top-1, probabilities within 0.03 of f32', async () => {
  const spec = modelById('nsfw-mobilenetv2');
  const loaded = await loadModel(spec);
  const inp = inputBatch(spec, Math.min(4, images().length));
  const x = tf.tensor(inp.data, inp.shape, inp.dtype);
  const [y0t] = await predict(spec, loaded, x);
  const y0 = y0t.dataSync().slice();
  const opt = ab.optimize(loaded.model, {dtype: 'bfloat16'});
  const r = opt.optimizationReport;
  const conv = r.weightCandidates.filter((w) => w.kind === 'conv2d').length;
  const dense = r.weightCandidates.filter((w) => w.kind === 'matmul').length;
  const dw = r.weightCandidates.filter((w) => w.kind === 'depthwiseConv2d').length;
  assert.ok(conv > 30 && dense >= 1 && dw > 10, `candidates conv ${conv} dense ${dense} depthwise ${dw}`);
  assert.equal(r.weightsBf16, conv + dense);
  assert.equal(r.leftAlone.filter((l) => /bf16/.test(l.reason)).length, dw);
  const y1t = opt.predict(x);
  const y1 = y1t.dataSync().slice();
  const C = y0.length / inp.shape[0];
  for (let i = 0; i < inp.shape[0]; ++i) {
    const r0 = y0.subarray(i * C, (i + 1) * C), r1 = y1.subarray(i * C, (i + 1) * C);
    assert.equal(r1.indexOf(Math.max(...r1)), r0.indexOf(Math.max(...r0)), `${inp.names[i]}: top-1`);
  }
  const d = maxAbsDiff(y0, y1);
  assert.ok(d > 0 && d < 0.03, `max |p_bf16 - p_f32| = ${d}`);
  tf.dispose([x, y0t, y1t]);
  opt.dispose();
  loaded.model.dispose();
});

test('optimize({dtype: "bfloat16"}) on a GraphModel (nsfwjs MobileNetV2Mid): own weight data, original unchanged, same top-1', async () => {
  const spec = modelById('nsfw-mobilenetv2mid');
  const loaded = await loadModel(spec);
  const inp = inputBatch(spec, 2);
  const x = tf.tensor(inp.data, inp.shape, inp.dtype);
  const [y0t] = await predict(spec, loaded, x);
  const y0 = y0t.dataSync().slice();
  const s0 = ab.prepackStats();
  const opt = ab.optimize(loaded.model, {dtype: 'bfloat16'});
  const r = opt.optimizationReport;
  const gemm = r.weightCandidates.filter((w) => w.kind !== 'depthwiseConv2d').length;
  assert.ok(gemm > 30, `conv/matmul candidates: ${gemm}`);
  assert.equal(r.weightsBf16, gemm);
  assert.ok(ab.prepackStats().bf16Weights - s0.bf16Weights > 30, 'the copy\'s weights, marked bf16 (data of their own)');
  const [y1t] = await predict(spec, {...loaded, model: opt}, x);
  const y1 = y1t.dataSync().slice();
  const [y2t] = await predict(spec, loaded, x);
  sameBits(y2t.dataSync(), y0, 'the original GraphModel still computes in f32');
  const C = y0.length / 2;
  for (let i = 0; i < 2; ++i) {
    const r0 = y0.subarray(i * C, (i + 1) * C), r1 = y1.subarray(i * C, (i + 1) * C);
    assert.equal(r1.indexOf(Math.max(...r1)), r0.indexOf(Math.max(...r0)), `${inp.names[i]}: top-1`);
  }
  const d = maxAbsDiff(y0, y1);
  assert.ok(d > 0 && d < 0.05, `max |p_bf16 - p_f32| = ${d}`);  // 0.026 seen over 8 images
  tf.dispose([x, y0t, y1t, y2t]);
  opt.dispose();
  assert.equal(ab.prepackStats().bf16Weights, s0.bf16Weights, 'disposing the optimized model frees its bf16 weights');
  loaded.model.dispose();
});

test('bf16 filter through NCHW conv2d (run on NHWC between transposes) and optimize({inplace: true})', () => {
  const x = tf.randomNormal([1, 8, 8, 16]), f = tf.randomNormal([3, 3, 16, 24]);
  assert.equal(wc.toBf16Weight(f, 'conv2d'), true);
  const nhwc = tf.conv2d(x, f, 1, 'same');
  const xc = tf.transpose(x, [0, 3, 1, 2]);
  const nchw = tf.transpose(tf.conv2d(xc, f, 1, 'same', 'NCHW'), [0, 2, 3, 1]);
  sameBits(nchw.dataSync(), nhwc.dataSync(), 'NCHW vs NHWC with a bf16 filter');
  tf.dispose([x, f, nhwc, xc, nchw]);

  const m = tfl.sequential({layers: [tfl.layers.dense({inputShape: [32], units: 16, activation: 'relu'}), tfl.layers.dense({units: 4})]});
  const xi = tf.randomNormal([3, 32]);
  const y0 = m.predict(xi).dataSync().slice();
  const s0 = ab.prepackStats();
  const same = ab.optimize(m, {dtype: 'bfloat16', inplace: true});
  assert.equal(same, m);
  assert.equal(same.optimizationReport.weightsBf16, 2);
  assert.equal(ab.prepackStats().bf16Weights, s0.bf16Weights + 2);
  const y1 = m.predict(xi).dataSync();
  assert.ok(maxAbsDiff(y0, y1) > 0 && maxAbsDiff(y0, y1) < 0.05, `${maxAbsDiff(y0, y1)}`);
  m.dispose();
  xi.dispose();
  assert.equal(ab.prepackStats().bf16Weights, s0.bf16Weights);
});

// ---- ab.compile({dtype: 'bfloat16'}) and ab.compile(ab.optimize(m, {dtype: 'bfloat16'}))

test('compile({dtype: "bfloat16"}): matmul and conv weights run the bf16 GEMM; equal to float64 of bf16-rounded operands', () => {
  const w = tf.randomNormal([64, 40]), f = tf.randomNormal([3, 3, 8, 16]), x = tf.randomNormal([5, 64]), xi = tf.randomNormal([1, 6, 6, 8]);
  const fn = (a, img) => [tf.matMul(a, w), tf.conv2d(img, f, 1, 'valid')];
  const c32 = ab.compile(fn), c16 = ab.compile(fn, {dtype: 'bfloat16'});
  const [m32, v32] = c32(x, xi), [m16, v16] = c16(x, xi);
  assert.equal(c16.summary().bf16Weights, 2);
  assert.equal(c32.summary().bf16Weights, 0);
  // matmul: reference in float64 over bf16-rounded operands
  const A = x.dataSync(), B = w.dataSync(), got = m16.dataSync();
  let worst = 0;
  for (let i = 0; i < 5; ++i) {
    for (let j = 0; j < 40; ++j) {
      let s = 0, mag = 0;
      for (let k = 0; k < 64; ++k) {
        s += bf(A[i * 64 + k]) * bf(B[k * 40 + j]);
        mag += Math.abs(bf(A[i * 64 + k]) * bf(B[k * 40 + j]));
      }
      worst = Math.max(worst, Math.abs(got[i * 40 + j] - s) / (mag * 64 * 2 ** -24));
    }
  }
  assert.ok(worst <= 1, `bf16 matmul off by ${worst} f32 accumulation bounds`);
  assert.ok(maxAbsDiff(m32.dataSync(), got) > 1e-4, 'the f32 plan and the bf16 plan differ: bf16 was applied');
  assert.ok(maxAbsDiff(v32.dataSync(), v16.dataSync()) > 1e-4, 'the conv ran in bf16 too');
  assert.ok(maxAbsDiff(v32.dataSync(), v16.dataSync()) < 0.2);
  tf.dispose([w, f, x, xi, m32, v32, m16, v16]);
  c32.dispose();
  c16.dispose();
  assert.throws(() => ab.compile(fn, {dtype: 'float16'}), /dtype must be 'float32', 'bfloat16', 'int8' or 'int4'/);
});

test('compile(optimize(m, {dtype: "bfloat16"})) keeps the bf16 weights', () => {
  const m = tfl.sequential({layers: [
    tfl.layers.conv2d({inputShape: [8, 8, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu'}),
    tfl.layers.flatten(),
    tfl.layers.dense({units: 10}),
  ]});
  const x = tf.randomUniform([2, 8, 8, 3]);
  const opt = ab.optimize(m, {dtype: 'bfloat16'});
  const y1 = opt.predict(x);
  const comp = ab.compile(opt);
  const y2 = comp.predict(x);
  assert.equal(comp.summary().bf16Weights, 2);
  assert.ok(maxAbsDiff(y1.dataSync(), y2.dataSync()) < 1e-5, 'compiled equals the optimized model (both bf16)');
  const y0 = m.predict(x);
  assert.ok(maxAbsDiff(y0.dataSync(), y2.dataSync()) > 1e-5, 'and differs from f32');
  tf.dispose([x, y0, y1, y2]);
  comp.dispose();
});

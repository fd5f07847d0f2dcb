// SPDX-License-Identifier: Apache-2.0
// int8 / int4 weights end to end (issue 4, point 4): a weight marked by ab.quantizeWeight() makes
// tf.matMul / tf.fused.matMul (as the one B matrix, 2-D) run the quantized GEMM
// (native/gemm/gemm_quant.h) through the weight cache. Checked against float64 A x dequant(B)
// (the kernel's f32 bound) with the codes and scales from quantUnpack, against f32 within the
// quantization's bound, the same bits at every ISA level; entries counted in prepackStats and
// freed on dispose; ab.optimize(model, {dtype: 'int8' | 'int4'}) quantizes dense kernels and
// leaves conv filters f32.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {ab, inputBatch, loadModel, modelById, predict, quietCpu, tf, tfl} from './lib/models.mjs';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');
const wc = require('../dist/cjs/backend/weight-cache.js');

quietCpu();
await tf.setBackend('afterburner');
const LEVELS = ab.isa.effective();
const U = 2 ** -24;

let seed = 999;
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
const maxAbsDiff = (x, y) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);

/** float64 act(A x dequant(B) + bias) from a quantPack of b (K x N) and the f32 bound of the kernel. */
function reference(a, M, K, b, N, bits, g, bias, act) {
  const u = nat.quantUnpack(nat.quantPack(b, K, N, false, bits, g));
  const ref = new Float64Array(M * N), tol = new Float64Array(M * N);
  const G = Math.ceil(K / g), n = g + G + 2, gamma = n * U / (1 - n * U);
  for (let m = 0; m < M; ++m) {
    for (let j = 0; j < N; ++j) {
      let s = 0, sa = 0;
      for (let k = 0; k < K; ++k) {
        const p = a[m * K + k] * u.codes[k * N + j] * u.scales[Math.floor(k / g) * N + j];
        s += p;
        sa += Math.abs(p);
      }
      const bv = bias ? bias[j] : 0;
      s += bv;
      ref[m * N + j] = act === 'relu' ? Math.max(0, s) : s;
      tol[m * N + j] = gamma * (sa + Math.abs(bv)) + 4 * U * Math.abs(s) + 1e-30;
    }
  }
  return {ref, tol};
}

test('matMul / fused.matMul with a quantized B: float64 on dequantized weights, f32 within the quantization bound, same bits at every level', () => {
  for (const [M, K, N, dtype, groupSize] of [[1, 96, 17, 'int8', 32], [3, 130, 40, 'int4', 64], [64, 256, 33, 'int4', 32],
    [5, 200, 1, 'int8', 128]]) {
    const bits = dtype === 'int8' ? 8 : 4;
    const av = randArray(M * K), bv = randArray(K * N, 0.05), biasv = randArray(N);
    const a = tf.tensor2d(av, [M, K]), b = tf.tensor2d(bv, [K, N]), bias = tf.tensor1d(biasv);
    const y32 = tf.matMul(a, b).dataSync().slice();
    assert.equal(ab.quantizeWeight(b, {dtype, groupSize}), true);
    const label = `${M}x${K}x${N} ${dtype} g${groupSize}`;
    const {ref, tol} = reference(av, M, K, bv, N, bits, groupSize, null, 'linear');
    const perLevel = LEVELS.map((l) => withLevel(l, () => tf.tidy(() => tf.matMul(a, b).dataSync().slice())));
    perLevel.forEach((y, i) => sameBits(y, perLevel[0], `${label}: ${LEVELS[i]} vs ${LEVELS[0]}`));
    const y = perLevel[0];
    for (let i = 0; i < y.length; ++i) {
      if (!(Math.abs(y[i] - ref[i]) <= tol[i])) assert.fail(`${label}: [${i}] ${y[i]} vs float64 ${ref[i]} (tol ${tol[i]})`);
    }
    // vs f32: each weight moves by at most |d| (int4) or |d|/2 (int8), d <= max|w| / 7 resp. / 127
    const wmax = bv.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const step = bits === 8 ? wmax / 127 / 2 : wmax / 7;
    for (let m = 0; m < M; ++m) {
      let asum = 0;
      for (let k = 0; k < K; ++k) asum += Math.abs(av[m * K + k]);
      for (let j = 0; j < N; ++j) {
        const d = Math.abs(y[m * N + j] - y32[m * N + j]);
        assert.ok(d <= step * asum * 1.001 + 1e-5, `${label}: vs f32 [${m}][${j}] ${d} > ${step * asum}`);
      }
    }
    assert.ok(maxAbsDiff(y, y32) > 0, 'quantization changes the numerics');
    // fused: bias + relu in the epilogue; transposeB through a quantized [N, K] weight
    const yf = tf.fused.matMul({a, b, bias, activation: 'relu'}).dataSync();
    const rf = reference(av, M, K, bv, N, bits, groupSize, biasv, 'relu');
    for (let i = 0; i < yf.length; ++i) assert.ok(Math.abs(yf[i] - rf.ref[i]) <= rf.tol[i], `${label} fused [${i}]`);
    const bt = tf.transpose(b);
    assert.equal(ab.quantizeWeight(bt, {dtype, groupSize, kind: 'matmulT'}), true);
    sameBits(tf.matMul(a, bt, false, true).dataSync(), y, `${label}: transposeB`);
    // a batch of activations [2, M, K] against the one quantized B: one GEMM of 2M rows
    const a3 = tf.stack([a, a]);
    const y3 = tf.matMul(a3, b).dataSync();
    sameBits(y3.subarray(0, M * N), y, `${label}: batched`);
    sameBits(y3.subarray(M * N), y, `${label}: batched`);
    tf.dispose([a, b, bias, bt, a3]);
  }
});

test('quantized entries: counted in prepackStats, one per layout, freed on dispose, options validated', () => {
  const s0 = ab.prepackStats();
  const K = 64, N = 48;
  const b = tf.tensor2d(randArray(K * N), [K, N]), a = tf.tensor2d(randArray(4 * K), [4, K]);
  tf.matMul(a, b);  // unmarked: f32
  assert.equal(ab.prepackStats().quantCount, s0.quantCount);
  assert.equal(ab.quantizeWeight(b, {dtype: 'int4'}), true);
  let s = ab.prepackStats();
  assert.equal(s.quantCount, s0.quantCount + 1);
  assert.equal(s.quantWeights, s0.quantWeights + 1);
  // int4, default group 64: header + 2 panels x 1 group x (64 x 16 code bytes + 128 scale bytes)
  assert.equal(s.quantBytes - s0.quantBytes, 128 + 2 * (64 * 16 + 128));
  tf.dispose(tf.matMul(a, b));
  tf.dispose(tf.matMul(a, b));
  assert.equal(ab.prepackStats().quantCount, s0.quantCount + 1, 'the same layout: the same entry');
  assert.ok(ab.prepackStats().hits >= s.hits + 2);
  // re-quantized as int8: the int4 entry goes
  assert.equal(ab.quantizeWeight(b, {dtype: 'int8', groupSize: 32}), true);
  s = ab.prepackStats();
  assert.equal(s.quantCount, s0.quantCount + 1);
  assert.equal(s.quantBytes - s0.quantBytes, 128 + 2 * 2 * (32 * 32 + 128));
  // a reshape shares the dataId: a [1, K, N] view is still the one matrix
  const b3 = tf.reshape(b, [1, K, N]);
  sameBits(tf.matMul(a, b3).dataSync(), tf.matMul(a, b).dataSync(), 'reshaped weight');
  // a batched B [2, K, N] is not quantized (2-D B only): computed in f32
  const bb = tf.stack([b, b]);
  assert.throws(() => ab.quantizeWeight(bb, {dtype: 'int8'}), /quantizeWeight: a matmul weight is one matrix/);
  // bad options
  assert.throws(() => ab.quantizeWeight(b, {dtype: 'int2'}), /quantizeWeight: option 'dtype' must be 'int8' or 'int4', got "int2"/);
  assert.throws(() => ab.quantizeWeight(b, {dtype: 'int8', groupSize: 48}), /quantizeWeight: option 'groupSize' must be 32, 64 or 128, got 48/);
  assert.throws(() => ab.quantizeWeight(b, {dtype: 'int8', kind: 'conv2d'}), /quantizeWeight: option 'kind' must be 'matmul' or 'matmulT'/);
  assert.throws(() => ab.quantizeWeight(b), /quantizeWeight: options must be an object/);
  const bad = tf.tensor2d([1, NaN, 3, 4], [2, 2]);
  assert.throws(() => ab.quantizeWeight(bad, {dtype: 'int4', groupSize: 32}), /quantPack: b\[1\] is NaN: weights to quantize must be finite/);
  assert.equal(ab.prepackStats().quantWeights, s.quantWeights, 'a failed quantization leaves no mark');
  assert.equal(ab.quantizeWeight(tf.tensor2d([1, 2], [1, 2], 'int32'), {dtype: 'int8'}), false, 'int32: not quantized');
  // dispose frees the entry and the mark
  tf.dispose([b3, bb, bad]);
  assert.equal(ab.prepackStats().quantCount, s0.quantCount + 1, 'the reshape shares the data: still alive');
  b.dispose();
  s = ab.prepackStats();
  assert.equal(s.quantCount, s0.quantCount);
  assert.equal(s.quantBytes, s0.quantBytes);
  assert.equal(s.quantWeights, s0.quantWeights);
  a.dispose();
});

test('the latest mark wins: bf16 after int8 and int8 after bf16 (one mark, one entry, the matching GEMM)', () => {
  const s0 = ab.prepackStats();
  const K = 64, N = 40;
  const bv = randArray(K * N), av = randArray(2 * K);
  const b = tf.tensor2d(bv, [K, N]), a = tf.tensor2d(av, [2, K]);
  const viaBf16 = new Float32Array(2 * N), viaQ = new Float32Array(2 * N);
  nat.bf16Gemm(av, nat.bf16Pack(bv, K, N, false), viaBf16, 2, N, K, false, null, 0, 0, 0, null, 0);
  nat.quantGemm(av, nat.quantPack(bv, K, N, false, 8, 128), viaQ, 2, N, K, false, null, 0, 0, 0, null, 0);
  assert.equal(ab.quantizeWeight(b, {dtype: 'int8'}), true);
  sameBits(tf.matMul(a, b).dataSync(), viaQ, 'int8');
  assert.equal(wc.toBf16Weight(b, 'matmul'), true);
  let s = ab.prepackStats();
  assert.deepEqual([s.quantWeights, s.quantCount, s.bf16Weights, s.bf16Count],
      [s0.quantWeights, s0.quantCount, s0.bf16Weights + 1, s0.bf16Count + 1]);
  sameBits(tf.matMul(a, b).dataSync(), viaBf16, 'bf16 after int8');
  assert.equal(ab.quantizeWeight(b, {dtype: 'int8'}), true);
  s = ab.prepackStats();
  assert.deepEqual([s.quantWeights, s.quantCount, s.bf16Weights, s.bf16Count],
      [s0.quantWeights + 1, s0.quantCount + 1, s0.bf16Weights, s0.bf16Count]);
  sameBits(tf.matMul(a, b).dataSync(), viaQ, 'int8 after bf16');
  tf.dispose([a, b]);
  s = ab.prepackStats();
  assert.deepEqual([s.quantWeights, s.quantCount, s.bf16Weights, s.bf16Count],
      [s0.quantWeights, s0.quantCount, s0.bf16Weights, s0.bf16Count]);
});

test('no leaks: quantize, use and dispose many weights; tensors, entries and marks return to where they were', () => {
  const t0 = tf.memory().numTensors, s0 = ab.prepackStats();
  for (let i = 0; i < 20; ++i) {
    tf.tidy(() => {
      const b = tf.tensor2d(randArray(96 * 40), [96, 40]);
      ab.quantizeWeight(b, {dtype: i % 2 ? 'int8' : 'int4'});
      tf.matMul(tf.ones([2, 96]), b).dataSync();
    });
  }
  const s = ab.prepackStats();
  assert.equal(tf.memory().numTensors, t0);
  assert.deepEqual([s.quantCount, s.quantBytes, s.quantWeights, s.count, s.bytes],
      [s0.quantCount, s0.quantBytes, s0.quantWeights, s0.count, s0.bytes]);
});

test('optimize({dtype: "int8" | "int4"}) on a LayersModel: dense kernels quantized, conv filters left f32, original unchanged', () => {
  const m = tfl.sequential({layers: [
    tfl.layers.conv2d({inputShape: [8, 8, 3], filters: 8, kernelSize: 3, activation: 'relu'}),
    tfl.layers.flatten(),
    tfl.layers.dense({units: 64, activation: 'relu'}),
    tfl.layers.dense({units: 10}),
  ]});
  const x = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 7);
  const y0 = m.predict(x).dataSync().slice();
  // relative RMS error of the outputs: ~0.5% (int8) and ~10-15% (int4) per quantized layer here
  const relRms = (y) => Math.sqrt(y.reduce((s, v, i) => s + (v - y0[i]) ** 2, 0) / y0.reduce((s, v) => s + v * v, 0));
  for (const [dtype, limit] of [['int8', 0.03], ['int4', 0.35]]) {
    const opt = ab.optimize(m, {dtype});
    const r = opt.optimizationReport;
    assert.equal(r.quant, 'applied');
    assert.equal(r.weightsQuantized, 2, 'the two dense kernels');
    assert.equal(r.weightsPacked, 1, 'the conv filter is prepacked f32');
    assert.deepEqual(r.leftAlone.filter((l) => l.reason.startsWith(dtype)).map((l) => l.op), ['conv2d filter']);
    const y1 = opt.predict(x).dataSync().slice();
    const e = relRms(y1);
    if (process.env.QUANT_VERBOSE) console.log(`${dtype}: relative RMS error ${e}`);
    assert.ok(e > 0 && e < limit, `${dtype}: relative RMS error ${e} >= ${limit}`);
    sameBits(m.predict(x).dataSync(), y0, 'the original model still computes in f32');
    const before = ab.prepackStats();
    opt.dispose();
    assert.equal(ab.prepackStats().quantWeights, before.quantWeights - 2, 'disposing the model frees its quantized weights');
  }
  assert.throws(() => ab.optimize(m, {dtype: 'int3'}), /'dtype' must be 'float32', 'bfloat16', 'int8' or 'int4'/);
  assert.equal(ab.optimize(m).optimizationReport.quant, 'not requested');
  m.dispose();
  x.dispose();
});

test('optimize({dtype: "int8"}) on a GraphModel (nsfwjs MobileNetV2Mid): the MatMul weight quantized, convs f32, original unchanged, same top-1', async () => {
  const spec = modelById('nsfw-mobilenetv2mid');
  const loaded = await loadModel(spec);
  const inp = inputBatch(spec, 2);
  const x = tf.tensor(inp.data, inp.shape, inp.dtype);
  const [y0t] = await predict(spec, loaded, x);
  const y0 = y0t.dataSync().slice();
  const s0 = ab.prepackStats();
  const opt = ab.optimize(loaded.model, {dtype: 'int8'});
  const r = opt.optimizationReport;
  const mm = r.weightCandidates.filter((w) => w.kind === 'matmul' || w.kind === 'matmulT').length;
  assert.ok(mm >= 1, `matmul candidates: ${mm}`);
  assert.equal(r.weightsQuantized, mm);
  assert.equal(r.quant, 'applied');
  assert.equal(r.leftAlone.filter((l) => l.reason.startsWith('int8: stays float32')).length,
      r.weightCandidates.length - mm, 'every conv / depthwise filter is left f32');
  assert.equal(ab.prepackStats().quantWeights - s0.quantWeights, mm);
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
  if (process.env.QUANT_VERBOSE) console.log(`GraphModel int8: max |p_int8 - p_f32| = ${d}`);
  assert.ok(d > 0 && d < 0.02, `max |p_int8 - p_f32| = ${d}`);
  tf.dispose([x, y0t, y1t, y2t]);
  opt.dispose();
  assert.equal(ab.prepackStats().quantWeights, s0.quantWeights, 'disposing the optimized model frees its quantized weights');
  loaded.model.dispose();
});

// ---- graph mode: ab.compile({dtype: 'int8' | 'int4'}), and marks carried through compile

test('compile({dtype: "int8" | "int4"}): matmul weights quantized in the plan, bitwise the eager quantized matmul', () => {
  for (const dtype of ['int8', 'int4']) {
    const w = tf.tensor(randArray(64 * 48), [64, 48]), bias = tf.tensor(randArray(48), [48]), x = tf.tensor(randArray(3 * 64), [3, 64]);
    const fn = (a) => tf.relu(tf.add(tf.matMul(a, w), bias));
    const c = ab.compile(fn, {dtype});
    for (let i = 0; i < 3; ++i) tf.dispose(c(x));  // probe, capture, native replay
    const y = c(x);
    assert.equal(c.summary().quantWeights, 1);
    // eager reference: the same weight data quantized by ab.quantizeWeight (a copy, so the plan's mark is its own)
    const wq = tf.tensor(w.dataSync().slice(), [64, 48]);
    assert.equal(ab.quantizeWeight(wq, {dtype}), true);
    const ye = tf.relu(tf.add(tf.matMul(x, wq), bias));
    assert.deepEqual(Array.from(y.dataSync()), Array.from(ye.dataSync()), `${dtype}: compiled = eager quantized`);
    const yf = fn(x);
    assert.ok(maxAbsDiff(y.dataSync(), yf.dataSync()) > 0, `${dtype}: differs from f32 (quantization applied)`);
    tf.dispose([w, bias, x, y, wq, ye, yf]);
    c.dispose();
  }
});

test('compile(optimize(m, {dtype: "int8"})) keeps the int8 weights', () => {
  const m = tfl.sequential({layers: [tfl.layers.dense({inputShape: [32], units: 16, activation: 'relu'}), tfl.layers.dense({units: 4})]});
  const x = tf.tensor(randArray(2 * 32), [2, 32]);
  const opt = ab.optimize(m, {dtype: 'int8'});
  const y1 = opt.predict(x);
  const comp = ab.compile(opt);
  const y2 = comp.predict(x);
  assert.equal(comp.summary().quantWeights, 2);
  assert.ok(maxAbsDiff(y1.dataSync(), y2.dataSync()) < 1e-5, 'compiled equals the optimized model (both int8)');
  tf.dispose([x, y1, y2]);
  comp.dispose();
});

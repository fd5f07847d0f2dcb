// SPDX-License-Identifier: Apache-2.0
// Memory and misuse: long op loops keep tfjs's tensor count and the process's RSS flat; a disposed
// tensor and a shape mismatch give tfjs's clear errors; bad arguments to the addon throw, never
// crash. scripts/test.mjs runs this with --expose-gc (without it the RSS check is looser).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
// The addon the binding loads: AFTERBURNER_ADDON first (scripts/test.mjs points it at a snapshot).
const addonPath = process.env.AFTERBURNER_ADDON || path.join(root, 'build', 'Release', 'afterburner.node');
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');

const MB = 1 << 20;
const hasGc = typeof globalThis.gc === 'function';
const rssBoundMb = hasGc ? 20 : 40;

function settle() {
  if (hasGc) for (let i = 0; i < 3; ++i) globalThis.gc();
  return process.memoryUsage().rss;
}

function filled(shape, seed) {
  const n = shape.reduce((x, y) => x * y, 1);
  return tf.tensor(Float32Array.from({length: n}, (_, i) => Math.sin(seed + i * 0.37)), shape);
}

test('the native kernels under test are the ones registered', () => {
  assert.equal(ab.info().native, true, `native addon not loaded: ${ab.info().nativeError}`);
  for (const k of ['BatchMatMul', '_FusedMatMul', 'Add']) assert.ok(ab.info().nativeKernels.includes(k), k);
  assert.equal(tf.getBackend(), 'afterburner');
});

/**
 * Runs `iter` (which must dispose everything it makes) `warm` times, then in rounds of `n`: the
 * tensor count must not move, and RSS must stay within the bound over at least one round of at most
 * three. A real leak grows every round alike; V8's heap and malloc's arenas settle in one round (a
 * single-round check failed in CI on a one-off 34 MB heap growth with no leak behind it).
 */
function checkFlat(name, iter, {warm = 1000, n = 5000, rounds = 3} = {}) {
  // Without the addon these loops would measure the cpu kernels (slowly): not what is under test.
  assert.equal(ab.info().native, true, `native addon not loaded: ${ab.info().nativeError}`);
  for (let i = 0; i < warm; ++i) iter(i);
  const tensors0 = tf.memory().numTensors, bytes0 = tf.memory().numBytes;
  const grown = [];
  let rss0 = settle();
  for (let r = 0; r < rounds; ++r) {
    for (let i = 0; i < n; ++i) iter(i);
    const rss1 = settle();
    assert.equal(tf.memory().numTensors, tensors0, `${name}: tensor count after ${(r + 1) * n} iterations`);
    assert.equal(tf.memory().numBytes, bytes0, `${name}: tensor bytes after ${(r + 1) * n} iterations`);
    grown.push((rss1 - rss0) / MB);
    if (grown[r] < rssBoundMb) return;
    rss0 = rss1;
  }
  assert.fail(`${name}: RSS grew ${grown.map((g) => g.toFixed(1)).join(', ')} MB in ${rounds} rounds of ` +
      `${n} iterations (bound ${rssBoundMb} MB in at least one round)`);
}

// 64x64 outputs are 16 KiB: a leaked output or scratch buffer per call would add 80 MB a round.
test('10,000 x (matMul + add + dispose) keeps tensors and RSS flat', () => {
  const a = filled([64, 64], 1), b = filled([64, 64], 2), bias = filled([64], 3);
  const expected = tf.add(tf.matMul(a, b), bias).dataSync().slice();
  checkFlat('matMul+add', (i) => {
    const c = tf.matMul(a, b);
    const d = tf.add(c, bias);
    if (i === 0) assert.deepEqual(d.dataSync(), expected);
    c.dispose();
    d.dispose();
  });
  tf.dispose([a, b, bias]);
});

test('10,000 x fused matMul (bias + relu, batched with broadcast, transposed) keeps tensors and RSS flat', () => {
  const a = filled([2, 64, 64], 4), b = filled([64, 64], 5), bias = filled([64], 6), slope = filled([64], 7);
  checkFlat('fused matMul', () => {
    const c = tf.fused.matMul({a, b, bias, activation: 'relu'});
    const d = tf.fused.matMul({a, b, transposeB: true, bias, activation: 'prelu', preluActivationWeights: slope});
    c.dispose();
    d.dispose();
  });
  tf.dispose([a, b, bias, slope]);
});

test('10,000 x tidy(matMul, add, relu, sum) keeps tensors and RSS flat', () => {
  const a = filled([64, 64], 8), b = filled([64, 64], 9);
  checkFlat('tidy', () => {
    // tidy frees the intermediates; the returned tensor is the caller's to dispose.
    tf.tidy(() => tf.sum(tf.relu(tf.add(tf.matMul(a, b), 1)), 1)).dispose();
    tf.tidy(() => tf.softmax(tf.matMul(a, b))).dispose();
  });
  tf.dispose([a, b]);
});

// tfjs 4.22 checks disposal in Tensor's data accessors ("Tensor is disposed."); an op given a
// disposed tensor fails earlier, in the engine's lookup of the tensor's backend (a TypeError), before
// any kernel runs. Both must hold on afterburner exactly as on cpu: an error, never a result.
test('a disposed tensor used again gives tfjs\'s errors', async () => {
  const a = filled([2, 3], 1), b = filled([3, 2], 2);
  a.dispose();
  assert.equal(a.isDisposed, true);
  const before = tf.memory().numTensors;
  assert.throws(() => a.dataSync(), /^Error: Tensor is disposed\.$/);
  assert.throws(() => a.arraySync(), /Tensor is disposed/);
  await assert.rejects(a.data(), /Tensor is disposed/);
  const opError = /Tensor is disposed|Cannot read properties of undefined \(reading 'backend'\)/;
  assert.throws(() => tf.matMul(a, b), opError);
  assert.throws(() => tf.matMul(b, a), opError);
  assert.throws(() => tf.add(a, 1), opError);
  assert.throws(() => tf.relu(a), opError);
  assert.throws(() => tf.fused.matMul({a, b, activation: 'relu'}), opError);
  assert.equal(tf.memory().numTensors, before, 'the failed calls left no tensor behind');
  // The engine is still usable afterwards.
  const c = tf.matMul(b, b, false, true);
  assert.deepEqual(c.shape, [3, 3]);
  tf.dispose([b, c]);
});

test('matMul [2,3] x [4,5] throws tfjs\'s shape error', () => {
  const before = tf.memory().numTensors;
  const a = filled([2, 3], 1), b = filled([4, 5], 2);
  assert.throws(() => tf.matMul(a, b), /inner shapes \(3\) and \(4\).*must match/);
  assert.throws(() => tf.fused.matMul({a, b}), /inner shapes \(3\) and \(4\).*must match/);
  // Straight into the kernels (no op-level checks): our wrappers check too.
  assert.throws(() => tf.engine().runKernel('BatchMatMul', {a, b}, {transposeA: false, transposeB: false}),
      /inner shapes \(3\) and \(4\)/);
  assert.throws(() => tf.engine().runKernel('_FusedMatMul', {a, b}, {transposeA: false, transposeB: false, activation: 'linear'}),
      /inner shapes \(3\) and \(4\)/);
  // Batch dims that do not broadcast, a bias that does not fit [M, N].
  const a3 = filled([3, 2, 3], 3), b2 = filled([2, 3, 4], 4);
  assert.throws(() => tf.matMul(a3, b2), /broadcast|batch dimensions/i);
  const b34 = filled([3, 4], 5), bias5 = filled([5], 6);
  assert.throws(() => tf.fused.matMul({a, b: b34, bias: bias5}), /could not be broadcast/);
  assert.throws(() => tf.engine().runKernel('Add', {a: filled([2, 3], 7), b: filled([4], 8)}), /could not be broadcast/);
  tf.dispose([a, b, a3, b2, b34, bias5]);
  // The two inputs made inside the runKernel('Add') line above leak by construction: 2 tensors.
  assert.equal(tf.memory().numTensors, before + 2);
});

/** Runs `code` against the raw addon in a child: a crash there cannot take this runner down. */
function inChild(code) {
  const r = spawnSync(process.execPath, ['-e', `const nat = require(${JSON.stringify(addonPath)});\n${code}`],
      {encoding: 'utf8', timeout: 60e3});
  return {status: r.status, signal: r.signal, stdout: r.stdout.trim(), stderr: r.stderr.trim()};
}

test('the addon\'s matmul throws (never crashes) on buffers that do not match the shape', () => {
  const r = inChild(`
    const F = (n) => new Float32Array(n);
    const cases = {
      shortB: () => nat.matmul(F(6), F(14), F(10), 1, 2, 5, 3, false, false, null, null, null, 0, 0, 0, null, 0),
      shortOut: () => nat.matmul(F(6), F(15), F(9), 1, 2, 5, 3, false, false, null, null, null, 0, 0, 0, null, 0),
      shortA: () => nat.matmul(F(5), F(15), F(10), 1, 2, 5, 3, false, false, null, null, null, 0, 0, 0, null, 0),
      negativeM: () => nat.matmul(F(6), F(15), F(10), 1, -2, 5, 3, false, false, null, null, null, 0, 0, 0, null, 0),
      notF32: () => nat.matmul(new Float64Array(6), F(15), F(10), 1, 2, 5, 3, false, false, null, null, null, 0, 0, 0, null, 0),
      batchIdxOut: () => nat.matmul(F(12), F(15), F(20), 2, 2, 5, 3, false, false, Int32Array.of(0, 7), null, null, 0, 0, 0, null, 0),
      shortBias: () => nat.matmul(F(6), F(15), F(10), 1, 2, 5, 3, false, false, null, null, F(4), 2, 0, 0, null, 0),
      badAct: () => nat.matmul(F(6), F(15), F(10), 1, 2, 5, 3, false, false, null, null, null, 0, 99, 0, null, 0),
      tooFewArgs: () => nat.matmul(F(6), F(15)),
    };
    const out = {};
    for (const [k, f] of Object.entries(cases)) {
      try { f(); out[k] = 'no error'; } catch (e) { out[k] = e.constructor.name + ': ' + e.message; }
    }
    console.log(JSON.stringify(out));`);
  assert.equal(r.signal, null, `the addon crashed: ${r.signal}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  for (const [k, msg] of Object.entries(out)) {
    assert.match(msg, /^(TypeError|RangeError|Error): matmul\b/, `${k}: ${msg}`);
  }
});

test('conv2dTranspose (both algorithms) and NCHW convolutions keep tensors and RSS flat', () => {
  const dy = filled([1, 8, 8, 16], 10), w = filled([4, 4, 8, 16], 11), dy2 = filled([1, 8, 8, 2], 17), w2 = filled([3, 3, 32, 2], 12);
  const x = filled([1, 16, 9, 9], 13), f = filled([3, 3, 16, 16], 14), bias = filled([16], 15), slope = filled([16, 9, 9], 16);
  checkFlat('conv2dTranspose + NCHW conv', () => {
    const outs = [
      tf.conv2dTranspose(dy, w, [1, 16, 16, 8], 2, 'same'),                      // GEMM + col2im
      tf.conv2dTranspose(dy2, w2, [1, 8, 8, 32], 1, 'same'),                    // stride phases
      tf.conv2d(x, f, 1, 'same', 'NCHW'),
      tf.engine().runKernel('FusedConv2D', {x, filter: f, bias, preluActivationWeights: slope},
                            {strides: 1, pad: 'same', dataFormat: 'NCHW', dilations: 1, activation: 'prelu'}),
    ];
    tf.dispose(outs);
  }, {warm: 200, n: 1000});
  tf.dispose([dy, w, dy2, w2, x, f, bias, slope]);
});

// The selection kernels' scratch (TopK's key arrays and heaps, AddN's pointer list past 16 inputs)
// is per call: 40 KB of TopK keys a call leaked would add 40 MB a round.
test('topk (heap, all-keys and split-row paths), comparisons, addN (20 inputs), gatherND, cast widening keep tensors and RSS flat', () => {
  const rows = filled([4, 5000], 18), long = filled([1, 140000], 19), many = Array.from({length: 20}, (_, i) => filled([3, 70], 20 + i));
  const p = filled([6, 7, 8], 40), idx = tf.tensor([[1, 2], [5, 6], [0, 0]], [3, 2], 'int32');
  const ints = tf.tensor(Int32Array.from({length: 1000}, (_, i) => i * 7), [1000], 'int32');
  const threads = ab.getNumThreads();
  try {
    ab.setNumThreads(2);
    checkFlat('selection', () => {
      const a = tf.topk(rows, 1000), b = tf.topk(rows, 20), c = tf.topk(long, 50);
      const outs = [a.values, a.indices, b.values, b.indices, c.values, c.indices, tf.less(rows, 0.1), tf.equal(rows, rows),
                    tf.addN(many), tf.gatherND(p, idx), tf.tidy(() => tf.mul(tf.cast(ints, 'float32'), 2))];
      tf.dispose(outs);
    }, {warm: 100, n: 1000});
  } finally {
    ab.setNumThreads(threads);
  }
  tf.dispose([rows, long, ...many, p, idx, ints]);
});

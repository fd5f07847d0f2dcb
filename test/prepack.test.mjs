// SPDX-License-Identifier: Apache-2.0
// Prepacked weights (src/backend/weight-cache.ts, native/addon/prepack_api.cc): a weight used again
// as a matmul B operand or a conv2d filter is packed on its second use, served from the cache
// afterwards with bitwise the same results, freed when disposed; one-off operands are never
// packed; nothing leaks (the addon's own live count goes back to where it was).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');

await tf.setBackend('afterburner');
const backend = tf.backend();

function filled(shape, seed) {
  const n = shape.reduce((x, y) => x * y, 1);
  return tf.tensor(Float32Array.from({length: n}, (_, i) => Math.sin(seed + i * 0.37)), shape);
}
const bits = (t) => new Uint32Array(t.dataSync().slice().buffer);
const liveNative = () => nat.packedStats().count;

function sameBits(a, b, what) {
  const x = bits(a), y = bits(b);
  assert.equal(x.length, y.length, what);
  for (let i = 0; i < x.length; ++i) if (x[i] !== y[i]) assert.fail(`${what}: element ${i} differs`);
}

test('matmul weight: packed on the second use, bitwise equal results, freed on dispose', () => {
  const n0 = liveNative(), s0 = ab.prepackStats();
  const w = filled([70, 45], 1), x = filled([33, 70], 2);
  const r1 = tf.matMul(x, w);
  assert.equal(ab.prepackStats().count, s0.count, 'first use does not pack');
  const r2 = tf.matMul(x, w);
  assert.equal(ab.prepackStats().count, s0.count + 1, 'second use packs');
  assert.ok(ab.prepackStats().bytes >= s0.bytes + 70 * 45 * 4);
  assert.equal(liveNative(), n0 + 1);
  const r3 = tf.matMul(x, w);
  assert.equal(ab.prepackStats().hits, s0.hits + 1, 'third use is a cache hit');
  sameBits(r1, r2, 'second vs first');
  sameBits(r1, r3, 'third vs first');
  // fused with bias + relu, and a 3-D A against the 2-D weight
  const bias = filled([45], 3), x3 = filled([2, 9, 70], 4);
  const f1 = tf.fused.matMul({a: x, b: w, bias, activation: 'relu'});
  const g1 = tf.matMul(x3, w);
  w.dispose();
  assert.equal(ab.prepackStats().count, s0.count, 'freed on dispose');
  assert.equal(ab.prepackStats().bytes, s0.bytes);
  assert.equal(liveNative(), n0);
  // reference for the fused and 3-D results, without any prepacking
  const wRef = filled([70, 45], 1);
  const f2 = tf.fused.matMul({a: x, b: wRef, bias, activation: 'relu'});
  const g2 = tf.matMul(x3, wRef);
  sameBits(f1, f2, 'fused');
  sameBits(g1, g2, '3-D A');
  tf.dispose([x, r1, r2, r3, bias, x3, f1, g1, wRef, f2, g2]);
  assert.equal(liveNative(), n0);
});

test('transposeB weights and conv2d filters are packed per layout; reshape aliases keep apart', () => {
  const n0 = liveNative(), s0 = ab.prepackStats();
  const wt = filled([40, 70], 5), x = filled([20, 70], 6);
  const a1 = tf.matMul(x, wt, false, true);
  const a2 = tf.matMul(x, wt, false, true);
  sameBits(a1, a2, 'transposeB');
  assert.equal(ab.prepackStats().count, s0.count + 1);
  // the same data used as a plain [70, 40]-interpreted B after a reshape: a second layout
  const wr = tf.reshape(wt, [70, 40]);
  const b1 = tf.matMul(x, wr), b2 = tf.matMul(x, wr);
  assert.equal(ab.prepackStats().count, s0.count + 2, 'one entry per layout');
  wt.dispose();
  assert.equal(ab.prepackStats().count, s0.count + 2, 'the reshape still holds the data');
  const b3 = tf.matMul(x, wr);
  sameBits(b1, b2, 'reshaped B');
  sameBits(b1, b3, 'reshaped B after the original was disposed');
  wr.dispose();
  assert.equal(ab.prepackStats().count, s0.count);

  const f = filled([3, 3, 16, 24], 7), img = filled([2, 11, 9, 16], 8);
  const c1 = tf.conv2d(img, f, 1, 'same');
  const c2 = tf.conv2d(img, f, 1, 'same');
  const c3 = tf.conv2d(img, f, 2, 'valid');
  assert.equal(ab.prepackStats().count, s0.count + 1, 'conv filter packed once for every stride/padding');
  sameBits(c1, c2, 'conv packed vs not');
  const fRef = filled([3, 3, 16, 24], 7);
  sameBits(c3, tf.conv2d(img, fRef, 2, 'valid'), 'conv stride 2 packed vs not');
  // the filter reshaped to its K x N matrix is the same layout: no second entry
  const fm = tf.reshape(f, [144, 24]);
  const m1 = tf.matMul(filled([5, 144], 9), fm);
  assert.equal(ab.prepackStats().count, s0.count + 1, 'filter and its K x N reshape share the entry');
  const fused1 = tf.fused.conv2d({x: img, filter: f, strides: 1, pad: 'same', bias: filled([24], 10), activation: 'relu6'});
  const fused2 = tf.fused.conv2d({x: img, filter: fRef, strides: 1, pad: 'same', bias: filled([24], 10), activation: 'relu6'});
  sameBits(fused1, fused2, 'fused conv packed vs not');
  tf.dispose([f, fm]);
  assert.equal(ab.prepackStats().count, s0.count + 1, 'only fRef (used twice) is left');
  tf.dispose([x, a1, a2, b1, b2, b3, img, c1, c2, c3, fRef, m1, fused1, fused2]);
  assert.equal(ab.prepackStats().count, s0.count);
  assert.equal(liveNative(), n0);
});

test('one-off operands are never packed; GEMV-sized calls do not count', () => {
  const s0 = ab.prepackStats(), n0 = liveNative();
  const x = filled([16, 32], 11);
  for (let i = 0; i < 20; ++i) {
    tf.tidy(() => {
      const w = filled([32, 48], 100 + i);  // a new B every time (like attention's K^T)
      tf.matMul(x, w);
      tf.conv2d(filled([1, 6, 6, 4], i), filled([3, 3, 4, 8], i), 1, 'same');
    });
  }
  const v = filled([1, 32], 12), w = filled([32, 48], 13);
  for (let i = 0; i < 5; ++i) tf.dispose(tf.matMul(v, w));  // M = 1: the GEMV path reads B as is
  assert.equal(ab.prepackStats().count, s0.count);
  assert.equal(ab.prepackStats().packs, s0.packs);
  assert.equal(liveNative(), n0);
  tf.dispose([x, v, w]);
});

test('no leak over repeated runs: weights packed, used and disposed 300 times', () => {
  const s0 = ab.prepackStats(), n0 = liveNative();
  const x = filled([8, 64], 14);
  for (let i = 0; i < 300; ++i) {
    tf.tidy(() => {
      const w = filled([64, 96], i);
      for (let j = 0; j < 3; ++j) tf.matMul(x, w);
    });
  }
  const s1 = ab.prepackStats();
  assert.equal(s1.packs, s0.packs + 300);
  assert.equal(s1.count, s0.count);
  assert.equal(s1.bytes, s0.bytes);
  assert.equal(liveNative(), n0);
  x.dispose();
});

test('prepackWeight packs eagerly; rewritten data is never served stale', () => {
  const s0 = ab.prepackStats();
  const w = filled([50, 30], 15), x = filled([10, 50], 16);
  assert.equal(ab.prepackWeight(w, 'matmul'), true);
  assert.equal(ab.prepackStats().count, s0.count + 1);
  const r1 = tf.matMul(x, w);
  assert.equal(ab.prepackStats().hits, s0.hits + 1, 'the first use is served packed');
  assert.equal(ab.prepackWeight(w, 'matmul'), true, 'again: already packed');
  assert.equal(ab.prepackStats().count, s0.count + 1);
  // Rewrite the data under the same dataId (the backend's move): the entry is dropped.
  const other = filled([50, 30], 17);
  backend.move(w.dataId, other.dataSync().slice(), [50, 30], 'float32', 1);
  assert.equal(ab.prepackStats().count, s0.count, 'move drops the entry');
  const r2 = tf.matMul(x, w);
  sameBits(r2, tf.matMul(x, other), 'after move');
  // Replacing the stored array behind the cache's back is caught by the identity check.
  ab.prepackWeight(w, 'matmul');
  backend.data.get(w.dataId).values = filled([50, 30], 18).dataSync().slice();
  const r3 = tf.matMul(x, w);
  sameBits(r3, tf.matMul(x, filled([50, 30], 18)), 'after the stored array changed');
  assert.throws(() => ab.prepackWeight(filled([2, 3, 4], 1), 'conv2d'), /conv2d filter/);
  assert.throws(() => ab.prepackWeight(filled([2, 3, 4], 1), 'matmul'), /one matrix/);
  assert.equal(ab.prepackWeight(tf.tensor([[1, 2]], [1, 2], 'int32'), 'matmul'), false);
  assert.equal(ab.prepackWeight(filled([3, 3, 2, 4], 1), 'conv2d'), true);
  tf.disposeVariables();
  w.dispose();
  other.dispose();
  x.dispose();
  tf.dispose([r1, r2, r3]);
});

test('a handle packed at another ISA level is ignored (results still right)', () => {
  const before = ab.isa.current();
  const levels = ab.isa.effective();
  if (levels.length < 2) return;
  const w = filled([40, 50], 19), x = filled([30, 40], 20);
  ab.prepackWeight(w, 'matmul');
  const wh = nat.packWeight(w.dataSync(), 40, 50, false);
  ab.isa.set(levels[levels.length - 2]);
  try {
    const ref = new Float32Array(30 * 50);
    nat.matmul(x.dataSync(), w.dataSync(), ref, 1, 30, 50, 40, false, false, null, null, null, 0, 0, 0, null, 0);
    const got = new Float32Array(30 * 50);
    nat.matmul(x.dataSync(), w.dataSync(), got, 1, 30, 50, 40, false, false, null, null, null, 0, 0, 0, null, 0, wh);
    assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(ref.buffer));
    const t = tf.matMul(x, w);  // the cache packs afresh for this level on the next use
    sameBits(t, tf.matMul(x, w), 'other level');
    tf.dispose(t);
  } finally {
    ab.isa.set(before);
  }
  nat.packedFree(wh);
  tf.dispose([w, x]);
});

test('packWeight / packedFree / packed arguments reject bad input', () => {
  const b = new Float32Array(12), a = new Float32Array(8), out = new Float32Array(8);
  assert.throws(() => nat.packWeight(b, 0, 3, false), /packWeight: K and N/);
  assert.throws(() => nat.packWeight(b, 5, 3, false), /packWeight: 'b' has 12 elements/);
  assert.throws(() => nat.packWeight([1, 2], 1, 2, false), /packWeight: argument 'b'/);
  assert.throws(() => nat.packedFree({}), /packedFree: argument 'handle'/);
  const h = nat.packWeight(b, 4, 3, false);
  const mm = (handle, K = 4, N = 3) =>
    nat.matmul(a, b, out, 1, 2, N, K, false, false, null, null, null, 0, 0, 0, null, 0, handle);
  mm(h);
  mm(undefined);
  mm(null);
  assert.throws(() => mm({}), /matmul: argument 'packedB'/);
  assert.throws(() => mm(h, 3, 4), /matmul: 'packedB' was packed for K=4 N=3/);
  assert.throws(() => nat.matmul(new Float32Array(16), new Float32Array(24), new Float32Array(12), 2, 2, 3, 4, false, false, null, null,
                                 null, 0, 0, 0, null, 0, h), /several batches|packedB/);
  const dims = [1, 2, 2, 1, 2, 2, 3, 2, 2, 1, 1, 1, 1, 0, 0];
  assert.throws(() => nat.conv2d(new Float32Array(4), b, new Float32Array(12), dims, null, 0, 0, 0, null, 0, 7),
                /conv2d: argument 'packedFilter'/);
  const hc = nat.packWeight(b, 4, 3, false);
  nat.conv2d(new Float32Array(4), b, new Float32Array(12), dims, null, 0, 0, 0, null, 0, hc);
  assert.equal(nat.packedFree(h), true);
  assert.equal(nat.packedFree(h), false, 'a second free is a no-op');
  mm(h);  // a freed handle: B is packed per call
  nat.packedFree(hc);
});

test('a tf.Variable re-assigned between uses never serves the old packed weight', () => {
  const s0 = ab.prepackStats();
  const init = filled([40, 30], 21);
  const v = tf.variable(init), x = filled([12, 40], 22);
  init.dispose();  // the variable holds the data alone now
  tf.dispose([tf.matMul(x, v), tf.matMul(x, v)]);
  assert.equal(ab.prepackStats().count, s0.count + 1);
  const fresh = filled([40, 30], 23);
  v.assign(fresh);
  assert.equal(ab.prepackStats().count, s0.count, 'the old data was disposed with its entry');
  const got = tf.matMul(x, v), again = tf.matMul(x, v), ref = tf.matMul(x, filled([40, 30], 23));
  sameBits(got, ref, 'after assign');
  sameBits(again, ref, 'after assign, packed');
  tf.dispose([v, x, fresh, got, again, ref]);
  assert.equal(ab.prepackStats().count, s0.count);
});

test('small-M GEMMs reading B as it is (with and without prefetch) match the packed path bitwise', () => {
  for (const [M, K, N] of [[8, 768, 3072], [41, 1024, 2100], [3, 70, 45], [42, 33, 65]]) {
    const a = Float32Array.from({length: M * K}, (_, i) => Math.sin(i * 0.37));
    const b = Float32Array.from({length: K * N}, (_, i) => Math.cos(i * 0.11));
    const c1 = new Float32Array(M * N), c2 = new Float32Array(M * N);
    nat.matmul(a, b, c1, 1, M, N, K, false, false, null, null, null, 0, 0, 0, null, 0);
    const h = nat.packWeight(b, K, N, false);
    nat.matmul(a, b, c2, 1, M, N, K, false, false, null, null, null, 0, 0, 0, null, 0, h);
    nat.packedFree(h);
    assert.deepEqual(new Uint32Array(c1.buffer), new Uint32Array(c2.buffer), `${M}x${K}x${N}`);
    for (let t = 0; t < 50; ++t) {  // and right: a float64 spot check
      const i = (t * 7) % M, j = (t * 131) % N;
      let s = 0, abs = 0;
      for (let k = 0; k < K; ++k) {
        s += a[i * K + k] * b[k * N + j];
        abs += Math.abs(a[i * K + k] * b[k * N + j]);
      }
      assert.ok(Math.abs(s - c1[i * N + j]) <= K * 2 ** -24 * abs + 1e-30, `${M}x${K}x${N} [${i},${j}]`);
    }
  }
});

// SPDX-License-Identifier: Apache-2.0
// ab.updateSlice (kernel 'AbUpdateSlice', XLA's DynamicUpdateSlice): eager against the cpu
// backend's JS kernel and an independent reference, clamping, errors; and in a compiled decoder-
// step-like function whose position is an input, run many times: the native plan must read the
// position of each run (a position captured once would write every step's row in one place).
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {allClose, randTensor, rng} from './lib/graph-util.mjs';

const require = createRequire(import.meta.url);
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');

/** Independent reference: element by element over x's index space. */
function reference(xv, shape, uv, ushape, start) {
  const s = shape.map((d, i) => Math.min(Math.max(start[i], 0), d - ushape[i]));
  const out = Array.from(xv), r = shape.length;
  const idx = new Array(r).fill(0);
  for (let k = 0; k < uv.length; ++k) {
    let off = 0;
    for (let i = 0; i < r; ++i) off = off * shape[i] + s[i] + idx[i];
    out[off] = uv[k];
    for (let i = r - 1; i >= 0; --i) {
      if (++idx[i] < ushape[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

test('updateSlice: afterburner = cpu backend = reference, float32 and int32, ranks 1-4, clamped starts', async () => {
  const r = rng(5);
  for (let c = 0; c < 60; ++c) {
    const rank = 1 + (c % 4);
    const shape = Array.from({length: rank}, () => 1 + Math.floor(r() * 5));
    const ushape = shape.map((d) => Math.floor(r() * (d + 1)));
    const start = shape.map((d) => Math.floor(r() * (d + 4)) - 2);  // some negative, some past the end
    const dtype = c % 3 === 2 ? 'int32' : 'float32';
    const n = shape.reduce((a, b) => a * b, 1), m = ushape.reduce((a, b) => a * b, 1);
    const xv = Array.from({length: n}, () => dtype === 'int32' ? Math.floor(r() * 1e6) : r() * 2 - 1);
    const uv = Array.from({length: m}, () => dtype === 'int32' ? -1 - Math.floor(r() * 1e6) : r() * 2 + 3);
    const want = reference(dtype === 'int32' ? xv : Array.from(Float32Array.from(xv)), shape, dtype === 'int32' ? uv : Array.from(Float32Array.from(uv)), ushape, start);
    for (const backend of ['afterburner', 'cpu']) {
      await tf.setBackend(backend);
      const x = tf.tensor(xv, shape, dtype), u = tf.tensor(uv, ushape, dtype);
      const y = ab.updateSlice(x, u, start);
      assert.deepEqual(Array.from(y.dataSync()), want, `${backend} case ${c}: x [${shape}] update [${ushape}] at [${start}]`);
      assert.equal(y.dtype, dtype);
      tf.dispose([x, u, y]);
    }
  }
  await tf.setBackend('afterburner');
});

test('updateSlice: bad arguments throw clear errors (op and addon)', () => {
  const x = tf.zeros([2, 3]), u = tf.ones([1, 3]);
  assert.throws(() => ab.updateSlice(x, tf.ones([3]), [0, 0]), /update has rank 1, x has rank 2/);
  assert.throws(() => ab.updateSlice(x, tf.ones([1, 4]), [0, 0]), /does not fit/);
  assert.throws(() => ab.updateSlice(x, tf.ones([1, 3], 'int32'), [0, 0]), /both be float32 or both int32/);
  assert.throws(() => ab.updateSlice(x, u, tf.tensor1d([0, 0], 'float32')), /start must be an int32 tensor of shape \[2\]/);
  assert.throws(() => ab.updateSlice(x, u, [0]), /start must be an int32 tensor of shape \[2\]/);
  const f = (n) => new Float32Array(n);
  assert.throws(() => nat.updateSlice(f(6), [2, 3], f(3), [1, 3], Int32Array.from([0]), f(6)), /updateSlice: 'start' must be an Int32Array of 2 entries/);
  assert.throws(() => nat.updateSlice(f(6), [2, 3], f(4), [1, 4], Int32Array.from([0, 0]), f(6)), /updateSlice: update dim 1 is 4/);
  assert.throws(() => nat.updateSlice(f(6), [2, 3], f(3), [1, 3], Int32Array.from([0, 0]), f(5)), /updateSlice: lengths/);
  const buf = f(12);
  assert.throws(() => nat.updateSlice(buf.subarray(0, 6), [2, 3], f(3), [1, 3], Int32Array.from([0, 0]), buf.subarray(3, 9)), /must be 'x' itself or not overlap/);
  assert.throws(() => nat.updateSlice('x', [2, 3], f(3), [1, 3], Int32Array.from([0, 0]), f(6)), /updateSlice: argument 'x' must be a Float32Array or an Int32Array/);
  const out = f(6).fill(1);
  nat.updateSlice(out, [2, 3], Float32Array.from([7, 8, 9]), [1, 3], Int32Array.from([1, 0]), out);  // in place
  assert.deepEqual(Array.from(out), [1, 1, 1, 7, 8, 9]);
  tf.dispose([x, u]);
});

test('a compiled decoder-like step writes its cache row at each run\'s position (native plan replays read it)', () => {
  const T = 8, D = 16, r = rng(11);
  const wk = randTensor([D, D], r), wq = randTensor([D, D], r);
  // x [1, D], pos int32 [2] = [t, 0], cache [T, D] -> {y: attention-like read of the cache, cache: new cache}
  const step = (x, pos, cache) => {
    const k = tf.matMul(x, wk);
    const next = ab.updateSlice(cache, k, pos);
    const q = tf.matMul(x, wq);
    const y = tf.matMul(q, next, false, true);  // [1, T]
    return {y, cache: next};
  };
  const c = ab.compile(step);
  let cacheE = tf.zeros([T, D]), cacheC = tf.zeros([T, D]);
  for (let t = 0; t < T; ++t) {
    const x = randTensor([1, D], r), pos = tf.tensor1d([t, 0], 'int32');
    const e = step(x, pos, cacheE), got = c(x, pos, cacheC);
    allClose([got.y, got.cache], [e.y, e.cache], 1e-6, `step ${t}`);
    tf.dispose([x, pos, cacheE, cacheC, e.y, got.y]);
    cacheE = e.cache;
    cacheC = got.cache;
  }
  const s = c.summary();
  assert.equal(s.executor, 'native', 'later steps ran the native plan');
  assert.equal(s.nativePlan.js, 0, `no JS nodes: ${s.nativePlan.jsOps}`);
  assert.equal(s.shapes.traced, 1, 'one trace for all positions');
  tf.dispose([cacheE, cacheC, wk, wq]);
  c.dispose();
});

test('donated state: the cache is written in place, passed back without a copy, consumed; held states keep their values', () => {
  const T = 8, D = 16, r = rng(12);
  const wk = randTensor([D, D], r), wq = randTensor([D, D], r);
  const step = (x, pos, cache) => {
    const next = ab.updateSlice(cache, tf.matMul(x, wk), pos);
    return {y: tf.matMul(tf.matMul(x, wq), next, false, true), cache: next};
  };
  const c = ab.compile(step, {donate: [2]});
  const be = tf.backend();
  let cacheE = tf.zeros([T, D]), cacheC = tf.zeros([T, D]);
  const first = cacheC;
  const n0 = tf.memory().numTensors;
  let home = null, held = null, heldValues = null, passedOwn = false, prevOut = null;
  for (let t = 0; t < T; ++t) {
    const x = randTensor([1, D], r), pos = tf.tensor1d([t, 0], 'int32');
    // runs: 1 probes, 2 captures, 3 on replay the native plan: from step 3 on, the cache passed back is its own
    passedOwn = t >= 3 && cacheC === prevOut;
    const e = tf.tidy(() => step(x, pos, cacheE)), got = c(x, pos, cacheC);
    allClose([got.y, got.cache], [e.y, e.cache], 1e-6, `step ${t}`);
    const vals = be.data.get(got.cache.dataId).values;
    prevOut = got.cache;
    if (t >= 3) {
      // native plan: the returned cache is the plan's buffer, the one passed back was consumed
      if (home != null) assert.equal(vals, home, `step ${t}: the cache is the same buffer (written in place)`);
      assert.equal(cacheC.isDisposed, passedOwn, `step ${t}: the plan's own state passed back is consumed, another tensor is not`);
      home = vals;
    }
    if (t === 5) {
      held = got.cache;  // keep step 5's state ...
      heldValues = Array.from(held.dataSync());
      cacheC = tf.clone(held);  // ... and pass a copy next: the plan must not write into `held`
    } else {
      if (!cacheC.isDisposed && cacheC !== first) cacheC.dispose();
      cacheC = got.cache;
    }
    tf.dispose([x, pos, cacheE, e.y, got.y]);
    cacheE = e.cache;
  }
  assert.ok(!first.isDisposed, 'a tensor that is not the plan\'s own state is copied in and left alone');
  assert.deepEqual(Array.from(held.dataSync()), heldValues, 'a held state keeps its values after later steps');
  assert.ok(tf.memory().numTensors <= n0 + 2, `tensors flat: ${tf.memory().numTensors} vs ${n0}`);
  tf.dispose([cacheE, cacheC, held, first, wk, wq]);
  c.dispose();
  assert.throws(() => ab.compile(step, {donate: [-1]}), /donate must be an array of input indices/);
});

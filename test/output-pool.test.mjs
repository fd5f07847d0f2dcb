// SPDX-License-Identifier: Apache-2.0
// The eager output pool (src/backend/output-pool.ts): outputs are recycled on dispose, and an
// array anyone can still see (read out by dataSync/data, viewed by a zero-copy kernel, stored under
// a second dataId) is never handed out again.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as ab from '../dist/esm/index.js';

const N = [1, 32, 32, 16];  // 16384 elements: above the pool's minimum size

function rand(shape, seed) {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1), out = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 4 - 2;
  }
  return tf.tensor(out, shape);
}

test('disposed outputs are reused, and results stay right', () => {
  ab.clearOutputPool(256);
  const a = rand(N, 1), b = rand(N, 2);
  const want = tf.add(a, b).arraySync().flat(3);
  const before = ab.outputPoolStats();
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 50; ++i) tf.tidy(() => tf.mul(tf.add(a, b), 1)).dispose();
  assert.equal(tf.memory().numTensors, n0);
  const y = tf.tidy(() => tf.relu(tf.add(tf.add(a, b), 0)));
  const after = ab.outputPoolStats();
  assert.ok(after.reused - before.reused >= 50, JSON.stringify({before, after}));
  const got = y.dataSync();
  want.forEach((v, i) => assert.equal(got[i], Math.max(0, Math.fround(v + 0)) + 0));
  tf.dispose([a, b, y]);
});

test('an array read out by dataSync() or data() is never reused', async () => {
  ab.clearOutputPool(256);
  const a = rand(N, 3), b = rand(N, 4);
  const y = tf.add(a, b);
  const seen = y.dataSync(), copy = seen.slice();
  y.dispose();
  const y2 = tf.sub(a, b);
  const seen2 = await y2.data(), copy2 = seen2.slice();
  y2.dispose();
  for (let i = 0; i < 20; ++i) tf.dispose([tf.mul(a, b), tf.add(b, a), tf.sub(b, a)]);
  assert.deepEqual(seen, copy, 'the dataSync() array changed after its tensor was disposed');
  assert.deepEqual(seen2, copy2, 'the data() array changed after its tensor was disposed');
  tf.dispose([a, b]);
});

test('views of an output (zero-copy slice, unstack, reshape) survive the root being disposed', () => {
  ab.clearOutputPool(256);
  const a = rand([4, 8192], 5), b = rand([4, 8192], 6);
  const want = tf.add(a, b).arraySync();
  // Each view is taken from its own root, which is then disposed: the view must keep its values
  // through later ops of the same size (which would take a recycled root's array).
  const views = {
    slice: (r) => [tf.slice(r, [1, 0], [1, 8192])],  // contiguous: tfjs-cpu shares the buffer
    unstack: (r) => tf.unstack(r),                    // leading-axis unpack: shared too
    reshape: (r) => [tf.reshape(r, [8, 4096])],       // same dataId, ref-counted
  };
  const expect = {slice: [want[1]], unstack: want, reshape: [want.flat()]};
  for (const [kind, take] of Object.entries(views)) {
    const root = tf.add(a, b);
    const vs = take(root);
    root.dispose();
    for (let i = 0; i < 5; ++i) tf.dispose([tf.mul(a, b), tf.sub(a, b), tf.add(b, b)]);
    vs.forEach((v, i) => assert.deepEqual(Array.from(v.dataSync()), expect[kind][i], `${kind} view ${i}`));
    tf.dispose(vs);
  }
  tf.dispose([a, b]);
});

test('random eager programs with random disposal agree with tfjs-cpu (pool on)', async () => {
  ab.clearOutputPool(256);
  for (let seed = 1; seed <= 25; ++seed) {
    let s = seed * 7919;
    const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const plan = [];
    for (let i = 0; i < 40; ++i) plan.push({op: Math.floor(r() * 7), x: r(), y: r(), drop: r() < 0.5});
    const run = (backend) => {
      tf.setBackend(backend);
      const live = [rand(N, seed), rand(N, seed + 100)];
      const kept = [];
      for (const p of plan) {
        const x = live[Math.floor(p.x * live.length)], y = live[Math.floor(p.y * live.length)];
        const z = tf.tidy(() => [() => tf.add(x, y), () => tf.mul(x, 0.5), () => tf.relu(x), () => tf.clipByValue(x, -1, 1),
                   () => tf.reshape(tf.transpose(tf.reshape(x, [32, 512])), N), () => tf.pad(tf.slice(x, [0, 0, 0, 0], [1, 16, 32, 16]), [[0, 0], [0, 16], [0, 0], [0, 0]]),
                   () => tf.sub(x, y)][p.op]());
        live.push(z);
        if (p.drop && live.length > 3) {
          const k = Math.floor(p.x * (live.length - 1));
          const [t] = live.splice(k, 1);
          if (k % 3 === 0) kept.push(t.dataSync().slice());  // read, then dispose
          t.dispose();
        }
      }
      const out = live.map((t) => Array.from(t.dataSync()));
      tf.dispose(live);
      return {out, kept};
    };
    const want = run('cpu'), got = run('afterburner');
    assert.equal(got.out.length, want.out.length);
    got.out.forEach((v, i) => assert.deepEqual(v, want.out[i], `seed ${seed} tensor ${i}`));
    got.kept.forEach((v, i) => assert.deepEqual(v, want.kept[i], `seed ${seed} read-out ${i}`));
  }
  await tf.setBackend('afterburner');
  assert.ok(ab.outputPoolStats().reused > 100, JSON.stringify(ab.outputPoolStats()));
});

test('the bound: 0 turns the pool off; bad bounds throw', () => {
  ab.clearOutputPool(0);
  const a = rand(N, 9);
  const before = ab.outputPoolStats();
  for (let i = 0; i < 10; ++i) tf.relu(a).dispose();
  const after = ab.outputPoolStats();
  assert.equal(after.reused, before.reused);
  assert.equal(after.freeBytes, 0);
  assert.throws(() => ab.clearOutputPool(-1), /MB >= 0/);
  assert.throws(() => ab.clearOutputPool(NaN), /MB >= 0/);
  ab.clearOutputPool(256);
  a.dispose();
});

// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the graph-mode tests (graph, graph-native, graph-dynamic): a seeded generator,
// random tensors, and output comparison relative to the reference's scale.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs-core');

/** A seeded generator (mulberry32): the random graphs are the same on every run. */
export function rng(seed) {
  return () => {
    seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A float32 tensor of `shape` with values uniform in (-scale, scale). */
export function randTensor(shape, r, scale = 1) {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({length: n}, () => (r() * 2 - 1) * scale), shape);
}

/** A Tensor, an array of them or a map of them, as an array. */
export const list = (y) => (Array.isArray(y) ? y : y instanceof tf.Tensor ? [y] : Object.values(y));

/**
 * max |a - b| / max(|b|, 1e-6) over all elements of all outputs (same count, shapes and dtypes
 * asserted); a NaN on one side only makes it Infinity.
 */
export function relErr(a, b) {
  const as = list(a), bs = list(b);
  assert.equal(as.length, bs.length, 'output count');
  let worst = 0;
  as.forEach((t, i) => {
    assert.deepEqual(t.shape, bs[i].shape, `output ${i} shape`);
    assert.equal(t.dtype, bs[i].dtype, `output ${i} dtype`);
    const x = t.dataSync(), y = bs[i].dataSync();
    let d = 0, m = 0;
    for (let k = 0; k < x.length; ++k) {
      if (Number.isNaN(x[k]) !== Number.isNaN(y[k])) return void (worst = Infinity);
      if (!Number.isNaN(x[k])) d = Math.max(d, Math.abs(x[k] - y[k]));
      m = Math.max(m, Math.abs(y[k]));
    }
    worst = Math.max(worst, d / Math.max(m, 1e-6));
  });
  return worst;
}

/** Asserts that every output of `a` is within `tol` of `b`'s, relative to that output's scale. */
export function allClose(a, b, tol, what) {
  const as = list(a), bs = list(b);
  assert.equal(as.length, bs.length, `${what}: output count`);
  as.forEach((x, i) => {
    const e = relErr(x, bs[i]);
    assert.ok(e <= tol, `${what}: output ${i} differs by ${e.toExponential(2)} of its scale (tolerance ${tol})`);
  });
}

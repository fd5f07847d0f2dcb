// SPDX-License-Identifier: Apache-2.0
// ArgMax / ArgMin: the native scan against tfjs-cpu's kernel (the reference, bit for bit: indices
// are exact) at every ISA level, over shapes, every axis (negative too), ties, NaN and empty axes;
// and the addon's argument checks.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

const require = createRequire(import.meta.url);
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');
const nat = require(process.env.AFTERBURNER_ADDON || require('node:path').join(require('node:path').dirname(require.resolve('afterburner/package.json')), 'build/Release/afterburner.node'));

/** Seeded values on a half-step grid (many ties), with a share of NaNs. */
function values(n, seed, nanShare) {
  const d = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const u = seed / 4294967296;
    d[i] = u < nanShare ? NaN : Math.round((u * 12 - 6)) / 2;
  }
  return d;
}

test('ArgMax / ArgMin equal tfjs-cpu at every level: shapes, axes, ties, NaN, empty axes', () => {
  const levels = ab.isa.effective(), top = ab.isa.current();
  let cases = 0;
  try {
    for (const shape of [[7], [3, 5], [4, 1, 6], [2, 3, 4, 5], [1, 48, 48, 17], [0, 3], [3, 0, 2], [2, 70, 3], [1, 70000]]) {
      for (let axis = -shape.length; axis < shape.length; ++axis) {
        for (const nanShare of [0, 0.1]) {
          const n = shape.reduce((a, b) => a * b, 1);
          const data = values(n, n * 7 + axis + (nanShare ? 1 : 0), nanShare);
          for (const level of levels) {
            ab.isa.set(level);
            for (const f of ['argMax', 'argMin']) {
              tf.setBackend('afterburner');
              const x = tf.tensor(data, shape), got = tf[f](x, axis);
              tf.setBackend('cpu');
              const xc = tf.tensor(data, shape), ref = tf[f](xc, axis);
              const what = `${f} [${shape}] axis ${axis} NaN ${nanShare} ${level}`;
              assert.deepEqual(got.shape, ref.shape, what);
              assert.equal(got.dtype, 'int32', what);
              assert.deepEqual(Array.from(got.dataSync()), Array.from(ref.dataSync()), what);
              tf.dispose([x, got, xc, ref]);
              ++cases;
            }
          }
        }
      }
    }
  } finally {
    tf.setBackend('afterburner');
    ab.isa.set(top);
  }
  assert.ok(cases > 500, `${cases} cases`);
  assert.ok(ab.info().nativeKernels.includes('ArgMax') && ab.info().nativeKernels.includes('ArgMin'));
});

test('the addon\'s argReduce checks its arguments', () => {
  const F = (n) => new Float32Array(n), I = (n) => new Int32Array(n);
  assert.throws(() => nat.argReduce(false, F(6), I(2), 2, 3, 1.5), /argReduce/);
  assert.throws(() => nat.argReduce(false, F(5), I(2), 2, 3, 1), /'x'/);
  assert.throws(() => nat.argReduce(false, F(6), I(3), 2, 3, 1), /'out'/);
  assert.throws(() => nat.argReduce(false, F(6), F(2), 2, 3, 1), /'out'/);
  assert.throws(() => nat.argReduce(false, F(6), null, 2, 3, 1), /'out' must be an Int32Array/);
  assert.throws(() => nat.argReduce(false, F(6), I(2), -2, 3, 1), /outer/);
  const buf = new ArrayBuffer(64);
  assert.throws(() => nat.argReduce(false, new Float32Array(buf, 0, 6), new Int32Array(buf, 8, 2), 2, 3, 1), /overlap/);
});

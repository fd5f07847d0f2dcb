// SPDX-License-Identifier: Apache-2.0
// The addon's conv2d entry point rejects bad arguments with clear errors (numerics are covered by
// test/ops.test.mjs and tfjs-core's conv specs in the conformance run).
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');

// x [1, 4, 4, 2], filter [3, 3, 2, 3], same padding -> out [1, 4, 4, 3]
const dims = [1, 4, 4, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1];
const x = new Float32Array(32), w = new Float32Array(54), out = new Float32Array(48);

test('conv2d accepts a well-formed call', () => {
  x.fill(1);
  w.fill(1);
  nat.conv2d(x, w, out, dims, null, 0, 0, 0, null, 0);
  assert.equal(out[15], 18);  // interior output (1, 1): 3*3 taps * 2 channels of 1*1
  assert.equal(out[5], 12);   // top edge (0, 1): 2*3 taps * 2 channels
  assert.equal(out[0], 8);   // corner: 2*2 taps * 2 channels
});

test('conv2d rejects bad arguments with clear errors', () => {
  const bad = [
    [[x, w, out, dims.slice(0, 14), null, 0, 0, 0, null, 0], /'dims' must hold 15 integers/],
    [[x, w, new Float32Array(47), dims, null, 0, 0, 0, null, 0], /smaller than its shape/],
    [[x.subarray(1), w, out, dims, null, 0, 0, 0, null, 0], /smaller than its shape/],
    [[x, w, out, [...dims.slice(0, 9), 0, ...dims.slice(10)], null, 0, 0, 0, null, 0], /strides and dilations must be >= 1/],
    [[x, w, out, dims, null, 0, 9, 0, null, 0], /'act' must be an activation code/],
    [[x, w, out, dims, null, 2, 0, 0, null, 0], /'bias' must be a Float32Array/],
    [[x, w, out, dims, new Float32Array(2), 2, 0, 0, null, 0], /'bias' has 2 elements, needs 3/],
    [[x, w, out, dims, null, 0, 5, 0, null, 0], /act prelu needs a slope/],
    [[new Int32Array(32), w, out, dims, null, 0, 0, 0, null, 0], /argument 'x' must be a Float32Array/],
    [[x, w, x.subarray(1), [1, 4, 4, 2, 4, 4, 1, 1, 1, 1, 1, 1, 1, 0, 0], null, 0, 0, 0, null, 0], /must not share memory/],
    [[x, w, x, [1, 4, 4, 2, 2, 2, 6, 1, 1, 2, 2, 1, 1, 0, 0], null, 0, 0, 0, null, 0], /must not share memory/],  // in place, rows longer
    [[x, w, out, [-1, ...dims.slice(1)], null, 0, 0, 0, null, 0], /dims\[0\] must be in/],
  ];
  for (const [args, re] of bad) assert.throws(() => nat.conv2d(...args), re);
});

test('depthwiseConv2d computes a known case and rejects bad arguments', () => {
  // x [1, 4, 4, 2] of ones, filter [3, 3, 2, 1] of ones, same padding: interior 9, corner 4.
  const dx = new Float32Array(32).fill(1), dw = new Float32Array(18).fill(1), dy = new Float32Array(32);
  const dd = [1, 4, 4, 2, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1];
  const dbig = new Float32Array(64);
  nat.depthwiseConv2d(dx, dw, dy, dd, null, 0, 0, null);
  assert.equal(dy[((1 * 4) + 1) * 2], 9);
  assert.equal(dy[0], 4);
  const bad = [
    [[dx, dw, dy, dd.slice(1), null, 0, 0, null], /'dims' must hold 15 integers/],
    [[dx, dw.subarray(1), dy, dd, null, 0, 0, null], /smaller than its shape/],
    [[dx, dw, dy, dd, new Float32Array(1), 0, 0, null], /'bias' has 1 elements, needs 2/],
    [[dx, dw, dy, dd, null, 5, 0, null], /act prelu needs a 'slope' of 2 values/],
    [[dx, dw, dy, dd, null, -1, 0, null], /'act' must be an activation code/],
    [[dbig.subarray(0, 32), dw, dbig.subarray(2, 34), dd, null, 0, 0, null], /must not share memory/],  // shifted
    [[dbig, new Float32Array(36), dbig, [...dd.slice(0, 6), 2, ...dd.slice(7)], null, 0, 0, null], /in place .*channel multiplier 1/],
    [[dx, dw, dy, [...dd.slice(0, 10), 0, ...dd.slice(11)], null, 0, 0, null], /strides and dilations must be >= 1/],
  ];
  for (const [args, re] of bad) assert.throws(() => nat.depthwiseConv2d(...args), re);
});

test('pool2d computes a known case and rejects bad arguments', () => {
  // x [1, 2, 2, 1] = 1..4, 2x2 window, valid: max 4, avg 2.5
  const px = Float32Array.from([1, 2, 3, 4]), py = new Float32Array(1);
  const pd = [1, 2, 2, 1, 1, 1, 2, 2, 1, 1, 1, 1, 0, 0];
  nat.pool2d(0, px, py, pd);
  assert.equal(py[0], 4);
  nat.pool2d(1, px, py, pd);
  assert.equal(py[0], 2.5);
  const bad = [
    [[2, px, py, pd], /'type' must be 0 \(max\) or 1 \(avg\)/],
    [[0, px, py, pd.slice(1)], /'dims' must hold 14 integers/],
    [[0, px.subarray(1), py, pd], /smaller than its shape/],
    [[0, px, py, [...pd.slice(0, 6), 0, ...pd.slice(7)]], /filter sizes, strides and dilations must be >= 1/],
    [[0, px, px.subarray(1), [1, 2, 2, 1, 1, 1, 2, 2, 1, 1, 1, 1, 0, 0]], /must not share memory/],
    [[0, px, px, [1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0]], /must not share memory/],  // in place, but 2 rows out of 1
  ];
  for (const [args, re] of bad) assert.throws(() => nat.pool2d(...args), re);
});

test('channelAffine (batch norm) computes x * a + b per channel and rejects bad arguments', () => {
  const cx = Float32Array.from([1, 2, 3, 4]), ca = Float32Array.from([2, 3]), cb = Float32Array.from([1, -1]);
  const cy = new Float32Array(4);
  nat.channelAffine(cx, ca, cb, cy, 2);
  assert.deepEqual(Array.from(cy), [3, 5, 7, 11]);
  assert.throws(() => nat.channelAffine(cx, ca, cb, cy, 3), /C must be >= 1 and divide the length of x/);
  assert.throws(() => nat.channelAffine(cx, ca.subarray(1), cb, cy, 2), /'a' and 'b' need C values/);
  assert.throws(() => nat.channelAffine(cx, ca, cb, cx, 2), /must not share memory/);
  assert.throws(() => nat.channelAffine(cx, ca, cb, cy, 0), /C must be >= 1/);
});

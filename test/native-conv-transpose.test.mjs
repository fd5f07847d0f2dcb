// SPDX-License-Identifier: Apache-2.0
// The addon's conv2dTranspose entry point: a known case through both algorithms, bitwise
// agreement across thread counts, and bad arguments rejected with clear errors (numerics against
// float64 are in test/ops.test.mjs, Conv2DBackpropInput cases).
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');

// dx [1, 4, 4, 2] from dy [1, 2, 2, 3], filter [2, 2, 2, 3] of ones, stride 2, no padding: every dx
// element receives exactly one tap (the 2x2 windows tile dx), summing 3 ones.
const dims = [1, 4, 4, 2, 2, 2, 3, 2, 2, 2, 2, 0, 0];
const dy = new Float32Array(12).fill(1), w = new Float32Array(24).fill(1);

test('conv2dTranspose computes a known case with each algorithm', () => {
  for (const algo of [0, 1, 2]) {
    const dx = new Float32Array(32).fill(NaN);
    nat.conv2dTranspose(dy, w, dx, dims, algo);
    assert.deepEqual(Array.from(dx), new Array(32).fill(3), `algo ${algo}`);
  }
  // 3x3 stride 1 'same' (pad 1) on 3x3 ones, 1 channel: dx counts the taps that reach each element.
  const dx = new Float32Array(9);
  nat.conv2dTranspose(new Float32Array(9).fill(1), new Float32Array(9).fill(1), dx, [1, 3, 3, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1], 0);
  assert.deepEqual(Array.from(dx), [4, 6, 4, 6, 9, 6, 4, 6, 4]);
});

test('conv2dTranspose results do not depend on the thread count', () => {
  const before = nat.getNumThreads();
  try {
    const p = [2, 23, 19, 24, 12, 10, 40, 4, 3, 2, 2, 1, 1];
    const n = (a) => a.reduce((x, y) => x * y, 1);
    const gy = Float32Array.from({length: n([2, 12, 10, 40])}, (_, i) => Math.sin(i));
    const gw = Float32Array.from({length: n([4, 3, 24, 40])}, (_, i) => Math.cos(i));
    for (const algo of [1, 2]) {
      const out = [1, 2].map((t) => {
        nat.setNumThreads(t);
        const dx = new Float32Array(n([2, 23, 19, 24]));
        nat.conv2dTranspose(gy, gw, dx, p, algo);
        return dx;
      });
      assert.deepEqual(out[0], out[1], `algo ${algo}`);
    }
  } finally {
    nat.setNumThreads(before);
  }
});

test('conv2dTranspose rejects bad arguments with clear errors', () => {
  const dx = new Float32Array(32);
  const bad = [
    [[dy, w, dx, dims.slice(0, 12), 0], /'dims' must hold 13 integers/],
    [[dy, w, new Float32Array(31), dims, 0], /smaller than its shape/],
    [[dy.subarray(1), w, dx, dims, 0], /smaller than its shape/],
    [[dy, w.subarray(1), dx, dims, 0], /smaller than its shape/],
    [[dy, w, dx, [...dims.slice(0, 9), 0, ...dims.slice(10)], 0], /strides must be >= 1/],
    [[dy, w, dx, [-1, ...dims.slice(1)], 0], /dims\[0\] must be in/],
    [[dy, w, dx, [...dims.slice(0, 11), 2 ** 40, 0], 0], /pads are out of range/],
    [[dy, w, dx, [2 ** 30, 2 ** 30, 4, 2, 2, 2, 3, 2, 2, 2, 2, 0, 0], 0], /sizes overflow/],
    [[dy, w, dx, dims, 3], /'algo' must be 0 \(auto\), 1 \(gemm\) or 2 \(phase\)/],
    [[new Int32Array(12), w, dx, dims, 0], /argument 'dy' must be a Float32Array/],
    [[dy, w, dy, [1, 2, 2, 3, 2, 2, 3, 1, 1, 1, 1, 0, 0], 0], /must not share memory/],
  ];
  for (const [args, re] of bad) assert.throws(() => nat.conv2dTranspose(...args), re);
});

test('conv2dBackpropFilter computes a known case and rejects bad arguments', () => {
  // x [1, 3, 3, 1] of ones, dy [1, 3, 3, 1] of ones, 3x3 'same' (pad 1): dw[kh, kw] counts the
  // output positions whose tap (kh, kw) lies inside x.
  const x1 = new Float32Array(9).fill(1), dy1 = new Float32Array(9).fill(1), dw = new Float32Array(9).fill(NaN);
  const d = [1, 3, 3, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1];
  nat.conv2dBackpropFilter(x1, dy1, dw, d);
  assert.deepEqual(Array.from(dw), [4, 6, 4, 6, 9, 6, 4, 6, 4]);
  const bad = [
    [[x1, dy1, dw, d.slice(1)], /'dims' must hold 13 integers/],
    [[x1.subarray(1), dy1, dw, d], /x, dy or dw is smaller than its shape/],
    [[x1, dy1, dw.subarray(1), d], /x, dy or dw is smaller than its shape/],
    [[x1, dy1, dw, [...d.slice(0, 10), 0, 1, 1]], /strides must be >= 1/],
    [[x1, dy1, x1, d], /'dw' must not share memory with x or dy/],
    [[x1, new Float64Array(9), dw, d], /argument 'dy' must be a Float32Array/],
  ];
  for (const [args, re] of bad) assert.throws(() => nat.conv2dBackpropFilter(...args), re);
});

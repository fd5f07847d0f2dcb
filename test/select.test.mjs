// SPDX-License-Identifier: Apache-2.0
// Comparisons, TopK, AddN, GatherNd: afterburner against tfjs-cpu's kernels (the reference, bit for
// bit, -0 and NaN included) at every ISA level and at 1 and 2 threads; the addon's functions called
// directly (so a silent cpu fallback cannot pass for the native path); and the argument checks.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import path from 'node:path';
import {test} from 'node:test';

const require = createRequire(import.meta.url);
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');
const nat = require(process.env.AFTERBURNER_ADDON || path.join(path.dirname(require.resolve('afterburner/package.json')), 'build/Release/afterburner.node'));

/** Seeded integers in [-m, m] (many ties) with a share of specials. */
function values(n, seed, m = 6, specials = []) {
  const d = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const u = seed / 4294967296;
    d[i] = Math.round(u * 2 * m - m);
    if (u < 0.15 && specials.length) d[i] = specials[i % specials.length];
  }
  return d;
}
const SPECIALS = [NaN, -0, 0, Infinity, -Infinity, 1e-45, -3e38];

/** A tensor's data with -0 told apart (deepEqual alone treats -0 and +0 as different already). */
const dump = (t) => Array.from(t.dataSync(), (v) => (Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v));

/** Runs f on cpu and on afterburner at every level and 1/2 threads; outputs must be identical. */
function sameAsCpu(what, f) {
  const levels = ab.isa.effective(), top = ab.isa.current(), threads = ab.getNumThreads();
  try {
    tf.setBackend('cpu');
    const refT = [].concat(f());
    const ref = refT.map((t) => ({shape: t.shape, dtype: t.dtype, data: dump(t)}));
    tf.dispose(refT);
    tf.setBackend('afterburner');
    for (const level of levels) {
      ab.isa.set(level);
      for (const nt of [1, 2]) {
        ab.setNumThreads(nt);
        const before = tf.memory().numTensors;
        const gotT = [].concat(f());
        const got = gotT.map((t) => ({shape: t.shape, dtype: t.dtype, data: dump(t)}));
        tf.dispose(gotT);
        assert.deepEqual(got, ref, `${what} at ${level}, ${nt} thread(s)`);
        assert.equal(tf.memory().numTensors, before, `${what}: no tensor leaked`);
      }
    }
  } finally {
    tf.setBackend('afterburner');
    ab.isa.set(top);
    ab.setNumThreads(threads);
  }
}

const CMP = ['equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual'];
const CMP_SHAPES = [[[7], [7]], [[3, 5], [5]], [[1], [9]], [[4, 1, 5], [3, 1]], [[2, 3, 1, 4], [1, 3, 2, 1]], [[0, 2], [2]],
                    [[], [3]], [[200, 400], [400]], [[2, 70000], [2, 1]], [[1, 128, 128, 80], [1, 128, 128, 80]]];

test('comparisons equal tfjs-cpu: float32 with NaN, +-0, +-Inf, broadcasting, empty, threaded sizes', () => {
  let seed = 1;
  for (const [sa, sb] of CMP_SHAPES) {
    const na = sa.reduce((p, q) => p * q, 1), nb = sb.reduce((p, q) => p * q, 1);
    const a = values(na, seed++, 4, SPECIALS), b = values(nb, seed++, 4, SPECIALS);
    for (const fn of CMP) {
      sameAsCpu(`${fn} [${sa}] [${sb}]`, () => tf.tidy(() => tf[fn](tf.tensor(a, sa), tf.tensor(b, sb))));
    }
  }
});

test('comparisons equal tfjs-cpu: int32, and float32 tensors stored as Int32Array (values past 2^24)', () => {
  const big = [16777217, 16777216, -2147483648, 2147483647, 0, -1, 5, 16777217];
  const other = [16777216, 16777216, -2147483648, 2147483646, 0, 1, 5, 16777217];
  for (const fn of CMP) {
    sameAsCpu(`${fn} int32`, () => tf.tidy(() => tf[fn](tf.tensor(big, [8], 'int32'), tf.tensor(other, [8], 'int32'))));
    sameAsCpu(`${fn} int32 broadcast`, () => tf.tidy(() => tf[fn](tf.tensor(big, [2, 4], 'int32'), tf.scalar(5, 'int32'))));
    // tfjs-cpu's Cast int32 -> float32 keeps the Int32Array: the exact integers are compared.
    sameAsCpu(`${fn} cast float32`, () => tf.tidy(() => tf[fn](tf.cast(tf.tensor(big, [8], 'int32'), 'float32'),
                                                                tf.cast(tf.tensor(other, [8], 'int32'), 'float32'))));
    // Mixed storage (Float32Array vs Int32Array under float32): the cpu kernel runs.
    sameAsCpu(`${fn} mixed storage`, () => tf.tidy(() => tf[fn](tf.cast(tf.tensor(big, [8], 'int32'), 'float32'),
                                                                 tf.tensor(other, [8], 'float32'))));
    sameAsCpu(`${fn} bool`, () => tf.tidy(() => tf[fn](tf.tensor([1, 0, 1], [3], 'bool'), tf.tensor([1, 1, 0], [3], 'bool'))));
  }
});

test('the addon\'s compare gives tfjs\'s bytes directly (not through a fallback) and checks its arguments', () => {
  const a = new Float32Array([NaN, -0, 1, 2, Infinity]), b = new Float32Array([NaN, 0, 2, 2, Infinity]);
  const expect = {0: [0, 1, 0, 1, 1], 1: [1, 0, 1, 0, 0], 2: [0, 0, 1, 0, 0], 3: [0, 1, 1, 1, 1], 4: [0, 0, 0, 0, 0], 5: [0, 1, 0, 1, 1]};
  for (const [op, want] of Object.entries(expect)) {
    const out = new Uint8Array(5);
    nat.compare(Number(op), a, [5], b, [5], out, [5]);
    assert.deepEqual(Array.from(out), want, `op ${op}`);
  }
  const U = (n) => new Uint8Array(n), F = (n) => new Float32Array(n), I = (n) => new Int32Array(n);
  assert.throws(() => nat.compare(6, F(2), [2], F(2), [2], U(2), [2]), /compare: 'op' 6 is not a CompareOp/);
  assert.throws(() => nat.compare(0, F(2), [2], I(2), [2], U(2), [2]), /same type/);
  assert.throws(() => nat.compare(0, F(2), [2], F(2), [2], F(2), [2]), /'out' must be a Uint8Array/);
  assert.throws(() => nat.compare(0, F(3), [2], F(2), [2], U(2), [2]), /'a' has 3 elements/);
  assert.throws(() => nat.compare(0, F(3), [3], F(2), [2], U(3), [3]), /does not broadcast/);
  assert.throws(() => nat.compare(0, F(2), [2], F(2), [2], U(2), [-2]), /outShape/);
  assert.throws(() => nat.compare(0, F(2), [1, 1, 1, 1, 1, 1, 1, 1, 2], F(2), [2], U(2), [2]), /rank 9/);
  assert.throws(() => nat.compare(0, new Uint8Array(2), [2], F(2), [2], U(2), [2]), /'a' must be a Float32Array or an Int32Array/);
  const buf = new ArrayBuffer(64);
  assert.throws(() => nat.compare(0, new Float32Array(buf, 0, 4), [4], F(4), [4], new Uint8Array(buf, 4, 4), [4]), /share memory/);
});

// ---- TopK -------------------------------------------------------------------------------------
const TOPK = [[[9], [0, 1, 4, 9]], [[3, 50], [1, 7, 49, 50]], [[5, 1], [0, 1]], [[2, 3, 40], [3, 40]], [[5000], [1, 100, 700]],
              [[2, 20000], [30, 3000]], [[1, 300000], [1, 100, 5000]], [[16, 70], [8]]];

test('TopK equals tfjs-cpu: ties by lower index, -0 next to +0, int32, k = 0 and k = n, long rows split over threads', () => {
  let seed = 7;
  for (const [shape, ks] of TOPK) {
    const n = shape.reduce((p, q) => p * q, 1);
    const x = values(n, seed++, shape[shape.length - 1] > 1000 ? 3000 : 20, [-0, 0, 1e-45, -1e-45]);
    for (const k of ks) {
      sameAsCpu(`topk [${shape}] k ${k}`, () => {
        const r = tf.tidy(() => tf.topk(tf.tensor(x, shape), k));
        return [r.values, r.indices];
      });
      sameAsCpu(`topk int32 [${shape}] k ${k}`, () => {
        const r = tf.tidy(() => tf.topk(tf.tensor(x, shape, 'int32'), k));
        return [r.values, r.indices];
      });
    }
    const k = shape[shape.length - 1];
    sameAsCpu(`topk [${shape}] k = n unsorted`, () => {
      const r = tf.tidy(() => tf.topk(tf.tensor(x, shape), k, false));
      return [r.values, r.indices];
    });
  }
});

test('TopK: NaN / Inf rows, unsorted partial selections, empty tensors run the cpu kernel (same results)', () => {
  const x = values(600, 3, 5, [NaN, Infinity, -Infinity]);
  for (const [shape, k, sorted] of [[[600], 10, true], [[6, 100], 100, true], [[6, 100], 5, false], [[600], 0, false]]) {
    sameAsCpu(`topk [${shape}] k ${k} sorted ${sorted}`, () => {
      const r = tf.tidy(() => tf.topk(tf.tensor(x, shape), k, sorted));
      return [r.values, r.indices];
    });
  }
  sameAsCpu('topk empty', () => {
    const r = tf.tidy(() => tf.topk(tf.zeros([0, 5]), 2));
    return [r.values, r.indices];
  });
});

test('the addon\'s topK: native results, the NaN/Inf refusal, argument checks', () => {
  const x = new Float32Array([3, -0, 5, 0, 5, -2, 3]);
  const vals = new Float32Array(4), idx = new Int32Array(4);
  assert.equal(nat.topK(x, 1, 7, 4, true, vals, idx), true);
  assert.deepEqual(Array.from(idx), [2, 4, 0, 6]);
  assert.deepEqual(Array.from(vals), [5, 5, 3, 3]);
  const all = new Int32Array(7);
  nat.topK(x, 1, 7, 7, true, new Float32Array(7), all);
  assert.deepEqual(Array.from(all), [2, 4, 0, 6, 1, 3, 5], '-0 and +0 tie: lower index first');
  assert.equal(nat.topK(new Float32Array([1, NaN, 2]), 1, 3, 1, true, new Float32Array(1), new Int32Array(1)), false);
  assert.equal(nat.topK(new Float32Array([1, Infinity, 2]), 1, 3, 1, true, new Float32Array(1), new Int32Array(1)), false);
  const F = (n) => new Float32Array(n), I = (n) => new Int32Array(n);
  assert.throws(() => nat.topK(F(6), 2, 3, 4, true, F(8), I(8)), /'k' \(4\) must be at most 'n' \(3\)/);
  assert.throws(() => nat.topK(F(6), 2, 3, 2, false, F(4), I(4)), /sorted = false needs k == n/);
  assert.throws(() => nat.topK(F(6), 2, 3, 2, true, F(3), I(4)), /rows\*k/);
  assert.throws(() => nat.topK(F(6), 2, 3, 2, true, I(4), I(4)), /'vals' must have the type of 'x'/);
  assert.throws(() => nat.topK(F(6), 2, 3, 2, true, F(4), F(4)), /'idx' must be an Int32Array/);
  assert.throws(() => nat.topK(F(6), -2, 3, 2, true, F(4), I(4)), />= 0/);
  assert.throws(() => nat.topK(F(6), 2, 3, 2, 'yes', F(4), I(4)), /'sorted' must be a boolean/);
  const buf = new ArrayBuffer(64);
  assert.throws(() => nat.topK(new Float32Array(buf, 0, 6), 2, 3, 1, true, new Float32Array(buf, 16, 2), I(2)), /share memory/);
});

// ---- AddN -------------------------------------------------------------------------------------
test('AddN equals tfjs-cpu: 1 to 6 inputs, NaN, +-0 (0 + -0 = +0), +-Inf, empty, threaded sizes', () => {
  let seed = 11;
  for (const [shape, m] of [[[5], 1], [[17], 2], [[3, 65], 3], [[0, 3], 2], [[2, 9, 9, 33], 6], [[1, 56, 56, 24], 2], [[700, 300], 3]]) {
    const n = shape.reduce((p, q) => p * q, 1);
    const xs = Array.from({length: m}, () => values(n, seed++, 1e6, [...SPECIALS, -0, -0]).map((v) => v / 7));
    sameAsCpu(`addN ${m} x [${shape}]`, () => tf.tidy(() => tf.addN(xs.map((d) => tf.tensor(d, shape)))));
  }
  sameAsCpu('addN int32', () => tf.tidy(() => tf.addN([tf.tensor([1, 2], [2], 'int32'), tf.tensor([3, -4], [2], 'int32')])));
});

test('the addon\'s addN: native result and argument checks', () => {
  const out = new Float32Array(3);
  nat.addN([new Float32Array([-0, 1, 2 ** 24]), new Float32Array([-0, 2, 1]), new Float32Array([-0, 3, 1])], out);
  assert.ok(Object.is(out[0], 0), '0 + -0 + -0 + -0 = +0 as tfjs-cpu');
  assert.deepEqual(Array.from(out), [0, 6, 2 ** 24], 'float32 steps: (2^24 + 1) + 1 rounds twice');
  const F = (n) => new Float32Array(n);
  assert.throws(() => nat.addN([], F(2)), /addN: 'xs' must hold at least one array/);
  assert.throws(() => nat.addN([F(2), F(3)], F(2)), /'xs'\[1\] has 3 elements/);
  assert.throws(() => nat.addN([F(2), new Int32Array(2)], F(2)), /'xs'\[1\] must be a Float32Array/);
  assert.throws(() => nat.addN(F(2), F(2)), /addN/);
  assert.throws(() => nat.addN([F(2)], new Int32Array(2)), /'out'/);
  const buf = new ArrayBuffer(64);
  assert.throws(() => nat.addN([new Float32Array(buf, 0, 4)], new Float32Array(buf, 8, 4)), /share memory/);
});

// ---- GatherNd ---------------------------------------------------------------------------------
test('GatherNd equals tfjs-cpu: float32 and int32 params, flattened-index rule, errors, large gathers', () => {
  const p = values(4 * 5 * 6, 5, 100, SPECIALS);
  const cases = [[[4, 5, 6], [[1, 2], [3, 4], [1, -1], [0, 0]], [4, 2]], [[4, 5, 6], [[3, 4, 5], [0, 0, 0]], [2, 3]],
                 [[4, 5, 6], [[2], [0]], [2, 1]], [[4, 5, 6], [[[1, 1]], [[2, 2]]], [2, 1, 2]]];
  for (const [ps, idx, ishape] of cases) {
    for (const dtype of ['float32', 'int32']) {
      sameAsCpu(`gatherND [${ps}] ${JSON.stringify(idx)} ${dtype}`,
                () => tf.tidy(() => tf.gatherND(tf.tensor(p, ps, dtype), tf.tensor(idx.flat(2), ishape, 'int32'))));
    }
  }
  const big = values(64 * 64 * 40, 9, 50), many = Array.from({length: 5000}, (_, i) => [i % 64, (i * 7) % 64]);
  sameAsCpu('gatherND 5000 slices of 40', () => tf.tidy(() => tf.gatherND(tf.tensor(big, [64, 64, 40]), tf.tensor(many.flat(), [5000, 2], 'int32'))));
  for (const bad of [[[4, 0]], [[0, -1]], [[-1, 4]]]) {
    const err = (be) => {
      tf.setBackend(be);
      try {
        tf.tidy(() => tf.gatherND(tf.tensor(p, [4, 5, 6]), tf.tensor(bad.flat(), [1, 2], 'int32')));
        return null;
      } catch (e) {
        return e.message;
      } finally {
        tf.setBackend('afterburner');
      }
    };
    assert.ok(err('cpu'), `cpu throws for ${bad}`);
    assert.equal(err('afterburner'), err('cpu'));
  }
});

test('the addon\'s gatherNd: native result, the out-of-range refusal, argument checks', () => {
  const p = new Float32Array([0, 1, 2, 3, 4, 5]), out = new Float32Array(4);
  assert.equal(nat.gatherNd(p, new Int32Array([2, 0]), out, 2, [1]), true);
  assert.deepEqual(Array.from(out), [4, 5, 0, 1]);
  assert.equal(nat.gatherNd(p, new Int32Array([3, 0]), out, 2, [1]), false);
  assert.equal(nat.gatherNd(p, new Int32Array([-1, 0]), out, 2, [1]), false);
  const F = (n) => new Float32Array(n), I = (n) => new Int32Array(n);
  assert.throws(() => nat.gatherNd(p, F(2), out, 2, [1]), /gatherNd: argument 'indices' must be an Int32Array/);
  assert.throws(() => nat.gatherNd(p, I(2), F(3), 2, [1]), /'out' has 3 elements/);
  assert.throws(() => nat.gatherNd(p, I(2), out, 0, [1]), /'sliceSize' must be >= 1/);
  assert.throws(() => nat.gatherNd(p, I(2), out, 4, [1]), /not a whole number of slices/);
  assert.throws(() => nat.gatherNd(p, I(3), out, 2, [1, 1]), /not a whole number of 2-coordinate/);
  assert.throws(() => nat.gatherNd(p, I(2), out, 2, []), /'strides' must hold 1 to 64/);
  assert.throws(() => nat.gatherNd(p, I(2), out, 2, [-1]), /'strides'\[0\]/);
  assert.throws(() => nat.gatherNd(new Uint8Array(6), I(2), out, 2, [1]), /'params' must be a Float32Array, Int32Array or Uint32Array/);
  assert.throws(() => nat.gatherNd(p, I(2), p.subarray(0, 4), 2, [1]), /share memory/);
});

test('the selection kernels are listed as native', () => {
  for (const k of ['Equal', 'NotEqual', 'Less', 'LessEqual', 'Greater', 'GreaterEqual', 'TopK', 'AddN', 'GatherNd']) {
    assert.ok(ab.info().nativeKernels.includes(k), k);
  }
});

// ---- toF32: the conversion f32() uses for float32 tensors stored as Uint8Array / Int32Array ------
test('toF32 equals Float32Array.from at every level (int32 past 2^24 rounds to nearest even), and checks its arguments', () => {
  const i32 = new Int32Array(70000);
  for (let i = 0; i < i32.length; ++i) i32[i] = (i * 2654435761) | 0;
  i32.set([16777217, 16777219, 33554434, 33554435, -33554435, 2147483647, -2147483648, 0, -1]);
  const u8 = Uint8Array.from({length: 1000}, (_, i) => (i * 37) & 255);
  const top = ab.isa.current();
  try {
    for (const level of ab.isa.effective()) {
      ab.isa.set(level);
      for (const x of [i32, u8, i32.subarray(3, 70), u8.subarray(1, 2)]) {
        const out = new Float32Array(x.length);
        nat.toF32(x, out);
        assert.deepEqual(out, Float32Array.from(x), `${x.constructor.name} of ${x.length} at ${level}`);
      }
    }
  } finally {
    ab.isa.set(top);
  }
  assert.throws(() => nat.toF32(new Float32Array(2), new Float32Array(2)), /toF32: argument 'x' must be a Uint8Array or an Int32Array/);
  assert.throws(() => nat.toF32(new Int32Array(2), new Float32Array(3)), /'out' has 3 elements/);
  assert.throws(() => nat.toF32(new Int32Array(2), new Int32Array(2)), /'out' must be a Float32Array/);
  const buf = new ArrayBuffer(64);
  assert.throws(() => nat.toF32(new Int32Array(buf, 0, 4), new Float32Array(buf, 8, 4)), /share memory/);
  // Through tfjs: a native kernel reading a float32 tensor that Cast left as an Int32Array / Uint8Array.
  // Past 2^24 tfjs-cpu computes on the exact integers: nativeKernel() hands those to the cpu kernel.
  const big = Array.from({length: 300}, (_, i) => 16777216 - 3 * i * (i % 2 ? -1 : 1) - 1000);
  const huge = Array.from({length: 300}, (_, i) => 16777217 + 2 * i * (i % 2 ? -1 : 1));
  sameAsCpu('add of cast int32', () => tf.tidy(() => tf.add(tf.cast(tf.tensor(big, [300], 'int32'), 'float32'), tf.scalar(0.5))));
  sameAsCpu('add of cast int32 past 2^24', () => tf.tidy(() => tf.add(tf.cast(tf.tensor(huge, [300], 'int32'), 'float32'), tf.scalar(0.5))));
  sameAsCpu('sum of cast int32 past 2^24', () => tf.tidy(() => tf.sum(tf.cast(tf.tensor(huge, [300], 'int32'), 'float32'))));
  sameAsCpu('mul of cast bool', () => tf.tidy(() => tf.mul(tf.cast(tf.greater(tf.tensor(big, [300]), 16777300), 'float32'), tf.scalar(3))));
});

// ---- StridedSlice's cached plans (src/backend/kernels/StridedSlice.ts) ---------------------------
test('StridedSlice equals tfjs-cpu for every plan kind (reshape, view, copy, cpu), dtype and repeated call', () => {
  const x = values(2 * 3 * 4, 21, 50, SPECIALS);
  const cases = [
    [[2, 3, 4], [0, 0, 0], [2, 3, 4], [1, 1, 1], 0, 0, 0, 0, 0],   // identity: reshape
    [[1, 3], [0, 1], [0, 2], [1, 1], 1, 1, 0, 0, 2],               // x[:, 1]: a view
    [[2, 3, 4], [1, 0, 0], [2, 3, 4], [1, 1, 1], 0, 0, 0, 0, 1],   // shrink axis 0: a view
    [[2, 3, 4], [0, 1, 0], [2, 3, 4], [1, 1, 1], 0, 0, 0, 0, 0],   // not contiguous: a copy
    [[2, 3, 4], [1, 2, 3], [0, 0, 0], [-1, -1, -2], 0, 0, 0, 0, 0],  // negative strides
    [[2, 3, 4], [0, 0, 1], [2, 3, 4], [1, 1, 2], 0, 0, 0, 0, 4],   // shrink with a stride: the cpu kernel
    [[2, 3, 4], [0, 0], [1, 2], [1, 1], 0, 0, 1, 0, 0],            // ellipsis
    [[2, 3, 4], [0, 0, 0], [1, 2, 4], [1, 1, 1], 0, 0, 0, 2, 0],   // new axis
  ];
  for (const [shape, begin, end, strides, bm, em, elm, nam, sam] of cases) {
    const n = shape.reduce((p, q) => p * q, 1);
    for (const dtype of ['float32', 'int32', 'bool']) {
      for (let rep = 0; rep < 2; ++rep) {  // the second call reuses the plan
        sameAsCpu(`stridedSlice [${shape}] ${dtype} ${begin}:${end}:${strides} masks ${[bm, em, elm, nam, sam]}`,
                  () => tf.tidy(() => tf.stridedSlice(tf.tensor(x.subarray(0, n), shape, dtype), begin, end, strides, bm, em, elm, nam, sam)));
      }
    }
  }
  // A float32 tensor stored as an Int32Array (tfjs-cpu's Cast) sliced as a view and as a copy.
  for (const [begin, end] of [[[1, 0, 0], [2, 3, 4]], [[0, 1, 1], [2, 3, 3]]]) {
    sameAsCpu(`stridedSlice of a cast ${begin}`, () => tf.tidy(() => tf.stridedSlice(
        tf.cast(tf.tensor(Array.from({length: 24}, (_, i) => 16777217 + i), [2, 3, 4], 'int32'), 'float32'), begin, end, [1, 1, 1])));
  }
  // Invalid parameters throw tfjs's error every time (a failed plan is not cached).
  for (let rep = 0; rep < 2; ++rep) {
    assert.throws(() => tf.tidy(() => tf.stridedSlice(tf.zeros([2, 3]), [0, 0, 0], [1, 1, 1], [1, 1, 1])));
  }
});

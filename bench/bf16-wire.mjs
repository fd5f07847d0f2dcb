// SPDX-License-Identifier: Apache-2.0
// bf16 weights end to end (tfjs ops on the afterburner backend), one thread by default:
//   node bench/bf16-wire.mjs [--threads 1] [--rounds 7] [--no-model]
// Each round times, back to back, the same op with an f32 weight (prepacked f32: the cache packs it
// on its second use) and with a bf16-marked copy of it (toBf16Weight): best of a few calls each.
// Cases: tf.conv2d 3x3 64->64 'same' on 1x56x56x64 (the target: bf16 >= 1.6x f32), the
// same conv with the im2col f32 path (AFTERBURNER_CONV=im2col is read per call) for reference, a
// the same conv on the addon directly (kernel only), a dense [8,768]x[768,3072], and nsfwjs MobileNetV2 (batch 1) optimized with dtype float32 vs
// bfloat16. Prints medians over rounds of the times and of the per-round f32/bf16 speedups.
import {createRequire} from 'node:module';

import {inputBatch, loadModel, modelById, quietCpu, tf} from '../test/lib/models.mjs';

const require = createRequire(import.meta.url);
const ab = require('afterburner');
const wc = require('../dist/cjs/backend/weight-cache.js');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const threads = Number(arg('--threads', '1'));
const rounds = Number(arg('--rounds', '7'));
quietCpu();
await tf.setBackend('afterburner');
ab.setNumThreads(threads);

function best(fn, n) {
  let b = Infinity;
  for (let i = 0; i < n; ++i) {
    const t0 = process.hrtime.bigint();
    fn();
    b = Math.min(b, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return b;
}
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

const cases = [];
{
  const x = tf.randomNormal([1, 56, 56, 64]);
  const f32w = tf.randomNormal([3, 3, 64, 64]), bfw = tf.add(f32w, 0);  // data of its own
  wc.toBf16Weight(bfw, 'conv2d');
  const gflop = 2 * 56 * 56 * 64 * 576 / 1e9;
  const conv = (w) => () => tf.tidy(() => void tf.conv2d(x, w, 1, 'same').dataSync());
  cases.push({name: 'conv2d 3x3 64->64 1x56x56x64', gflop, f32: conv(f32w), bf16: conv(bfw), n: 5});
  cases.push({name: 'conv2d same, f32 on im2col path', gflop, f32: () => {
    process.env.AFTERBURNER_CONV = 'im2col';
    try {
      conv(f32w)();
    } finally {
      delete process.env.AFTERBURNER_CONV;
    }
  }, bf16: conv(bfw), n: 5});
}
{
  // the same conv on the addon directly, output reused (no tfjs bookkeeping, no fresh-output page faults)
  const nat = require('../build/Release/afterburner.node');
  const r = (n) => Float32Array.from({length: n}, () => Math.random() - 0.5);
  const xv = r(56 * 56 * 64), wv = r(576 * 64), yv = new Float32Array(56 * 56 * 64);
  const dims = [1, 56, 56, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1];
  const pk = nat.bf16Pack(wv, 576, 64, false), pf = nat.packWeight(wv, 576, 64, false);
  cases.push({name: 'same conv, addon only (conv2d vs conv2dBf16)', gflop: 2 * 56 * 56 * 64 * 576 / 1e9,
    f32: () => nat.conv2d(xv, wv, yv, dims, null, 0, 0, 0, null, 0, pf),
    bf16: () => nat.conv2dBf16(xv, pk, yv, dims, null, 0, 0, 0, null, 0), n: 5});
}
{
  const a = tf.randomNormal([8, 768]);
  const f32w = tf.randomNormal([768, 3072]), bfw = tf.randomNormal([768, 3072]);
  wc.toBf16Weight(bfw, 'matmul');
  const mm = (w) => () => tf.tidy(() => void tf.matMul(a, w).dataSync());
  cases.push({name: 'dense [8,768]x[768,3072]', gflop: 2 * 8 * 768 * 3072 / 1e9, f32: mm(f32w), bf16: mm(bfw), n: 20});
}
if (!process.argv.includes('--no-model')) {
  const spec = modelById('nsfw-mobilenetv2');
  const l32 = await loadModel(spec), l16 = await loadModel(spec);
  const m32 = ab.optimize(l32.model, {inplace: true});
  const m16 = ab.optimize(l16.model, {dtype: 'bfloat16', inplace: true});
  console.log('report bf16:', m16.optimizationReport.bf16, 'weightsBf16', m16.optimizationReport.weightsBf16,
      'weightsPacked(f32 model)', m32.optimizationReport.weightsPacked);
  const inp = inputBatch(spec, 1);
  const x = tf.tensor(inp.data, inp.shape, inp.dtype);
  const run = (m) => () => tf.tidy(() => void m.predict(x).dataSync());
  cases.push({name: 'nsfwjs MobileNetV2 1x224x224x3 optimize()', gflop: NaN, f32: run(m32), bf16: run(m16), n: 3});
}

console.log(`afterburner ${ab.info().isa.current}, threads ${threads}, bf16: ${require('../build/Release/afterburner.node').bf16Info().summary}`);
for (const c of cases) {
  c.f32();
  c.f32();
  c.bf16();
  c.t32 = [];
  c.t16 = [];
  c.ratio = [];
}
for (let r = 0; r < rounds; ++r) {
  for (const c of cases) {
    const a = best(c.f32, c.n), b = best(c.bf16, c.n);
    c.t32.push(a);
    c.t16.push(b);
    c.ratio.push(a / b);
  }
}
console.log('| case | f32 ms | bf16 ms | f32 GFLOP/s | bf16 GFLOP/s | bf16 speedup median (min..max) |');
console.log('|---|---|---|---|---|---|');
for (const c of cases) {
  const a = median(c.t32), b = median(c.t16);
  const g = (t) => (Number.isFinite(c.gflop) ? (c.gflop / (t / 1e3)).toFixed(1) : '');
  console.log(`| ${c.name} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${g(a)} | ${g(b)} | ${median(c.ratio).toFixed(2)} ` +
      `(${Math.min(...c.ratio).toFixed(2)}..${Math.max(...c.ratio).toFixed(2)}) |`);
}

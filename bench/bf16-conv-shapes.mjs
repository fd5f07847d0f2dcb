// SPDX-License-Identifier: Apache-2.0
// Which convolutions of a model are slower with bf16 filters than in f32, one thread:
//   node bench/bf16-conv-shapes.mjs [--models nsfw-mobilenetv2,emotion] [--rounds 5] [--threads 1]
// Runs each model once with ab.optimize(m, {dtype: 'bfloat16'}) (eager) while recording the dims of
// every conv2dBf16 call the backend makes (the addon's export is wrapped for that one run), then
// times each distinct convolution on the addon alone: f32 (conv2d with its filter prepacked, as the
// weight cache does) and bf16 (conv2dBf16: its default path, and AFTERBURNER_CONV=implicit, the
// bf16 GEMM on implicit im2col), best of a few calls, medians over rounds. Prints one row per
// shape (count in the model, GFLOP/s, bf16/f32) and, per model, the time summed over its calls.
// Depthwise convolutions are not listed: their filters are not marked bf16 (they stay f32).
import {createRequire} from 'node:module';

import {inputBatch, loadModel, modelById, quietCpu, tf} from '../test/lib/models.mjs';

const require = createRequire(import.meta.url);
const ab = require('afterburner');
const nat = require('../build/Release/afterburner.node');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const models = arg('--models', 'nsfw-mobilenetv2,emotion,blazeface').split(',');
const rounds = Number(arg('--rounds', '5'));
const threads = Number(arg('--threads', '1'));
quietCpu();
await tf.setBackend('afterburner');
ab.setNumThreads(threads);

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
function best(fn, n) {
  let b = Infinity;
  for (let i = 0; i < n; ++i) {
    const t0 = process.hrtime.bigint();
    fn();
    b = Math.min(b, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return b;
}
function withEnv(name, value, fn) {
  const prev = process.env[name];
  process.env[name] = value;
  try {
    return fn();
  } finally {
    if (prev === undefined) delete process.env[name];
    else process.env[name] = prev;
  }
}

/** The dims of every conv2dBf16 call made while fn runs (by key, with a count). */
async function recordConvs(fn) {
  const seen = new Map();
  const orig = nat.conv2dBf16;
  nat.conv2dBf16 = function(x, packed, out, dims, ...rest) {
    const k = dims.join(',');
    const e = seen.get(k) ?? {dims: [...dims], count: 0, act: rest[1]};
    e.count++;
    seen.set(k, e);
    return orig.call(this, x, packed, out, dims, ...rest);
  };
  try {
    await fn();
  } finally {
    nat.conv2dBf16 = orig;
  }
  return [...seen.values()];
}

const r = (n) => Float32Array.from({length: n}, () => Math.random() - 0.5);
console.log(`afterburner ${ab.info().isa.current}, threads ${threads}, rounds ${rounds} (medians of best-of-n per round)`);
console.log('| model | conv (x -> out, filter, stride) | n | path | f32 GFLOP/s | bf16 GFLOP/s | bf16/f32 | implicit bf16/f32 |');
console.log('|---|---|---|---|---|---|---|---|');
for (const id of models) {
  const spec = modelById(id);
  const loaded = await loadModel(spec);
  const m16 = ab.optimize(loaded.model, {dtype: 'bfloat16', inplace: true});
  const inp = inputBatch(spec, 1);
  const x = tf.tensor(inp.data, inp.shape, inp.dtype);
  const convs = await recordConvs(async () => {
    const y = spec.kind === 'graph' ? await m16.executeAsync(x) : m16.predict(x);
    tf.dispose(y);
  });
  let t32sum = 0, t16sum = 0;
  for (const c of convs) {
    const [B, H, W, C, OH, OW, OC, FH, FW, sh, sw] = c.dims;
    const K = FH * FW * C, M = B * OH * OW;
    const xv = r(B * H * W * C), wv = r(K * OC), yv = new Float32Array(M * OC);
    const pk = nat.bf16Pack(wv, K, OC, false), pf = nat.packWeight(wv, K, OC, false);
    const f32 = () => nat.conv2d(xv, wv, yv, c.dims, null, 0, 0, 0, null, 0, pf);
    const bf = () => nat.conv2dBf16(xv, pk, yv, c.dims, null, 0, 0, 0, null, 0);
    const imp = () => withEnv('AFTERBURNER_CONV', 'implicit', bf);
    const gflop = 2 * M * OC * K / 1e9;
    const n = Math.max(2, Math.min(50, Math.round(2e-3 / Math.max(gflop / 100, 1e-6))));
    f32();
    bf();
    imp();
    const a = [], b = [], d = [];
    for (let i = 0; i < rounds; ++i) {
      a.push(best(f32, n));
      b.push(best(bf, n));
      d.push(best(imp, n));
    }
    const ta = median(a), tb = median(b), td = median(d);
    t32sum += ta * c.count;
    t16sum += tb * c.count;
    console.log(`| ${id} | ${H}x${W}x${C} -> ${OH}x${OW}x${OC}, ${FH}x${FW}, s${sh} | ${c.count} | ${nat.bf16ConvPath(c.dims)} | ` +
        `${(gflop / ta * 1e3).toFixed(1)} | ${(gflop / tb * 1e3).toFixed(1)} | ${(ta / tb).toFixed(2)} | ${(ta / td).toFixed(2)} |`);
    nat.packedFree(pf);
  }
  console.log(`| ${id} | all ${convs.reduce((s, c) => s + c.count, 0)} bf16 conv calls | | | ${t32sum.toFixed(2)} ms | ${t16sum.toFixed(2)} ms | ${(t32sum / t16sum).toFixed(2)} | |`);
  x.dispose();
}

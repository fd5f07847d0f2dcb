// SPDX-License-Identifier: Apache-2.0
// Models compiled in f32 and with bf16 weights, interleaved in one process, one thread:
//   node bench/bf16-models.mjs [--models emotion,blazeface,movenet-lightning,nsfw-mobilenetv2] [--rounds 7]
// Each model is loaded three times: ab.compile(ab.optimize(m)) (f32), ab.compile(ab.optimize(m,
// {dtype: 'bfloat16'})) (bf16), and the bf16 one again run with AFTERBURNER_CONV=implicit (the bf16
// convolutions on the implicit-im2col GEMM, the path before the direct one; that variable also sets
// the f32 convolutions' path, which in a bf16 model are the rule-kept ones only). Each round times
// them back to back (best of a few calls, outputs read back); medians over rounds of the times and of
// the per-round ratios.
import {createRequire} from 'node:module';

import {inputBatch, loadModel, modelById, quietCpu, tf} from '../test/lib/models.mjs';

const require = createRequire(import.meta.url);
const ab = require('afterburner');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const models = arg('--models', 'emotion,blazeface,movenet-lightning,nsfw-mobilenetv2').split(',');
const rounds = Number(arg('--rounds', '7'));
quietCpu();
await tf.setBackend('afterburner');
ab.setNumThreads(1);

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
async function best(fn, n) {
  let b = Infinity;
  for (let i = 0; i < n; ++i) {
    const t0 = process.hrtime.bigint();
    await fn();
    b = Math.min(b, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return b;
}

const rows = [];
for (const id of models) {
  const spec = modelById(id);
  const m32 = ab.compile(ab.optimize((await loadModel(spec)).model, {inplace: true}));
  const m16 = ab.compile(ab.optimize((await loadModel(spec)).model, {dtype: 'bfloat16', inplace: true}));
  const inp = inputBatch(spec, 1);
  const x = tf.tensor(inp.data, inp.shape, inp.dtype);
  const run = (m, env) => async () => {
    if (env) process.env.AFTERBURNER_CONV = env;
    try {
      const y = spec.async ? await m.executeAsync(x) : m.predict ? m.predict(x) : m.execute(x);
      for (const t of Array.isArray(y) ? y : [y]) {
        t.dataSync();
        t.dispose();
      }
    } finally {
      if (env) delete process.env.AFTERBURNER_CONV;
    }
  };
  const v = {f32: run(m32), bf16: run(m16), old: run(m16, 'implicit')};
  for (const f of Object.values(v)) for (let i = 0; i < 3; ++i) await f();
  const t = {f32: [], bf16: [], old: []}, r = [], ro = [];
  for (let i = 0; i < rounds; ++i) {
    for (const k of Object.keys(v)) t[k].push(await best(v[k], 5));
    r.push(t.f32.at(-1) / t.bf16.at(-1));
    ro.push(t.f32.at(-1) / t.old.at(-1));
  }
  rows.push(`| ${id} | ${median(t.f32).toFixed(2)} | ${median(t.old).toFixed(2)} | ${median(ro).toFixed(2)} | ` +
      `${median(t.bf16).toFixed(2)} | ${median(r).toFixed(2)} (${Math.min(...r).toFixed(2)}..${Math.max(...r).toFixed(2)}) |`);
  x.dispose();
}
console.log(`afterburner ${ab.info().isa.current}, one thread, ${rounds} rounds (medians of best-of-5)`);
console.log('| model | f32 ms | bf16, implicit convs ms | f32/that | bf16, direct convs ms | f32/bf16 median (min..max) |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) console.log(row);

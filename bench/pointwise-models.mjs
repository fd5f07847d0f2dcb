// SPDX-License-Identifier: Apache-2.0
// Before/after of conv2d's pointwise path on real models, in one process: the same loaded model
// runs with AFTERBURNER_CONV unset (the pointwise path) and =nopointwise (the choice before it: the
// GEMM on x below in_c 128, else the direct path), the two interleaved round by round so both see
// the same machine load (conv2d reads the variable per call, native plans included). One thread.
//   node bench/pointwise-models.mjs [--models nsfw-mobilenetv2,blazeface,selfie,movenet-lightning]
//                                   [--variants eager,compile] [--rounds 9] [--calls 5] [--clock cpu|wall]
// compile = ab.compile(ab.optimize(model)) (bench/models.mjs's ab+opt+compile). Per round and mode:
// ms per call over --calls calls (cpu: the process's CPU time, so time descheduled on a shared
// machine does not count); reported: medians over the rounds and the median of the per-round
// ratios before / after (> 1: the pointwise path is faster).
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const {ab, tf, inputBatch, loadModel, modelById, predict} = await import('../test/lib/models.mjs');
await tf.setBackend('afterburner');
ab.setNumThreads(1);
const models = arg('--models', 'nsfw-mobilenetv2,blazeface,selfie,movenet-lightning').split(',');
const variants = arg('--variants', 'eager,compile').split(',');
const rounds = Number(arg('--rounds', '9')), calls = Number(arg('--calls', '5'));
const clock = arg('--clock', 'cpu');
const tick = clock === 'cpu' ? () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1e-3;
} : () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
void require;

const MODES = {after: null, before: 'nopointwise'};
function setMode(mode) {
  if (MODES[mode] == null) delete process.env.AFTERBURNER_CONV;
  else process.env.AFTERBURNER_CONV = MODES[mode];
}

const rows = [];
for (const id of models) {
  const m = modelById(id);
  const loaded = await loadModel(m);
  const inp = inputBatch(m, 1);
  const x = tf.tensor(inp.data, inp.shape, inp.dtype);
  for (const variant of variants) {
    const model = variant === 'compile' ? ab.compile(ab.optimize(loaded.model)) : loaded.model;
    const l = {...loaded, model};
    const run = async (n) => {
      for (let j = 0; j < n; ++j) {
        const ys = await predict(m, l, x);
        ys.forEach((y) => y.dataSync());
        tf.dispose(ys);
      }
    };
    for (const mode of Object.keys(MODES)) {
      setMode(mode);
      await run(3);  // warm-up: weights packed, plans captured
    }
    const t = {after: [], before: []}, ratios = [];
    for (let r = 0; r < rounds; ++r) {
      const order = r % 2 ? ['before', 'after'] : ['after', 'before'];
      const got = {};
      for (const mode of order) {
        setMode(mode);
        const t0 = tick();
        await run(calls);
        got[mode] = (tick() - t0) / calls;
        t[mode].push(got[mode]);
      }
      ratios.push(got.before / got.after);
    }
    delete process.env.AFTERBURNER_CONV;
    rows.push({model: id, variant, 'before ms': median(t.before).toFixed(2), 'after ms': median(t.after).toFixed(2),
               'before/after': median(ratios).toFixed(3),
               'ratio range': `${Math.min(...ratios).toFixed(2)}..${Math.max(...ratios).toFixed(2)}`});
    console.error(JSON.stringify(rows.at(-1)));
    if (model !== loaded.model) model.dispose?.();
  }
  x.dispose();
  loaded.model.dispose();
}
console.log(`${ab.isa.current()}, one thread, ${clock} clock, ${rounds} rounds x ${calls} calls per mode; load average ${
    require('node:os').loadavg().map((v) => v.toFixed(2)).join(' ')}`);
console.table(rows);

#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// What some native kernels are worth inside real models, measured in one process on one build (so
// a loaded machine hurts both sides alike): each model runs eagerly on afterburner in alternating
// blocks, once with the listed kernels as registered and once with tfjs-cpu's kernels swapped in
// for them. Median and best ms per inference (outputs read back), one thread.
//
//   node bench/kernel-ab.mjs [--models centernet,handlandmark-full] [--kernels TopK,Equal,AddN]
//                            [--blocks 5] [--per 5]
import {ab, inputBatch, loadModel, MODELS, predict, tf} from '../test/lib/models.mjs';

const opt = {models: ['centernet', 'handlandmark-full', 'meet', 'selfie', 'movenet-lightning'],
  kernels: ['TopK', 'Equal', 'NotEqual', 'Less', 'LessEqual', 'Greater', 'GreaterEqual', 'AddN', 'GatherNd'], blocks: 5, per: 5};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; ++i) {
  const a = argv[i], next = () => argv[++i];
  if (a === '--models') opt.models = next().split(',');
  else if (a === '--kernels') opt.kernels = next().split(',');
  else if (a === '--blocks') opt.blocks = Number(next());
  else if (a === '--per') opt.per = Number(next());
  else throw new Error(`unknown option ${a} (see the header of bench/kernel-ab.mjs)`);
}

await tf.setBackend('afterburner');
ab.setNumThreads(1);
const regs = opt.kernels.map((n) => {
  const r = tf.getKernel(n, 'afterburner');
  if (!r) throw new Error(`no kernel ${n} on afterburner`);
  return r;
});
const ours = regs.map((r) => r.kernelFunc), cpu = opt.kernels.map((n) => tf.getKernel(n, 'cpu').kernelFunc);
const use = (v) => regs.forEach((r, i) => { r.kernelFunc = v === 'ours' ? ours[i] : cpu[i]; });

console.log(`kernel A/B: ${opt.kernels.join(', ')}; ${opt.blocks} blocks x ${opt.per} runs per side, one thread, ` +
    `${new Date().toISOString()}, load ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
try {
  for (const id of opt.models) {
    const m = MODELS.find((x) => x.id === id);
    if (!m) throw new Error(`unknown model ${id}`);
    const loaded = await loadModel(m);
    const inp = inputBatch(m, 1);
    const x = tf.tensor(inp.data, inp.shape, inp.dtype);
    const res = {cpu: [], ours: []};
    for (let b = 0; b < opt.blocks; ++b) {
      for (const v of ['cpu', 'ours']) {
        use(v);
        tf.dispose(await predict(m, loaded, x));  // warm-up of this side
        for (let i = 0; i < opt.per; ++i) {
          const t0 = performance.now();
          const ys = await predict(m, loaded, x);
          for (const y of ys) y.dataSync();
          res[v].push(performance.now() - t0);
          tf.dispose(ys);
        }
      }
    }
    const med = (a) => [...a].sort((p, q) => p - q)[a.length >> 1], best = (a) => Math.min(...a);
    console.log(`${id.padEnd(20)} cpu kernels ${med(res.cpu).toFixed(2)} ms (best ${best(res.cpu).toFixed(2)}), ` +
        `afterburner's ${med(res.ours).toFixed(2)} ms (best ${best(res.ours).toFixed(2)}): ${(med(res.cpu) / med(res.ours)).toFixed(2)}x`);
    x.dispose();
    loaded.model.dispose();
  }
} finally {
  use('ours');
}

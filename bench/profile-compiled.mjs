#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Where a compiled model's time goes: per model of the suite, ab.compile(model) run a few times,
// then compiled.startProfile() / stopProfile() over --runs runs (native calls timed in the addon
// around each replayed call). Prints the top nodes (ms per run, share, GFLOP/s of convolutions
// and matmuls, output shape) and the ops by total; --slow lists only nodes over 2% of their model
// below --gflops (what to speed up next).
//
//   node bench/profile-compiled.mjs [--models a,b] [--runs 10] [--top 10] [--threads 1] [--slow] [--gflops 60]
import {ab, inputBatch, loadModel, MODELS, tf} from '../test/lib/models.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const only = arg('--models', null)?.split(',');
const runs = Number(arg('--runs', '10')), top = Number(arg('--top', '10')), threads = Number(arg('--threads', '1'));
const slowOnly = process.argv.includes('--slow'), gflopsBelow = Number(arg('--gflops', '60'));

await tf.setBackend('afterburner');
ab.setNumThreads(threads);
console.log(`profile of compiled models: ISA ${ab.isa.current()}, ${threads} thread(s), ${runs} runs after 3 warm-up runs`);
for (const spec of MODELS) {
  if (only != null && !only.includes(spec.id)) continue;
  const loaded = await loadModel(spec);
  const inp = inputBatch(spec, 1);
  const x = tf.tensor(inp.data, inp.shape, inp.dtype);
  const c = ab.compile(loaded.model);
  const run = async () => {
    const ys = spec.async ? await c.executeAsync(x) : c.execute ? c.execute(x) : c.predict(x);
    const list = Array.isArray(ys) ? ys : [ys];
    for (const y of list) y.dataSync();
    tf.dispose(list);
  };
  try {
    for (let i = 0; i < 3; ++i) await run();
    c.startProfile();
    for (let i = 0; i < runs; ++i) await run();
    const r = c.stopProfile();
    if (r == null) {
      console.log(`\n== ${spec.id}: not compiled (${c.summary?.().shapes?.status ?? 'runs uncompiled'})`);
      continue;
    }
    const conv = r.nodes.filter((n) => n.gflops != null).reduce((s, n) => s + n.share, 0);
    console.log(`\n== ${spec.id}: ${r.ms.toFixed(3)} ms a run in ${r.nodes.length} nodes (${r.executor}); convolutions and matmuls ${(100 * conv).toFixed(0)}%`);
    if (!slowOnly) {
      console.log(r.table(top));
      continue;
    }
    const g = c.graph();
    const slow = r.nodes.filter((n) => n.share > 0.02 && (n.gflops == null || n.gflops < gflopsBelow)).sort((a, b) => b.ms - a.ms).slice(0, top);
    for (const n of slow) {
      const node = g.nodes[n.index];
      const ins = node.inputs.map((v) => `[${g.value(v).shape}]`).join(' ');
      const gf = n.gflops != null ? `${n.gflops.toFixed(1)} GFLOP/s` : '';
      console.log(`  ${(100 * n.share).toFixed(1).padStart(5)}% ${n.ms.toFixed(3)} ms ${gf.padStart(14)}  #${n.index} ${n.op} ${ins} -> [${n.shape}]`);
    }
  } catch (e) {
    console.log(`\n== ${spec.id}: ${e.message}`);
  } finally {
    c.dispose?.();
    x.dispose();
  }
}

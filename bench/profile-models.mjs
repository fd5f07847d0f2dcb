#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Where the time goes in real models on afterburner: per model, time per tfjs kernel (self time,
// from a wrapper around every registered kernel of the backend: test/lib/models.mjs traceKernels)
// and whether each call ran native code or the cpu fallback (a kernel listed in
// ab.info().nativeKernels can still fall back: int32 inputs, NCHW, ...); then the suite: kernels
// by total time over all models, and the cpu-fallback kernels by time (what to write next).
//
//   node bench/profile-models.mjs [--models a,b] [--batch 1] [--threads 1] [--isa avx512]
//                                 [--reps 3] [--top 8] [--json out.json] [--check]
//
// --check also runs every kernel call through the cpu kernel and reports outputs that differ
// (which kernel, which shapes): for locating a wrong kernel inside a model. Slow.
// Times are per inference (batch --batch), the mean of --reps traced runs after one warm-up run.
import fs from 'node:fs';

import {ab, inputBatch, loadModel, MODELS, runOn, shadowKernels, summariseCalls, tf, traceKernels} from '../test/lib/models.mjs';

function parseArgs(argv) {
  const o = {models: null, batch: 1, threads: 1, isa: null, reps: 3, top: 8, json: null, check: false};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i], next = () => argv[++i];
    if (a === '--models') o.models = next().split(',');
    else if (a === '--batch') o.batch = Number(next());
    else if (a === '--threads') o.threads = Number(next());
    else if (a === '--isa') o.isa = next();
    else if (a === '--reps') o.reps = Number(next());
    else if (a === '--top') o.top = Number(next());
    else if (a === '--json') o.json = next();
    else if (a === '--check') o.check = true;
    else throw new Error(`unknown option ${a} (see the header of bench/profile-models.mjs)`);
  }
  return o;
}

const opt = parseArgs(process.argv.slice(2));
await tf.setBackend('afterburner');
if (opt.isa) ab.isa.set(opt.isa);
ab.setNumThreads(opt.threads);
const native = new Set(ab.info().nativeKernels);
const models = MODELS.filter((m) => !opt.models || opt.models.includes(m.id));
console.log(`profile: afterburner ${ab.info().version}, ISA ${ab.isa.current()}, ${opt.threads} thread(s), batch ${opt.batch}, ` +
    `mean of ${opt.reps} traced runs after a warm-up; ${new Date().toISOString()}`);

const pad = (s, n) => String(s).padEnd(n), lpad = (s, n) => String(s).padStart(n);
const results = [];
for (const m of models) {
  const loaded = await loadModel(m);
  // Models whose placeholder has batch 1 run one image per call (what a user would do).
  const b = m.input.batch === 'dynamic' ? opt.batch : 1;
  const x = inputBatch(m, b);
  await runOn('afterburner', m, loaded, x);  // warm-up (weights move to this backend, JIT)
  const calls = [];
  let wall = 0;
  for (let r = 0; r < opt.reps; ++r) {
    const tr = traceKernels('afterburner');
    const t0 = performance.now();
    try {
      await runOn('afterburner', m, loaded, x);
    } finally {
      tr.stop();
    }
    wall += performance.now() - t0;
    calls.push(...tr.calls);
  }
  const per = summariseCalls(calls).map((k) => ({...k, ms: k.ms / opt.reps, nativeMs: k.nativeMs / opt.reps,
    fallbackMs: k.fallbackMs / opt.reps, count: k.count / opt.reps, nativeCount: k.nativeCount / opt.reps,
    fallbackCount: k.fallbackCount / opt.reps,
    fallbackShapes: [...k.fallbackShapes].sort((p, q) => q[1] - p[1]).slice(0, 2).map(([s]) => s)}));
  const kernelMs = per.reduce((s, k) => s + k.ms, 0);
  let mismatches = null;
  if (opt.check) {
    const sh = shadowKernels('afterburner', {tol: 1e-4});
    try {
      await runOn('afterburner', m, loaded, x);
    } finally {
      sh.stop();
    }
    mismatches = sh.mismatches;
  }
  loaded.model.dispose();
  results.push({id: m.id, batch: b, wallMs: wall / opt.reps, kernelMs, kernels: per, mismatches});

  console.log(`\n== ${m.id} (batch ${b}): ${(wall / opt.reps).toFixed(1)} ms a run, ${kernelMs.toFixed(1)} ms in kernels; ` +
      `native ${per.reduce((s, k) => s + k.nativeMs, 0).toFixed(1)} ms, cpu fallback ${per.reduce((s, k) => s + k.fallbackMs, 0).toFixed(1)} ms`);
  for (const k of per.slice(0, opt.top)) {
    const how = k.fallbackCount === 0 ? 'native' : k.nativeCount === 0 ? (native.has(k.name) ? 'FALLBACK (has native)' : 'cpu') : 'mixed';
    console.log(`  ${pad(k.name, 26)} ${lpad(k.ms.toFixed(2), 8)} ms ${lpad((100 * k.ms / kernelMs).toFixed(1), 5)}%  ` +
        `x${lpad(k.count, 3)}  ${pad(how, 8)} ${k.fallbackCount ? k.fallbackShapes.join(' ') : ''}`);
  }
  if (mismatches) {
    console.log(mismatches.length ? `  check: ${mismatches.length} kernel outputs differ from the cpu kernel:` : '  check: every kernel matches the cpu kernel');
    for (const d of mismatches.slice(0, 5)) console.log(`    ${JSON.stringify(d)}`);
  }
}

// The suite: per kernel name, time summed over the models (one inference each) and the mean share
// of a model's kernel time (each model weighted equally).
const agg = new Map();
for (const r of results) {
  for (const k of r.kernels) {
    let a = agg.get(k.name);
    if (!a) agg.set(k.name, a = {name: k.name, ms: 0, nativeMs: 0, fallbackMs: 0, share: 0, models: []});
    a.ms += k.ms;
    a.nativeMs += k.nativeMs;
    a.fallbackMs += k.fallbackMs;
    a.share += k.ms / r.kernelMs / results.length;
    if (k.ms / r.kernelMs >= 0.02) a.models.push(`${r.id} ${Math.round(100 * k.ms / r.kernelMs)}%`);
  }
}
const all = [...agg.values()].sort((p, q) => q.ms - p.ms);
const total = all.reduce((s, k) => s + k.ms, 0);
const fbTotal = all.reduce((s, k) => s + k.fallbackMs, 0);
console.log(`\n== suite: ${results.length} models, ${total.toFixed(1)} ms in kernels (one inference each), ` +
    `${fbTotal.toFixed(1)} ms (${(100 * fbTotal / total).toFixed(1)}%) on the cpu fallback`);
console.log('kernels by total time:');
console.log(`  ${pad('kernel', 26)} ${lpad('ms', 9)} ${lpad('%', 6)} ${lpad('mean %', 7)}  ${pad('how', 8)} models (>= 2% of their time)`);
for (const k of all.slice(0, 20)) {
  const how = k.fallbackMs === 0 ? 'native' : k.nativeMs === 0 ? 'cpu' : 'mixed';
  console.log(`  ${pad(k.name, 26)} ${lpad(k.ms.toFixed(1), 9)} ${lpad((100 * k.ms / total).toFixed(1), 6)} ` +
      `${lpad((100 * k.share).toFixed(1), 7)}  ${pad(how, 8)} ${k.models.join(', ')}`);
}
console.log('cpu-fallback kernels by time (no native kernel, or the native one declined):');
for (const k of all.filter((x) => x.fallbackMs > 0).sort((p, q) => q.fallbackMs - p.fallbackMs).slice(0, 15)) {
  console.log(`  ${pad(k.name, 26)} ${lpad(k.fallbackMs.toFixed(1), 9)} ms ${lpad((100 * k.fallbackMs / total).toFixed(1), 6)}% of all kernel time  ` +
      `${native.has(k.name) ? '(has a native kernel: declined here) ' : ''}${k.models.join(', ')}`);
}
if (opt.json) {
  fs.writeFileSync(opt.json, JSON.stringify({isa: ab.isa.current(), threads: opt.threads, batch: opt.batch, results, suite: all}, null, 1));
  console.log(`wrote ${opt.json}`);
}

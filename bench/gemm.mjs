#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The quick demo (`npm run demo`): the same tf.matMul on tfjs-backend-cpu, tfjs-backend-wasm and
// afterburner, side by side, with the speed-up. About a minute with --quick (the default for
// `npm run demo`); without --quick it adds 2048³ for wasm and afterburner and measures longer.
//
//   node bench/gemm.mjs [--quick] [--sizes 128,256,512,1024]
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {findCase} from './lib/cases.mjs';
import {machineInfo, PEAKS, relError} from './lib/engines.mjs';
import {runJobs} from './lib/jobs.mjs';
import {fmtRate, fmtRatio, markdownTable} from './lib/table.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const si = argv.indexOf('--sizes');
const sizes = si >= 0 ? argv[si + 1].split(',').map(Number) : quick ? [128, 256, 512, 1024] : [128, 256, 512, 1024, 2048];
const meta = machineInfo(null);
const threads = [...new Set([1, meta.physicalCores])];

console.log(`afterburner demo: C = A x B for n x n float32 matrices (tf.matMul), on three TensorFlow.js backends
  tfjs-cpu     @tensorflow/tfjs-backend-cpu: plain JavaScript, 1 thread (the default without afterburner)
  tfjs-wasm    @tensorflow/tfjs-backend-wasm: WebAssembly with SIMD (XNNPACK), 1 thread under Node
  afterburner  this package: native ${meta.isa} kernels, at ${threads.map((t) => `${t} thread${t > 1 ? 's' : ''}`).join(' and ')}
machine: ${meta.cpu}, ${meta.logicalCpus} CPUs, node ${meta.node}, afterburner ${meta.afterburner} @ ${meta.commit}
load average: ${meta.loadavg.join(' ')} (a busy or shared machine gives lower, noisier numbers)
`);

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ab-demo-'));
const rows = [];
let allAgree = true;
const problems = [];
for (const n of sizes) {
  const c = findCase(`gemm-${n}`);
  process.stderr.write(`n = ${n} ...`);
  const jobs = [...threads.map((t) => `afterburner@${t}`), 'wasm'];
  if (n <= 1024) jobs.push('cpu');  // tfjs-cpu at 2048³ takes ~35 s a call
  const res = {};
  await runJobs(c, jobs, {
    opt: {quick: true, jobTimeout: 20, timing: n >= 1024 ? {cpu: {minReps: 1, maxReps: quick ? 1 : 2}} : {}},
    minTime: quick ? 0.15 : 0.4, outdir,
  }, (job, r) => {
    res[job] = r;
    process.stderr.write(` ${job}`);
  });
  process.stderr.write('\n');
  const ref = res.cpu?.outputFile ?? res.wasm?.outputFile;
  for (const [job, r] of Object.entries(res)) {
    if (r.error) problems.push(`n=${n} ${job}: ${r.error}`);
    if (ref && r.outputFile && r.outputFile !== ref) {
      const load = (f) => { const b = fs.readFileSync(f); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };
      const e = relError(load(r.outputFile), load(ref));
      if (!(e <= 1e-4)) { allAgree = false; problems.push(`n=${n} ${job}: result differs (scaled error ${e})`); }
    }
  }
  for (const r of Object.values(res)) if (r.outputFile) fs.rmSync(r.outputFile, {force: true});
  const g = (job) => (res[job]?.best != null ? c.work / res[job].best / 1e9 : null);
  const cell = (job) => (res[job] == null ? 'skipped' : res[job].error ? 'error' : fmtRate(g(job), 'GFLOP/s'));
  const sp = (job, base) => (g(job) && g(base) ? fmtRatio(g(job) / g(base)) : '—');
  const top = `afterburner@${threads[threads.length - 1]}`;
  rows.push([`${n}³`, cell('cpu'), cell('wasm'), ...threads.map((t) => cell(`afterburner@${t}`)),
    sp('afterburner@1', 'cpu'), sp('afterburner@1', 'wasm'), ...(threads.length > 1 ? [sp(top, 'wasm')] : [])]);
}
fs.rmSync(outdir, {recursive: true, force: true});

const T = threads[threads.length - 1];
console.log(markdownTable(
    ['n', 'tfjs-cpu', 'tfjs-wasm', ...threads.map((t) => `afterburner ${t}T`), 'speed-up vs cpu (1T)', 'vs wasm (1T)',
      ...(threads.length > 1 ? [`vs wasm (${T}T)`] : [])],
    rows, ['l', ...rows[0].slice(1).map(() => 'r')]));
console.log(`
Numbers are GFLOP/s (2·n³ / time of the best run; higher is better). 1T/${T}T = threads. tfjs-cpu is
skipped at 2048³ (about 35 s a call). f32 FMA peak: ${PEAKS.fma.perThread} GFLOP/s per core (${PEAKS.source}).
Results ${allAgree ? 'agree with' : 'DO NOT all agree with'} tfjs-cpu/wasm.${problems.length ? '\n' + problems.map((p) => `  ! ${p}`).join('\n') : ''}
To use afterburner: \`import 'afterburner'\` (or require) before your tfjs code. Full suite: npm run bench.`);

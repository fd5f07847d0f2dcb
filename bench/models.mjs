#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The models benchmark (issue 3, point 6): the model suite's real models (test/lib/models.mjs:
// human-models GraphModels, nsfwjs's LayersModels and GraphModel) on natural images, one thread,
// afterburner next to tfjs-backend-cpu and tfjs-backend-wasm in the same run:
//   - latency: one image per call (batch 1), ms per call;
//   - throughput: a batch of --batch images per call (default 8), images per second; models whose
//     graph fixes the batch at 1 have no such row (a batch there is just several batch-1 calls).
// Each call includes reading every output back (dataSync). Same design as bench/run.mjs: every
// job (engine x batch) runs in a child process (afterburner in one, the baselines in another; a
// crash or hang is reported in its cell and the run goes on), an unmeasured warm-up pass first,
// then bench/lib/timing.mjs's measure(): best and median per call. Afterburner's first output is
// checked against tfjs-cpu's (else wasm's): max |diff| / max(1e-3, max |ref|) over the outputs.
//
//   node bench/models.mjs [--quick] [--filter a,b] [--engines afterburner,cpu,wasm] [--batch 8]
//                         [--min-time S] [--full] [--json out.json] [--timeout S]
//   npm run bench -- --section models     (the same, from bench/run.mjs)
//
// tfjs-cpu is slow on these models (InceptionV3 ~16 s an image): its batch rows are skipped where
// one call would take over ~20 s (--full runs them), and slow calls are sampled once or twice.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

import {fmtRatio, markdownTable} from './lib/table.mjs';

const SELF = fileURLToPath(import.meta.url);

/** Seconds tfjs-cpu takes for one image of each model on this machine (quiet), for its limits. */
const CPU_SECONDS = {
  'blazeface': 1.9, 'centernet': 11, 'handtrack': 3.6, 'facemesh': 0.4, 'iris': 0.3, 'handlandmark-full': 1.1,
  'movenet-lightning': 1.2, 'blazepose-lite': 1.2, 'selfie': 0.5, 'meet': 0.4, 'emotion': 0.25, 'antispoof': 0.3,
  'age': 0.1, 'nsfw-mobilenetv2': 1.2, 'nsfw-mobilenetv2mid': 3.1, 'nsfw-inceptionv3': 16,
};

/**
 * afterburner variants measured at batch 1 next to eager: what each does to the loaded model.
 * ab+opt+compile is what a user after the fastest f32 runs; ab+bf16 the same with bf16 weights
 * (conv and dense computed in bf16 with f32 accumulation: it changes numerics, see 'check').
 */
const VARIANTS = {
  'ab+optimize': (ab, m) => ab.optimize(m),
  'ab+compile': (ab, m) => ab.compile(m),
  'ab+opt+compile': (ab, m) => ab.compile(ab.optimize(m)),
  'ab+bf16': (ab, m) => ab.compile(ab.optimize(m, {dtype: 'bfloat16'})),
};
const ENGINES = ['afterburner', ...Object.keys(VARIANTS), 'cpu', 'wasm'];

function parseArgs(argv) {
  const o = {quick: false, filter: null, engines: ENGINES, batch: 8, minTime: null, full: false,
    json: null, jobTimeout: null};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i], next = () => argv[++i];
    if (a === '--quick') o.quick = true;
    else if (a === '--filter') o.filter = next().toLowerCase().split(',').filter(Boolean);
    else if (a === '--engines') o.engines = next().split(',');
    else if (a === '--batch') o.batch = Number(next());
    else if (a === '--min-time') o.minTime = Number(next());
    else if (a === '--full') o.full = true;
    else if (a === '--json') o.json = next();
    else if (a === '--timeout') o.jobTimeout = Number(next());
    else throw new Error(`unknown option ${a} (see the header of bench/models.mjs)`);
  }
  return o;
}

/** The jobs of one model: [{engine, batch, limits}], skipped ones with a reason. */
function jobsFor(m, opt) {
  const jobs = [];
  const s = CPU_SECONDS[m.id] ?? 5;
  for (const engine of ENGINES) {
    if (!opt.engines.includes(engine)) continue;
    for (const batch of [1, opt.batch]) {
      const job = {engine, batch, key: `${engine}:${batch}`};
      if (batch > 1 && m.input.batch !== 'dynamic') continue;
      // ab.optimize() and ab.compile() (graph mode) variants: latency (batch 1) only.
      if (batch > 1 && engine.startsWith('ab+')) continue;
      if (engine === 'cpu') {
        if (batch > 1 && s * batch > 20 && !opt.full) job.skip = `tfjs-cpu: ~${Math.round(s * batch)} s a call (--full runs it)`;
        else if (s * batch > 1) Object.assign(job, {minReps: 1, maxReps: 2});
        else if (s * batch > 0.2) Object.assign(job, {maxReps: 5});
      }
      jobs.push(job);
    }
  }
  return jobs;
}

function jobLimit(job, opt) {
  if (opt.jobTimeout != null) return opt.jobTimeout;
  return job.engine === 'cpu' ? 400 : 120;
}

/** Runs `jobs` of model `id` in one child; calls onResult(job, result) per job; resolves to how many got one. */
function runChild(id, jobs, {opt, minTime, outdir}, onResult) {
  return new Promise((resolve) => {
    const args = {id, jobs, minTime, quick: opt.quick, outdir};
    const child = spawn(process.execPath, ['--no-warnings', SELF, '--child', JSON.stringify(args)], {stdio: ['ignore', 'pipe', 'pipe']});
    let count = 0, current = null, timer = null, killedFor = null, buf = '', errTail = '', started = 0;
    const arm = (job) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        killedFor = `timed out: no result after ${jobLimit(job, opt)} s`;
        child.kill('SIGKILL');
      }, jobLimit(job, opt) * 1e3);
    };
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('@@START ')) {
          current = jobs.find((j) => j.key === line.slice(8));
          started = performance.now();
          arm(current);
        } else if (line.startsWith('@@RESULT ')) {
          const r = JSON.parse(line.slice(9));
          r.wall = (performance.now() - started) / 1e3;
          onResult(jobs[count], r);
          ++count;
          clearTimeout(timer);
        }
      }
    });
    child.stderr.on('data', (d) => {
      errTail = (errTail + d).slice(-2000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (count < jobs.length) {
        const why = killedFor ?? `the process died (${signal ? `signal ${signal}` : `exit code ${code}`})` +
            (errTail.trim() ? `: ${errTail.trim().split('\n').slice(-2).join(' / ')}` : '');
        onResult(jobs[count], {error: why});
        ++count;
      }
      resolve(count);
    });
  });
}

function readOutputs(r) {
  if (!r?.outputFile) return null;
  const b = fs.readFileSync(r.outputFile);
  const all = new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  const outs = [];
  let o = 0;
  for (const n of r.outputLengths) {
    outs.push(all.subarray(o, o + n));
    o += n;
  }
  return outs;
}

/** Largest over the outputs of max |a - b| / max(1e-3, max |b|) (the model suite's scale rule). */
function scaledError(a, b) {
  if (a == null || b == null) return null;
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let k = 0; k < a.length; ++k) {
    if (a[k].length !== b[k].length) return Infinity;
    let d = 0, s = 1e-3;
    for (let i = 0; i < a[k].length; ++i) {
      if (Number.isNaN(a[k][i]) !== Number.isNaN(b[k][i])) return NaN;
      d = Math.max(d, Math.abs(a[k][i] - b[k][i]) || 0);
      s = Math.max(s, Math.abs(b[k][i]) || 0);
    }
    worst = Math.max(worst, d / s);
  }
  return worst;
}

const median = (xs) => {
  const s = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : Math.sqrt(s[m - 1] * s[m]);  // geometric middle of an even count
};

/** The models section: runs, prints the tables, returns {meta, results, medians}. */
export async function runModels(options = {}) {
  const opt = {...parseArgs([]), ...options};
  const {MODELS} = await import('../test/lib/models.mjs');
  const {machineInfo} = await import('./lib/engines.mjs');
  const minTime = opt.minTime ?? (opt.quick ? 0.1 : 0.3);
  let models = MODELS;
  if (opt.filter) models = models.filter((m) => opt.filter.some((f) => m.id.includes(f)));
  const meta = machineInfo(null);
  console.log(`\nmodels benchmark  ${meta.date}`);
  console.log(`machine: ${meta.cpu}, ${meta.logicalCpus} logical CPUs; afterburner ${meta.afterburner} @ ${meta.commit}, ISA ${meta.isa}; ` +
      `node ${meta.node}, tfjs ${meta.tfjs}; every engine on one thread; load average ${meta.loadavg.join(' ')}`);
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ab-models-'));
  const results = [];
  for (const m of models) {
    process.stderr.write(`${m.id} ...`);
    const t0 = performance.now();
    const jobs = jobsFor(m, opt);
    const res = {id: m.id, input: `${m.input.h}x${m.input.w}x${m.input.c}`, dynamic: m.input.batch === 'dynamic', jobs: {}};
    for (const j of jobs) if (j.skip) res.jobs[j.key] = {skipped: j.skip};
    const ours = (j) => j.engine === 'afterburner' || j.engine.startsWith('ab+');
    for (const group of [jobs.filter((j) => !j.skip && ours(j)), jobs.filter((j) => !j.skip && !ours(j))]) {
      let todo = group;
      while (todo.length) {
        const done = await runChild(m.id, todo, {opt, minTime, outdir}, (job, r) => {
          res.jobs[job.key] = r;
          process.stderr.write(` ${job.key} ${r.error ? 'ERR ' : ''}${(r.wall ?? 0).toFixed(1)}s`);
        });
        todo = todo.slice(done);
      }
    }
    for (const b of [1, opt.batch]) {
      const a = res.jobs[`afterburner:${b}`];
      const refKey = res.jobs[`cpu:${b}`]?.outputFile ? `cpu:${b}` : res.jobs[`wasm:${b}`]?.outputFile ? `wasm:${b}` : null;
      if (a?.outputFile && refKey) {
        a.check = scaledError(readOutputs(a), readOutputs(res.jobs[refKey]));
        a.checkRef = refKey.split(':')[0];
      }
      const w = res.jobs[`wasm:${b}`], c = res.jobs[`cpu:${b}`];
      if (w?.outputFile && c?.outputFile) w.check = scaledError(readOutputs(w), readOutputs(c));
    }
    for (const v of Object.keys(VARIANTS)) {
      const j = res.jobs[`${v}:1`], ref = res.jobs['cpu:1']?.outputFile ? res.jobs['cpu:1'] : res.jobs['wasm:1'];
      if (j?.outputFile && ref?.outputFile) j.check = scaledError(readOutputs(j), readOutputs(ref));
    }
    for (const r of Object.values(res.jobs)) {
      if (r.outputFile) fs.rmSync(r.outputFile, {force: true});
      delete r.outputFile;
      delete r.outputLengths;
    }
    results.push(res);
    process.stderr.write(`  (${((performance.now() - t0) / 1e3).toFixed(1)} s)\n`);
  }
  fs.rmSync(outdir, {recursive: true, force: true});

  const B = opt.batch;
  const ms = (r) => (r?.best != null ? r.best * 1e3 : null);
  const cell = (r, f) => (r == null ? '—' : r.error ? 'err' : r.skipped ? 'skip' : f(r));
  const fmtMs = (v) => (v == null ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const ips = (r, b) => (r?.best != null ? b / r.best : null);
  const fmtIps = (v) => (v == null ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const ratio = (x, a) => (x?.best != null && a?.best != null ? x.best / a.best : null);
  const rows = [], ratios = {cpu1: [], wasm1: [], cpuB: [], wasmB: []};
  const variants = Object.keys(VARIANTS).filter((v) => opt.engines.includes(v));
  const vRatios = Object.fromEntries(variants.map((v) => [v, {eager: [], wasm: []}]));
  const vrows = [];
  for (const r of results) {
    const a1 = r.jobs['afterburner:1'], c1 = r.jobs['cpu:1'], w1 = r.jobs['wasm:1'];
    const aB = r.jobs[`afterburner:${B}`], cB = r.jobs[`cpu:${B}`], wB = r.jobs[`wasm:${B}`];
    ratios.cpu1.push(ratio(c1, a1));
    ratios.wasm1.push(ratio(w1, a1));
    if (r.dynamic) {
      ratios.cpuB.push(ratio(cB, aB));
      ratios.wasmB.push(ratio(wB, aB));
    }
    const vrow = [r.id, cell(a1, (x) => fmtMs(ms(x)))], vchk = [];
    for (const v of variants) {
      const j = r.jobs[`${v}:1`];
      vRatios[v].eager.push(ratio(a1, j));
      vRatios[v].wasm.push(ratio(w1, j));
      vrow.push(cell(j, (x) => fmtMs(ms(x))), fmtRatio(ratio(a1, j)), fmtRatio(ratio(w1, j)));
      vchk.push(j?.check == null ? '—' : !(j.check <= 2e-2) ? `BAD ${j.check.toExponential(1)}` : j.check.toExponential(0));
    }
    vrows.push([...vrow, vchk.join(' / ')]);
    const chk = [a1, aB].filter((x) => x?.check != null).map((x) => x.check);
    const worst = chk.length ? Math.max(...chk) : null;
    rows.push([
      r.id, r.input,
      cell(a1, (x) => fmtMs(ms(x))), cell(c1, (x) => fmtMs(ms(x))), fmtRatio(ratio(c1, a1)), cell(w1, (x) => fmtMs(ms(x))), fmtRatio(ratio(w1, a1)),
      r.dynamic ? cell(aB, (x) => fmtIps(ips(x, B))) : 'fixed 1', r.dynamic ? cell(cB, (x) => fmtIps(ips(x, B))) : '', r.dynamic ? fmtRatio(ratio(cB, aB)) : '',
      r.dynamic ? cell(wB, (x) => fmtIps(ips(x, B))) : '', r.dynamic ? fmtRatio(ratio(wB, aB)) : '',
      worst == null ? '—' : !(worst <= 2e-2) ? `BAD ${worst.toExponential(1)}` : worst.toExponential(0),
    ]);
  }
  const medians = {cpu1: median(ratios.cpu1), wasm1: median(ratios.wasm1), cpuB: median(ratios.cpuB), wasmB: median(ratios.wasmB)};
  for (const v of variants) medians[v] = {eager: median(vRatios[v].eager), wasm: median(vRatios[v].wasm)};
  rows.push(['median', '', '', '', fmtRatio(medians.cpu1), '', fmtRatio(medians.wasm1), '', '', fmtRatio(medians.cpuB), '', fmtRatio(medians.wasmB), '']);
  console.log(markdownTable(
      ['model', 'input', 'ab ms', 'cpu ms', '×cpu', 'wasm ms', '×wasm', `ab img/s b${B}`, 'cpu img/s', '×cpu', 'wasm img/s', '×wasm', 'check'],
      rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l']));
  console.log(`ms: best time of one batch-1 call (one image), outputs read back; img/s: ${B} images per call / best time. ` +
      `×X = X's best time / afterburner's (> 1: afterburner faster). 'fixed 1': the graph's batch is 1.`);
  console.log(`median over the models: vs tfjs-wasm ${fmtRatio(medians.wasm1)} latency, ${fmtRatio(medians.wasmB)} throughput; ` +
      `vs tfjs-cpu ${fmtRatio(medians.cpu1)} latency, ${fmtRatio(medians.cpuB)} throughput.`);
  console.log('check: afterburner vs tfjs-cpu (else wasm), worst over outputs of max |diff| / max(1e-3, max |ref|); BAD above 2e-2.');
  if (variants.length > 0) {
    vrows.push(['median', '', ...variants.flatMap((v) => ['', fmtRatio(medians[v].eager), fmtRatio(medians[v].wasm)]), '']);
    console.log('\nab.optimize(), ab.compile() (graph mode) and both, batch 1, one thread:');
    console.log(markdownTable(
        ['model', 'eager ms', ...variants.flatMap((v) => [`${v.slice(3)} ms`, '×eager', '×wasm']), `check ${variants.map((v) => v.slice(3)).join(' / ')}`],
        vrows, ['l', 'r', ...variants.flatMap(() => ['r', 'r', 'r']), 'l']));
    console.log('optimize: ab.optimize(model) (O1); compile: ab.compile(model) (traced once, O1 passes, arena); opt+compile: ' +
                'ab.compile(ab.optimize(model)); bf16: ab.compile(ab.optimize(model, {dtype: \'bfloat16\'})) (bf16 weights, f32 ' +
                'accumulation). ×eager = eager afterburner time / this time; check vs tfjs-cpu (else wasm) as above.');
  }
  for (const r of results) {
    for (const [k, j] of Object.entries(r.jobs)) {
      if (j.error) console.log(`${r.id} ${k}: error: ${j.error}`);
      else if (j.skipped && k.startsWith('cpu') && k !== 'cpu:1') continue;
      else if (j.skipped) console.log(`${r.id} ${k}: skipped: ${j.skipped}`);
      if (k.startsWith('wasm') && j.check != null && !(j.check <= 2e-2)) console.log(`${r.id} ${k}: tfjs-wasm disagrees with tfjs-cpu: ${j.check}`);
    }
  }
  console.log(`tfjs-cpu batch rows over ~20 s a call are skipped (--full runs them). load average at end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const out = {meta: {...meta, minTime, batch: B, threads: 1}, results, medians};
  if (opt.json) {
    fs.writeFileSync(opt.json, JSON.stringify(out, null, 1));
    console.log(`wrote ${opt.json}`);
  }
  return out;
}

/** Child: measures the given jobs of one model, printing @@START key / @@RESULT {json}. */
async function child(args) {
  const {ab, setupEngines, tf} = await import('./lib/engines.mjs');
  const {measure} = await import('./lib/timing.mjs');
  const {inputBatch, loadModel, modelById, predict} = await import('../test/lib/models.mjs');
  const m = modelById(args.id);
  const {status} = await setupEngines({wantOrt: false});
  for (const job of args.jobs) {
    console.log(`@@START ${job.key}`);
    let r, loaded = null, x = null;
    try {
      const backend = job.engine.startsWith('ab+') ? 'afterburner' : job.engine;
      if (status[backend]) throw new Error(status[backend]);
      if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
      if (backend === 'afterburner') ab.setNumThreads(1);
      loaded = await loadModel(m);
      if (VARIANTS[job.engine]) loaded = {...loaded, model: VARIANTS[job.engine](ab, loaded.model)};
      const inp = inputBatch(m, job.batch);
      x = tf.tensor(inp.data, inp.shape, inp.dtype);
      let first = null;
      const run = async (n) => {
        for (let j = 0; j < n; ++j) {
          const ys = await predict(m, loaded, x);
          const data = ys.map((y) => y.dataSync());
          if (first == null) first = data.map((d) => Float32Array.from(d));
          tf.dispose(ys);
        }
      };
      const t = {minTime: args.minTime, minReps: job.minReps ?? 3, maxReps: job.maxReps ?? 1000};
      if (!(t.maxReps <= 3)) await measure(run, {...t, minTime: Math.min(0.15, t.minTime), minReps: 1});  // unmeasured pass
      r = await measure(run, t);
      const f = path.join(args.outdir, `${args.id}.${job.key.replace(':', '-')}.f32`);
      const total = first.reduce((s, d) => s + d.length, 0), all = new Float32Array(total);
      let o = 0;
      for (const d of first) {
        all.set(d, o);
        o += d.length;
      }
      fs.writeFileSync(f, Buffer.from(all.buffer));
      r.outputFile = f;
      r.outputLengths = first.map((d) => d.length);
    } catch (e) {
      r = {error: String(e?.message ?? e).split('\n')[0]};
    } finally {
      x?.dispose();
      loaded?.model.dispose();
    }
    console.log(`@@RESULT ${JSON.stringify(r)}`);
  }
}

const isMain = process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url;
if (isMain) {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    await child(JSON.parse(argv[1]));
    process.exit(0);
  }
  runModels(parseArgs(argv)).catch((e) => {
    console.error(e?.stack ?? e);
    process.exit(1);
  });
}

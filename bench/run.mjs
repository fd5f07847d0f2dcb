#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The benchmark suite (`npm run bench`): every row on afterburner at 1 and 2 threads, next to
// tfjs-backend-cpu and tfjs-backend-wasm (one thread each: wasm has no threads under Node) and
// onnxruntime-node at the same thread count when it can be loaded, all measured in this run.
//
//   node bench/run.mjs [--quick] [--filter a,b] [--threads 1,2] [--engines afterburner,cpu,wasm,ort]
//                      [--json out.json] [--full] [--min-time 0.3]
//
// Ratios are speed-ups of afterburner over the engine (its time / afterburner's), from the best
// time of each; medians are printed too. Each case runs in a child process (bench/lib/child.mjs):
// an error, a crash or a hang (--timeout) is reported in its own cell and the run goes on.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {allCases} from './lib/cases.mjs';
import {machineInfo, peakFor, PEAKS, relError, REPO, setupEngines} from './lib/engines.mjs';
import {runJobs} from './lib/jobs.mjs';
import {anchorsNow, fmaPeakNow} from './lib/probe.mjs';
import {checkTargets} from './lib/targets.mjs';
import {fmtPct, fmtRate, fmtRatio, markdownTable} from './lib/table.mjs';

const HELP = `usage: node bench/run.mjs [options]
  --quick             short run (0.1 s per measurement, tfjs-cpu skipped at 1024³ and up)
  --filter a,b        only rows whose id or label contains one of these (case-insensitive)
  --threads 1,2       afterburner / onnxruntime thread counts (default 1,2)
  --engines list      any of afterburner,cpu,wasm,ort (default: all)
  --json FILE         also write the results as JSON
  --full              include the very slow baselines (tfjs-cpu at 2048³: ~35 s a call)
  --min-time S        seconds of samples per measurement (default 0.3)
  --timeout S         a job (one engine on one row) with no result after S seconds counts as hung
                      (default: afterburner 30, tfjs-cpu 120, others 60)
  --retries N         a job that hung or crashed is tried again N times in a fresh process (default 1);
                      the table flags such a row
  --list              list the rows and exit
  --section S         ops (default: the rows above), models (bench/models.mjs: real models, latency
                      and throughput, one thread, vs tfjs-cpu and tfjs-wasm) or all
Set ORT_NODE_DIR to a folder whose node_modules holds onnxruntime-node to compare against it
without installing it into the project.`;

function parseArgs(argv) {
  const o = {quick: false, filter: null, threads: [1, 2], engines: ['afterburner', 'cpu', 'wasm', 'ort'], json: null,
    full: false, minTime: null, list: false, jobTimeout: null, retries: 1, section: 'ops'};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i], next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--filter') o.filter = next().toLowerCase().split(',').filter(Boolean);
    else if (a === '--threads') o.threads = next().split(',').map(Number);
    else if (a === '--engines') o.engines = next().split(',');
    else if (a === '--json') o.json = next();
    else if (a === '--full') o.full = true;
    else if (a === '--min-time') o.minTime = Number(next());
    else if (a === '--list') o.list = true;
    else if (a === '--timeout') o.jobTimeout = Number(next());
    else if (a === '--retries') o.retries = Number(next());
    else if (a === '--section') o.section = next();
    else if (a === '-h' || a === '--help') { console.log(HELP); process.exit(0); }
    else throw new Error(`unknown option ${a}\n${HELP}`);
  }
  if (o.threads.some((t) => !Number.isInteger(t) || t < 1)) throw new Error('--threads: positive integers');
  if (!['ops', 'models', 'all'].includes(o.section)) throw new Error('--section: ops, models or all');
  return o;
}

/** The addon's modification time (null when absent): others may rebuild it during a run. */
function addonStamp() {
  try {
    return fs.statSync(path.join(REPO, 'build', 'Release', 'afterburner.node')).mtimeMs;
  } catch {
    return null;
  }
}

const rateOf = (c, seconds) => (seconds == null ? null : c.unit === 'µs' ? seconds * 1e6 : c.work / seconds / 1e9);

/** The models section (bench/models.mjs), with the options that apply to it. */
async function modelsSection(opt) {
  const {runModels} = await import('./models.mjs');
  await runModels({quick: opt.quick, full: opt.full, minTime: opt.minTime, jobTimeout: opt.jobTimeout,
    filter: opt.section === 'models' ? opt.filter : null, engines: opt.engines.filter((e) => e !== 'ort'),
    json: opt.json && opt.section === 'models' ? opt.json : null});
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  if (opt.section === 'models') return modelsSection(opt);
  let cases = allCases();
  if (opt.filter) cases = cases.filter((c) => opt.filter.some((f) => c.id.includes(f) || c.label.toLowerCase().includes(f)));
  if (opt.list) {
    for (const c of allCases()) console.log(`${c.id.padEnd(20)} ${c.label}`);
    return;
  }
  const want = new Set(opt.engines);
  const {ort, status} = await setupEngines({wantOrt: want.has('ort')});
  const meta = machineInfo(ort);
  const minTime = opt.minTime ?? (opt.quick ? 0.1 : 0.3);

  console.log(`afterburner benchmark  ${meta.date}`);
  console.log(`machine: ${meta.cpu}, ${meta.logicalCpus} logical CPUs (${meta.physicalCores} physical cores), ${meta.memGiB} GiB; ` +
      `flags: ${meta.cpuFlags.join(' ')}`);
  console.log(`afterburner ${meta.afterburner} @ ${meta.commit}: native ${meta.native ? 'loaded' : 'NOT loaded'}, ISA ${meta.isa} ` +
      `(built: ${meta.isaBuilt.join(',')}; cpu: ${meta.isaSupported.join(',')}), gemm: ${meta.gemm ?? 'n/a'}, ` +
      `threads measured: ${opt.threads.join(' and ')}`);
  console.log(`node ${meta.node}, tfjs ${meta.tfjs}, onnxruntime-node: ${meta.ort ?? `not available (${status.ort})`}`);
  console.log(`load average at start: ${meta.loadavg.join(' ')}   (shared machine: expect ±30% between runs)`);
  console.log(`peaks per thread (${PEAKS.source}): ${PEAKS.fma.perThread} GFLOP/s f32 FMA, ${PEAKS.dram.perThread} GB/s DRAM read, ` +
      `${PEAKS.l3.perThread} GB/s L3 read`);
  meta.fmaPeakNow = fmaPeakNow();
  if (meta.fmaPeakNow != null) {
    console.log(`f32 FMA rate one thread gets right now (bench/lib/fma-peak.cc): ${meta.fmaPeakNow} GFLOP/s ` +
        `(${Math.round(100 * meta.fmaPeakNow / PEAKS.fma.perThread)}% of the peak above; less means other load)`);
  }
  // oneDNN / OpenBLAS sgemm measured now, the kernel-level anchors (bench/native/anchors.cc).
  meta.anchors = Object.fromEntries(opt.threads.map((t) => [t, anchorsNow(t)]));
  for (const t of opt.threads) {
    const a = meta.anchors[t];
    if (!a) continue;
    const libs = ['onednn', 'openblas'].filter((l) => a[`${l}_sgemm_1024`] != null)
        .map((l) => `${l} ${[64, 256, 1024, 2048].map((n) => `${n}³ ${a[`${l}_sgemm_${n}`]}`).join(', ')}`);
    console.log(`anchors, ${t} thread(s): ${a.fma_peak_zmm_gflops ? `FMA ${a.fma_peak_zmm_gflops} GFLOP/s, read DRAM ${a.read_dram_gbs} / L3 ${a.read_l3_gbs} GB/s; ` : ''}` +
        `sgemm GFLOP/s: ${libs.join('; ') || 'no oneDNN/OpenBLAS headers installed (apt-get install libdnnl-dev libopenblas-dev)'}`);
  }
  for (const e of ['afterburner', 'cpu', 'wasm']) if (want.has(e) && status[e]) console.log(`warning: ${e}: ${status[e]}`);
  console.log('');

  const results = [];
  const notes = new Map();  // message -> footnote number
  const note = (m) => {
    if (!notes.has(m)) notes.set(m, notes.size + 1);
    return `[${notes.get(m)}]`;
  };
  const cell = (r, c) => (r == null ? '—' : r.error ? `err${note(r.error)}` : r.skipped ? `skip${note(r.skipped)}` :
      fmtRate(rateOf(c, r.best), c.unit) + (r.failedAttempts ? note(`first attempt failed, number from a retry in a fresh process: ${r.failedAttempts.join('; ')}`) : ''));

  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ab-bench-'));
  const stamp0 = addonStamp();
  const changed = [];
  for (const c of cases) {
    process.stderr.write(`${c.label} ...`);
    const t0 = performance.now();
    const res = {id: c.id, label: c.label, unit: c.unit, work: c.work, peak: peakFor(c, 1)?.key ?? null, note: c.note ?? null, afterburner: {}, cpu: null, wasm: null, ort: {}};
    // Jobs in measuring order: back to back, so that the ratios of one row share the machine's state.
    const jobs = [];
    const put = (job, r) => {
      const [engine, th] = job.split('@');
      if (th) res[engine][th] = r;
      else res[engine] = r;
    };
    const get = (job) => {
      const [engine, th] = job.split('@');
      return th ? res[engine][th] : res[engine];
    };
    for (const e of ['afterburner', 'cpu', 'wasm', 'ort']) {
      if (!want.has(e)) continue;
      for (const job of e === 'afterburner' || e === 'ort' ? opt.threads.map((t) => `${e}@${t}`) : [e]) {
        const l = c.limits?.[e] ?? {};
        if (e === 'ort' && ort == null) put(job, {skipped: `onnxruntime-node not available: ${status.ort}`});
        else if (e === 'ort' && !c.onnx) put(job, {skipped: l.skip ?? 'no ONNX graph for this row'});
        else if (status[e] && e !== 'ort') put(job, {error: status[e]});
        else if (l.skip && !opt.full) put(job, {skipped: l.skip});
        else if (l.quickSkip && opt.quick) put(job, {skipped: l.quickSkip});
        else jobs.push(job);
      }
    }
    await runJobs(c, jobs, {opt, minTime, outdir}, (job, r) => {
      put(job, r);
      process.stderr.write(` ${job} ${r.error ? 'ERR' : ''}${r.wall.toFixed(1)}s`);
    });

    // Cross-check the outputs (first call) against tfjs-cpu, else wasm: catches a fast but wrong kernel.
    const read = (job) => {
      const f = get(job)?.outputFile;
      if (!f) return null;
      const b = fs.readFileSync(f);
      return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
    };
    const refJob = res.cpu?.outputFile ? 'cpu' : res.wasm?.outputFile ? 'wasm' : null;
    const ref = refJob ? read(refJob) : null;
    const checks = [];
    for (const job of jobs) {
      if (job === refJob || !ref) continue;
      const out = read(job);
      if (!out) continue;
      const e = relError(out, ref);
      get(job).relErr = e;
      get(job).check = e <= c.tol ? 'ok' : `MISMATCH ${c.label} ${job} vs ${refJob}: scaled max error ${e} (tolerance ${c.tol})`;
      if (!(e <= c.tol)) checks.push(get(job).check);
    }
    res.check = ref == null ? 'no reference' : checks.length ? checks.join('; ') : 'ok';
    res.reference = refJob;
    for (const job of jobs) {
      const r = get(job);
      if (r?.outputFile) fs.rmSync(r.outputFile, {force: true});
      if (r) delete r.outputFile;
      if (r?.best != null) {
        r.rateBest = rateOf(c, r.best);
        r.rateMedian = rateOf(c, r.median);
      }
    }
    if (addonStamp() !== stamp0) {
      res.addonChanged = true;
      changed.push(c.label);
    }
    results.push(res);
    process.stderr.write(`  (${((performance.now() - t0) / 1e3).toFixed(1)} s)\n`);
  }
  fs.rmSync(outdir, {recursive: true, force: true});

  // The table: one row per case and thread count.
  const header = ['row', 'unit', 'thr', 'afterburner', 'median', '% peak', 'tfjs-cpu', '×cpu', 'tfjs-wasm', '×wasm', 'ort', '×ort', 'check'];
  const rows = [];
  for (const res of results) {
    const c = cases.find((x) => x.id === res.id);
    const threads = want.has('afterburner') ? opt.threads : [opt.threads[0]];
    for (const th of threads) {
      const a = res.afterburner[th];
      const o = res.ort[th];
      const ratio = (b) => (a?.best != null && b?.best != null ? b.best / a.best : null);
      const pk = peakFor(c, th), peak = pk?.value;
      rows.push([
        res.label, c.unit, th, cell(a, c), a?.median != null ? fmtRate(rateOf(c, a.median), c.unit) : '',
        peak && a?.best != null ? fmtPct(100 * rateOf(c, a.best) / peak) + (pk.key === 'fma' ? '' : ` ${pk.key.toUpperCase()}`) : '—',
        cell(res.cpu, c), fmtRatio(ratio(res.cpu)), cell(res.wasm, c), fmtRatio(ratio(res.wasm)),
        cell(o, c), fmtRatio(ratio(o)), a?.check == null ? '—' : a.check === 'ok' ? 'ok' : `BAD${note(a.check)}`,
      ]);
    }
  }
  console.log(markdownTable(header, rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l']));
  console.log('');
  console.log('afterburner/ort columns: best of the samples at that thread count; tfjs-cpu and tfjs-wasm always run on one thread.');
  console.log('×X = X\'s best time / afterburner\'s best time (speed-up, >1 is faster). % peak = best rate / (per-thread peak × threads).');
  console.log('GB/s counts each input read once and the output written once. % peak: GFLOP/s rows vs the f32 FMA peak; GB/s rows vs L3 read');
  console.log('bandwidth when their data fits the 32 MiB L3 (the 1M-element rows, Softmax, Sum), else vs DRAM read bandwidth (GEMV, Add 16M).');
  console.log('GEMM-like rows read the result back (dataSync); elementwise rows do not (all engines here run synchronously; a wasm readback would add a copy).');
  console.log('check: afterburner\'s first output vs tfjs-cpu (else tfjs-wasm), max |diff| / max(1, max |ref|).');
  for (const res of results) if (res.note) console.log(`${res.label}: ${res.note}`);
  for (const res of results) {
    for (const job of ['wasm', ...opt.threads.map((t) => `ort@${t}`)]) {
      const r = job.includes('@') ? res.ort[job.split('@')[1]] : res[job];
      if (r?.check && r.check !== 'ok') console.log(`baseline disagrees: ${r.check}`);
    }
  }
  for (const [m, n] of notes) console.log(`[${n}] ${m}`);
  if (changed.length) {
    console.log(`WARNING: build/Release/afterburner.node was rebuilt or removed during the run (noticed after: ${changed.join(', ')}); ` +
        'afterburner numbers from before and after come from different binaries. Run again.');
  }
  const targets = checkTargets(results, meta);
  console.log('\nTargets (the issue\'s, for this machine; one run on a shared machine is only an indication):');
  console.log(markdownTable(['target', 'measured', 'status'], targets.map((t) => [t.what, t.value, t.status]), ['l', 'r', 'l']));
  const loadEnd = os.loadavg().map((x) => +x.toFixed(2));
  console.log(`load average at end: ${loadEnd.join(' ')}`);

  if (opt.json) {
    fs.writeFileSync(opt.json, JSON.stringify({meta: {...meta, loadavgEnd: loadEnd, minTime, quick: opt.quick, threads: opt.threads},
      peaks: PEAKS, status, results, targets}, null, 1));
    console.log(`wrote ${opt.json}`);
  }
  if (opt.section === 'all') await modelsSection(opt);
}

main().catch((e) => {
  console.error(e?.stack ?? e);
  process.exit(1);
});

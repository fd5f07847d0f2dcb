// SPDX-License-Identifier: Apache-2.0
// tfjs-core's conformance suite (4000+ jasmine specs shipped in @tensorflow/tfjs-core/dist) run
// against the afterburner backend: entry.js is bundled once with esbuild into .test-build/, then
// the bundle runs under jasmine in a child process per ISA level (AFTERBURNER_ISA=<level>).
//
//   node test/conformance/run.mjs                     every level in isa.effective()
//   node test/conformance/run.mjs --isa avx2,scalar   chosen levels
//   node test/conformance/run.mjs --backend cpu       the plain cpu backend (checks the harness)
//   node test/conformance/run.mjs --filter Softmax    only specs whose full name contains a string
//   node test/conformance/run.mjs --ref-addon         compute functions the addon lacks come from
//                                                     ref-addon.cjs (plain JS); --ref-addon=all
//                                                     takes all of them from there (checks src/)
//
// scripts/test.mjs imports runConformance(); run alone, this prints the same report and ends with
// "N passed, N failed".
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

import {SKIPS} from './skips.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..', '..');
// Two levels below the package root, like dist/cjs/, so binding.js's __dirname lookup holds.
const outDir = path.join(root, '.test-build', 'conformance');
const bundleFile = path.join(outDir, 'bundle.cjs');
const require = createRequire(import.meta.url);

/** Bundles entry.js (and with it tfjs-core's tests and afterburner's dist/cjs) into one file. */
let bundled = null;  // one bundle per process, however many runs use it

export async function bundle() {
  if (bundled) return {...bundled, ms: 0};
  const esbuild = await import('esbuild');
  fs.mkdirSync(outDir, {recursive: true});
  const t0 = Date.now();
  await esbuild.build({
    entryPoints: [path.join(here, 'entry.js')],
    outfile: bundleFile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    mainFields: ['module', 'main'],
    // tfjs-core's test files only register specs as side effects; without this they are dropped.
    ignoreAnnotations: true,
    external: ['jasmine-core', 'node-fetch', '*.node'],
    logLevel: 'error',
    sourcemap: false,
  });
  bundled = {file: bundleFile, ms: Date.now() - t0};
  return bundled;
}

/** One jasmine run of the bundle, in this process (the child side). Writes JSON to resultFile. */
async function childMain(resultFile, filter) {
  const Jasmine = require('jasmine');
  const runner = new Jasmine({projectBaseDir: outDir});
  runner.exitOnCompletion = false;
  runner.loadConfig({spec_dir: '.', spec_files: [path.basename(bundleFile)], random: false});
  const res = {counts: {passed: 0, failed: 0, pending: 0, excluded: 0}, failures: [], pendingNames: [],
    suiteErrors: [], globalErrors: []};
  runner.clearReporters();
  runner.addReporter({
    specDone(r) {
      res.counts[r.status] = (res.counts[r.status] || 0) + 1;
      if (r.status === 'failed') {
        res.failures.push({name: r.fullName, messages: r.failedExpectations.map((e) => e.message)});
      } else if (r.status === 'pending') {
        res.pendingNames.push(`${r.fullName}${r.pendingReason ? ` (${r.pendingReason})` : ''}`);
      }
    },
    suiteDone(r) {
      if (r.failedExpectations && r.failedExpectations.length) {
        res.suiteErrors.push({name: r.fullName, messages: r.failedExpectations.map((e) => e.message)});
      }
    },
  });
  if (filter) {
    const env = runner.env;
    // Composes with the skip filter entry.js installs when the bundle loads (it keeps the grep one).
    env.configure({specFilter: (spec) => spec.getFullName().includes(filter)});
  }
  const t0 = Date.now();
  const overall = await runner.execute();
  res.ms = Date.now() - t0;
  res.overallStatus = overall.overallStatus;
  for (const e of overall.failedExpectations || []) res.globalErrors.push(e.message);
  const info = globalThis.__abConformance;
  res.backend = info?.backendName;
  res.isa = info?.isa;
  res.nativeKernels = info?.nativeKernels;
  res.skipped = info ? info.skipped() : {};
  fs.writeFileSync(resultFile, JSON.stringify(res));
}

/** Runs the bundle in a child process with `env` added; resolves to the parsed result. */
function runChild(env, {filter, timeoutMs}) {
  const resultFile = path.join(outDir, `result-${process.pid}-${Date.now()}.json`);
  const args = [fileURLToPath(import.meta.url), '--child', resultFile];
  if (filter) args.push('--filter', filter);
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: {...process.env, AFTERBURNER_ADDON: path.join(root, 'build', 'Release', 'afterburner.node'), ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (d) => {
      output += d;
      if (output.length > 200000) output = output.slice(-100000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let res = null;
      try {
        res = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
        fs.rmSync(resultFile, {force: true});
      } catch {
        // No result: the child crashed, threw while loading the bundle, or timed out.
      }
      resolve({res, code, signal, output, wallMs: Date.now() - t0});
    });
  });
}

/** Copies build/Release/afterburner.node into .test-build/ and says which compute functions it lacks. */
function snapshotAddon(log) {
  const src = process.env.AFTERBURNER_ADDON || path.join(root, 'build', 'Release', 'afterburner.node');
  if (!fs.existsSync(src)) return null;
  if (!src.endsWith('.node')) return src;  // a JS stand-in (AFTERBURNER_ADDON=x.cjs): used as is
  const dst = path.join(outDir, `afterburner-${process.pid}.node`);
  fs.copyFileSync(src, dst);
  try {
    const addon = require(dst);
    const missing = ['matmul', 'binary', 'unary', 'softmax', 'reduce'].filter((n) => typeof addon[n] !== 'function');
    if (missing.length) log(`conformance: the addon has no ${missing.join(', ')} (kernels calling them will fail)`);
  } catch (e) {
    log(`conformance: the addon snapshot does not load here: ${e.message.split('\n')[0]}`);
  }
  return dst;
}

/** The levels to test: every distinct level kernels can run at on this CPU. */
async function effectiveLevels() {
  const ab = require(path.join(root, 'dist', 'cjs', 'index.js'));
  return ab.isa.effective();
}

/**
 * Bundles once and runs the suite once per level. Returns one part per level:
 * {name, passed, failed, pending, skipped, ms, failures[], notes[]}.
 */
export async function runConformance({backend = 'afterburner', levels, filter, timeoutMs = 10 * 60e3,
  refAddon = null, maxFailuresShown = 30, log = console.log} = {}) {
  const b = await bundle();
  if (b.ms) log(`conformance: bundled ${path.relative(root, b.file)} in ${b.ms} ms`);
  // Every level runs the same snapshot of the addon, even if someone rebuilds build/ meanwhile.
  const addonSnapshot = snapshotAddon(log);
  if (backend === 'cpu') levels = [null];
  else if (levels == null) levels = await effectiveLevels();
  const parts = [];
  for (const level of levels) {
    const env = {AB_CONFORMANCE_BACKEND: backend};
    if (addonSnapshot) env.AFTERBURNER_ADDON = env.AB_REAL_ADDON = addonSnapshot;
    if (level) env.AFTERBURNER_ISA = level;
    if (refAddon) {
      env.AFTERBURNER_ADDON = path.join(here, 'ref-addon.cjs');
      env.AB_REF_ADDON_ALL = refAddon === 'all' ? '1' : '0';
    }
    const name = `conformance ${backend}${level ? `@${level}` : ''}${refAddon ? ` (ref-addon${refAddon === 'all' ? '=all' : ''})` : ''}`;
    const {res, code, signal, output, wallMs} = await runChild(env, {filter, timeoutMs});
    const part = {name, passed: 0, failed: 0, pending: 0, skipped: 0, ms: wallMs, failures: [], notes: []};
    if (res == null) {
      part.failed = 1;
      part.failures.push({name: `${name}: the jasmine child produced no result (exit ${code}, signal ${signal})`,
        messages: [output.trim().split('\n').slice(-30).join('\n')]});
    } else {
      part.passed = res.counts.passed;
      part.failed = res.counts.failed + res.suiteErrors.length + res.globalErrors.length;
      part.pending = res.counts.pending;
      // Skipped = removed by skips.mjs; specs left out by --filter are only "not selected".
      part.skipped = Object.values(res.skipped).reduce((x, y) => x + y, 0);
      if (filter) part.notes.push(`--filter '${filter}': ${res.counts.excluded - part.skipped} specs not selected`);
      part.failures = [...res.failures, ...res.suiteErrors.map((s) => ({...s, name: `(suite) ${s.name}`})),
        ...res.globalErrors.map((m) => ({name: '(global error)', messages: [m]}))];
      if (level && res.isa !== level) {
        part.failed += 1;
        part.failures.push({name: `${name}: ran at '${res.isa}', not at the requested level`, messages: []});
      }
      if (!filter && part.skipped !== res.counts.excluded) {
        part.notes.push(`jasmine excluded ${res.counts.excluded} specs but the skip list matched ${part.skipped}`);
      }
      part.skipCounts = res.skipped;
      for (const sk of filter ? [] : SKIPS) {
        if (!res.skipped[sk.match]) {
          part.failed += 1;
          part.failures.push({name: `skips.mjs: the entry '${sk.match}' matches no spec (stale: delete it)`, messages: []});
        }
      }
      part.pendingNames = res.pendingNames;
      part.nativeKernels = res.nativeKernels;
      if (res.counts.passed + res.counts.failed === 0) {
        part.failed += 1;
        part.failures.push({name: `${name}: no spec ran`, messages: []});
      }
    }
    log(`${name}: ${part.passed} passed, ${part.failed} failed, ${part.pending} pending, ` +
        `${part.skipped} skipped (${(part.ms / 1000).toFixed(1)} s)`);
    if (part.skipCounts) {
      log(`  skip list (test/conformance/skips.mjs): ${SKIPS.length} entries, ${part.skipped} specs skipped`);
      for (const s of SKIPS) log(`    ${part.skipCounts[s.match] ?? 0} specs matching '${s.match}': ${s.reason}`);
    }
    for (const n of part.pendingNames ?? []) log(`  pending (marked so in tfjs-core): ${n}`);
    for (const n of part.notes) log(`  note: ${n}`);
    reportFailures(part, {maxFailuresShown, log, file: path.join(outDir, `failures-${level ?? backend}.json`)});
    parts.push(part);
  }
  if (addonSnapshot && addonSnapshot.startsWith(outDir)) fs.rmSync(addonSnapshot, {force: true});
  return parts;
}

/**
 * Prints the first failures with their messages, then how many failures share each message (a
 * missing native function fails hundreds of specs with one message); all go to a JSON file.
 */
function reportFailures(part, {maxFailuresShown, log, file}) {
  fs.rmSync(file, {force: true});
  if (part.failures.length === 0) return;
  fs.writeFileSync(file, JSON.stringify(part.failures, null, 1));
  for (const f of part.failures.slice(0, maxFailuresShown)) {
    log(`  FAILED ${f.name}`);
    for (const m of f.messages.slice(0, 2)) log(`    ${String(m).split('\n').slice(0, 6).join('\n    ')}`);
  }
  if (part.failures.length > maxFailuresShown) {
    log(`  ... ${part.failures.length - maxFailuresShown} more; all ${part.failures.length} in ${path.relative(root, file)}`);
  }
  const byMessage = new Map();
  for (const f of part.failures) {
    const m = String(f.messages[0] ?? '').split('\n')[0].slice(0, 120);
    byMessage.set(m, (byMessage.get(m) ?? 0) + 1);
  }
  const common = [...byMessage].filter(([, c]) => c > 1).sort((x, y) => y[1] - x[1]).slice(0, 10);
  if (common.length) {
    log('  most common failure messages:');
    for (const [m, c] of common) log(`    ${String(c).padStart(5)} x ${m}`);
  }
}

function argValue(argv, flag) {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

const argv = process.argv.slice(2);
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (argv[0] === '--child') {
    await childMain(argv[1], argValue(argv, '--filter'));
  } else {
    const isaArg = argValue(argv, '--isa');
    const parts = await runConformance({
      backend: argValue(argv, '--backend') ?? 'afterburner',
      levels: isaArg ? isaArg.split(',') : undefined,
      filter: argValue(argv, '--filter'),
      refAddon: argv.includes('--ref-addon=all') ? 'all' : argv.includes('--ref-addon') ? 'missing' : null,
    });
    const sum = (k) => parts.reduce((x, p) => x + p[k], 0);
    console.log(`${sum('pending')} pending, ${sum('skipped')} skipped`);
    console.log(`${sum('passed')} passed, ${sum('failed')} failed`);
    process.exitCode = sum('failed') > 0 ? 1 : 0;
  }
}

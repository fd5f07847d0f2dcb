// SPDX-License-Identifier: Apache-2.0
// `npm test`: builds what is missing, runs the unit/op tests (node --test, one part per
// test/*.test.mjs file), then tfjs-core's conformance suite against the afterburner backend once
// per ISA level this CPU can run (isa.effective()). Prints one line per part and, last,
// "N passed, N failed" over all parts; exits non-zero on any failure.
//
//   node scripts/test.mjs                  everything
//   node scripts/test.mjs --unit           only the node --test files
//   node scripts/test.mjs --conformance    only the conformance suite
//   node scripts/test.mjs --cpu            also run the conformance suite on plain 'cpu' (harness check)
//   node scripts/test.mjs leak registry    only test files whose name contains one of the words
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const only = argv.filter((a) => !a.startsWith('--'));
const wantUnit = !argv.includes('--conformance');
const wantConformance = !argv.includes('--unit') && only.length === 0;
const t0 = Date.now();

/** Newest mtime (ms) of any file under dir. */
function newest(dir) {
  let m = 0;
  for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
    const p = path.join(dir, e.name);
    m = Math.max(m, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return m;
}

function run(cmd, args, what, env = {}) {
  console.log(`test: ${what}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, {cwd: root, stdio: 'inherit', env: {...process.env, ...env}});
  if (r.status !== 0) {
    console.error(`test: ${what} failed (exit ${r.status}${r.signal ? `, signal ${r.signal}` : ''})`);
    process.exit(1);
  }
}

// (1) Build what is missing or stale.
const distIndex = path.join(root, 'dist', 'cjs', 'index.js');
const srcNewest = Math.max(newest(path.join(root, 'src')), fs.statSync(path.join(root, 'tsconfig.json')).mtimeMs);
if (!fs.existsSync(distIndex) || fs.statSync(distIndex).mtimeMs < srcNewest) {
  run('npm', ['run', '--silent', 'build:ts'], 'dist/ is missing or older than src/');
}
const addon = path.join(root, 'build', 'Release', 'afterburner.node');
if (!fs.existsSync(addon) && process.env.AFTERBURNER_DISABLE_NATIVE !== '1') {
  // A failed build is an error here (npm install only warns): the tests are about native kernels.
  run('npm', ['run', '--silent', 'build:native'], 'the native addon is missing', {AFTERBURNER_REQUIRE_NATIVE: '1'});
  if (!fs.existsSync(addon)) {
    console.error(`test: the native build finished but ${path.relative(root, addon)} is not there`);
    process.exit(1);
  }
}

// Every part tests one snapshot of the addon (someone may rebuild build/ meanwhile): children get
// AFTERBURNER_ADDON pointing at the copy, which the binding and the tests load first.
if (fs.existsSync(addon) && !process.env.AFTERBURNER_ADDON) {
  const snap = path.join(root, '.test-build', 'addon', `afterburner-${process.pid}.node`);
  fs.mkdirSync(path.dirname(snap), {recursive: true});
  fs.copyFileSync(addon, snap);
  process.env.AFTERBURNER_ADDON = snap;
  process.on('exit', () => fs.rmSync(snap, {force: true}));
}

/** @type {{name: string, passed: number, failed: number, pending: number, skipped: number, ms: number}[]} */
const parts = [];

// (2) Unit and op tests: each test/*.test.mjs file in its own `node --test` run, killed (and
// counted as failed) after AB_TEST_FILE_TIMEOUT_S seconds, so one hung file cannot eat the budget.
const fileTimeoutS = Number(process.env.AB_TEST_FILE_TIMEOUT_S || 300);
let current = null;  // the running node --test child (its own process group)
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (current) {
      try {
        process.kill(-current.pid, 'SIGKILL');
      } catch {}
    }
    process.exit(130);
  });
}
function nodeTest(file) {
  return new Promise((resolve) => {
    const tap = path.join(os.tmpdir(), `ab-test-${process.pid}-${path.basename(file)}.tap`);
    const start = Date.now();
    const child = spawn(process.execPath, [
      '--expose-gc', '--test', '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tap}`, file,
    ], {cwd: root, stdio: ['ignore', 'inherit', 'inherit'], detached: true});
    current = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole group: node --test runs the file in a process of its own, which must go too.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, fileTimeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = null;
      const text = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
      fs.rmSync(tap, {force: true});
      // TAP summary lines at the end: "# pass N", "# fail N", "# cancelled N", "# skipped N", "# todo N".
      const count = (k) => {
        const m = text.match(new RegExp(`^# ${k} (\\d+)$`, 'm'));
        return m ? Number(m[1]) : 0;
      };
      const part = {
        name: `unit ${path.relative(root, file)}`, passed: count('pass'), failed: count('fail') + count('cancelled'),
        pending: count('todo'), skipped: count('skipped'), ms: Date.now() - start,
      };
      if (code !== 0 && part.failed === 0) part.failed = 1;  // crashed, or failed outside a test
      if (timedOut) {
        part.name += ` (killed after ${fileTimeoutS} s)`;
        part.failed = Math.max(part.failed, 1);
      } else if (signal) {
        console.error(`test: ${file} ended by signal ${signal}`);
      }
      resolve(part);
    });
  });
}

if (wantUnit) {
  const testDir = path.join(root, 'test');
  const files = fs.readdirSync(testDir).filter((f) => f.endsWith('.test.mjs')).sort()
      .filter((f) => only.length === 0 || only.some((w) => f.includes(w)))
      .map((f) => path.join(testDir, f));
  if (files.length === 0) {
    parts.push({name: 'unit: no test/*.test.mjs file matched', passed: 0, failed: 1, pending: 0, skipped: 0, ms: 0});
  }
  for (const file of files) {
    const part = await nodeTest(file);
    console.log(`test: ${part.name}: ${part.passed} passed, ${part.failed} failed (${(part.ms / 1000).toFixed(1)} s)\n`);
    parts.push(part);
  }
}

// (3) tfjs-core's conformance suite: bundled once, run once per ISA level.
if (wantConformance) {
  const {runConformance} = await import('../test/conformance/run.mjs');
  if (argv.includes('--cpu')) parts.push(...await runConformance({backend: 'cpu'}));
  const {isa, info} = (await import('../dist/cjs/index.js')).default;
  const levels = isa.effective();
  if (levels.length === 0) {
    parts.push({name: `conformance: no ISA level to run (native addon not loaded: ${info().nativeError})`,
      passed: 0, failed: 1, pending: 0, skipped: 0, ms: 0});
  } else {
    parts.push(...await runConformance({backend: 'afterburner', levels}));
  }
}

// (4) Summary. The last line is the one CI reads.
const sum = (k) => parts.reduce((x, p) => x + p[k], 0);
const w = Math.max(...parts.map((p) => p.name.length));
console.log('\nsummary:');
for (const p of parts) {
  console.log(`  ${p.failed ? 'FAIL' : 'ok  '} ${p.name.padEnd(w)}  ${String(p.passed).padStart(5)} passed ` +
      `${String(p.failed).padStart(5)} failed ${String(p.pending).padStart(3)} pending ` +
      `${String(p.skipped).padStart(3)} skipped  ${(p.ms / 1000).toFixed(1).padStart(6)} s`);
}
console.log(`total time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${sum('pending')} pending, ${sum('skipped')} skipped`);
console.log(`${sum('passed')} passed, ${sum('failed')} failed`);
process.exitCode = sum('failed') > 0 ? 1 : 0;

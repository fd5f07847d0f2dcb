// SPDX-License-Identifier: Apache-2.0
// The registry cannot drift (one file per kernel, one list), the TS op codes mirror the native
// header, the backend is the default on import, and the ISA/threads API behaves as documented.
// Runs against dist/ (scripts/test.mjs rebuilds it when src/ is newer).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const kernelsSrc = path.join(root, 'src', 'backend', 'kernels');
const kernelsDist = path.join(root, 'dist', 'cjs', 'backend', 'kernels');
// The addon the binding loads: AFTERBURNER_ADDON first (scripts/test.mjs points it at a snapshot).
const addonPath = process.env.AFTERBURNER_ADDON || path.join(root, 'build', 'Release', 'afterburner.node');

/** Runs `code` in a fresh node (CommonJS, or ESM with esm=true) from the package root. */
function node(code, env = {}, {esm = false} = {}) {
  const args = esm ? ['--input-type=module', '-e', code] : ['-e', code];
  const r = spawnSync(process.execPath, args, {cwd: root, encoding: 'utf8', env: {...process.env, ...env}, timeout: 60e3});
  return {status: r.status, signal: r.signal, stdout: r.stdout.trim(), stderr: r.stderr.trim()};
}

const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');

// ---------------------------------------------------------------------------------------------
// (a) One kernel per file, one registry.

/** Kernel files: upper-case or '_' initial (helpers such as matmul.ts, index.ts are lower-case). */
const kernelFiles = fs.readdirSync(kernelsSrc).filter((f) => /^[A-Z_].*\.ts$/.test(f)).map((f) => f.slice(0, -3)).sort();

test('registry: the kernels folder has kernel files', () => {
  assert.ok(kernelFiles.length > 0, `no <Name>.ts kernel file in ${kernelsSrc}`);
});

test('registry: every kernel file exports <Name>Config with kernelName <Name> (source and build)', () => {
  for (const name of kernelFiles) {
    const src = fs.readFileSync(path.join(kernelsSrc, `${name}.ts`), 'utf8');
    const exported = [...src.matchAll(/export\s+const\s+(\w+Config)\b/g)].map((m) => m[1]);
    assert.deepEqual(exported, [`${name}Config`], `${name}.ts must export exactly one config, ${name}Config`);
    const built = path.join(kernelsDist, `${name}.js`);
    assert.ok(fs.existsSync(built), `${built} is missing: run npm run build:ts`);
    const config = require(built)[`${name}Config`];
    assert.ok(config, `dist ${name}.js does not export ${name}Config (stale dist/? run npm run build:ts)`);
    assert.equal(config.kernelName, name, `${name}Config.kernelName`);
    assert.equal(config.backendName, 'afterburner', `${name}Config.backendName`);
    assert.equal(typeof config.kernelFunc, 'function', `${name}Config.kernelFunc`);
  }
});

test('registry: kernelConfigs lists each kernel file once and nothing else', () => {
  const {kernelConfigs} = require(path.join(kernelsDist, 'index.js'));
  const listed = kernelConfigs.map((k) => k.kernelName);
  assert.equal(new Set(listed).size, listed.length, `kernelConfigs has duplicates: ${listed}`);
  for (const name of kernelFiles) {
    const config = require(path.join(kernelsDist, `${name}.js`))[`${name}Config`];
    assert.ok(kernelConfigs.includes(config), `${name}.ts's ${name}Config is not in kernels/index.ts's kernelConfigs`);
  }
  for (const k of kernelConfigs) {
    assert.ok(kernelFiles.includes(k.kernelName), `kernelConfigs registers '${k.kernelName}' but src/backend/kernels/${k.kernelName}.ts does not exist`);
  }
  // The source list too (a stale dist/ must not hide an edit to index.ts).
  const indexSrc = fs.readFileSync(path.join(kernelsSrc, 'index.ts'), 'utf8');
  const body = indexSrc.slice(indexSrc.indexOf('kernelConfigs'));
  const srcListed = [...body.matchAll(/\b(\w+)Config\b/g)].map((m) => m[1]).filter((n) => n !== 'Kernel');
  assert.deepEqual([...srcListed].sort(), kernelFiles, 'src/backend/kernels/index.ts kernelConfigs vs kernel files');
});

/** The kernel under graph mode's observing wrapper (src/graph/hook.ts), which every registered kernel has. */
function inner(kernelFunc) {
  assert.equal(typeof kernelFunc.abInner, 'function', 'a kernel registered without the graph-mode hook');
  return kernelFunc.abInner;
}

test('registry: with the addon loaded, the backend runs exactly these configs', () => {
  assert.equal(ab.info().native, true, `native addon not loaded: ${ab.info().nativeError}`);
  const {kernelConfigs} = require(path.join(kernelsDist, 'index.js'));
  for (const k of kernelConfigs) {
    const reg = tf.getKernel(k.kernelName, 'afterburner');
    assert.ok(reg, `${k.kernelName} is not registered on afterburner`);
    assert.equal(inner(reg.kernelFunc), k.kernelFunc, `${k.kernelName}: the registered kernel is not ours`);
  }
  assert.deepEqual(ab.info().nativeKernels, kernelConfigs.map((k) => k.kernelName).sort());
  // Everything else is the cpu kernel, copied.
  const cpuNames = tf.getKernelsForBackend('cpu').map((k) => k.kernelName);
  const ours = new Set(kernelConfigs.map((k) => k.kernelName));
  for (const name of cpuNames) {
    const reg = tf.getKernel(name, 'afterburner');
    assert.ok(reg, `cpu kernel ${name} was not copied to afterburner`);
    if (!ours.has(name)) assert.equal(inner(reg.kernelFunc), tf.getKernel(name, 'cpu').kernelFunc, name);
  }
});

// ---------------------------------------------------------------------------------------------
// (b) src/op-codes.ts mirrors native/ops/op_codes.h.

/** {EnumName: {Enumerator: value}} from a C++ header: explicit values and implicit increments. */
function parseEnums(text) {
  const clean = text.replace(/\/\/[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
  const enums = {};
  for (const m of clean.matchAll(/enum\s+(?:class\s+)?(\w+)\s*(?::\s*\w+\s*)?\{([^}]*)\}/g)) {
    const values = {};
    let next = 0;
    for (const item of m[2].split(',').map((s) => s.trim()).filter(Boolean)) {
      const [, id, expr] = item.match(/^(\w+)\s*(?:=\s*(.+))?$/) ?? [];
      assert.ok(id, `cannot parse enumerator '${item}' in enum ${m[1]}`);
      if (expr != null) {
        assert.match(expr.trim(), /^-?\d+$/, `enumerator ${id}: only integer literals are understood, got '${expr}'`);
        next = Number(expr);
      }
      values[id] = next++;
    }
    enums[m[1]] = values;
  }
  return enums;
}

// TS object -> [header enum, enumerator prefix, aliases where the header abbreviates the tfjs name].
const ENUM_MIRRORS = {
  Activation: ['Activation', 'kAct', {}],
  Operand: ['EpilogueOperand', 'kOperand', {}],
  BinaryOp: ['BinaryOp', 'kBin', {Mul: 'Multiply', Div: 'RealDiv', Max: 'Maximum', Min: 'Minimum', SquaredDiff: 'SquaredDifference'}],
  UnaryOp: ['UnaryOp', 'kUn', {}],
  ReduceOp: ['ReduceOp', 'kRed', {}],
  CompareOp: ['CompareOp', 'kCmp', {}],
  WideBinaryOp: ['WideBinaryOp', 'kWide', {Mul: 'Multiply', Div: 'RealDiv', Max: 'Maximum', Min: 'Minimum', SquaredDiff: 'SquaredDifference'}],
};

test('op codes: the header parser understands implicit values', () => {
  assert.deepEqual(parseEnums('enum E : int { kA = 3, kB, // c\n kC = 7, kD };'), {E: {kA: 3, kB: 4, kC: 7, kD: 8}});
});

test('op codes: src/op-codes.ts equals native/ops/op_codes.h', () => {
  const header = parseEnums(fs.readFileSync(path.join(root, 'native', 'ops', 'op_codes.h'), 'utf8'));
  const ts = require(path.join(root, 'dist', 'cjs', 'op-codes.js'));
  const tsEnums = Object.keys(ts).filter((k) => k !== '__esModule');
  assert.deepEqual(tsEnums.sort(), Object.keys(ENUM_MIRRORS).sort(), 'op-codes.ts exports an enum this test does not map to the header');
  for (const [tsName, [hName, prefix, aliases]] of Object.entries(ENUM_MIRRORS)) {
    const h = header[hName];
    assert.ok(h, `enum ${hName} not found in op_codes.h`);
    const fromHeader = {};
    let count = null;
    for (const [id, v] of Object.entries(h)) {
      assert.ok(id.startsWith(prefix), `${hName}::${id} lacks the prefix ${prefix}`);
      const bare = id.slice(prefix.length);
      if (bare === 'Count') {
        count = v;
        continue;
      }
      fromHeader[(aliases[bare] ?? bare).toLowerCase()] = v;
    }
    const fromTs = Object.fromEntries(Object.entries(ts[tsName]).map(([k, v]) => [k.toLowerCase(), v]));
    assert.deepEqual(fromTs, fromHeader, `${tsName} (op-codes.ts) vs ${hName} (op_codes.h)`);
    assert.equal(count, Object.keys(fromTs).length, `${hName}'s ${prefix}Count vs the number of ${tsName} codes`);
  }
});

// ---------------------------------------------------------------------------------------------
// (c) Importing is enough.

test('backend: tf.getBackend() is afterburner right after require, without setBackend', () => {
  const r = node(`require('afterburner'); const tf = require('@tensorflow/tfjs-core');
    console.log(tf.getBackend(), tf.engine().backendName, tf.add(1, 2).dataSync()[0]);`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'afterburner afterburner 3');
});

test('backend: tf.getBackend() is afterburner right after an ESM import', () => {
  const r = node(`import 'afterburner'; import * as tf from '@tensorflow/tfjs-core';
    console.log(tf.getBackend());`, {}, {esm: true});
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'afterburner');
});

test('backend: no warning on import with the addon present', () => {
  const r = node(`require('afterburner'); require('@tensorflow/tfjs-core').matMul([[1]], [[2]]).dataSync();`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'stderr should be empty');
});

// ---------------------------------------------------------------------------------------------
// (d) ISA and threads.

const {isa, ISA_LEVELS} = ab;
const nat = require(addonPath);
const cpuTop = nat.isaCpu();
const builtTop = nat.isaBuilt();
const rank = (l) => ISA_LEVELS.indexOf(l);
const levelAboveCpu = ISA_LEVELS[rank(cpuTop) + 1];
const lowest = (...ls) => ls.reduce((x, y) => (rank(x) <= rank(y) ? x : y));
const builtLevels = nat.isaBuiltLevels();
// The kernel library a stub with a body at every built level picks under a cap: the highest
// built level at or below it (avx512_vnni has no library of its own: avx512).
const libFor = (level) => builtLevels.filter((l) => rank(l) <= rank(level)).at(-1);

test('isa: the ladder, and effective() = supported levels up to the built one', () => {
  assert.deepEqual([...ISA_LEVELS], ['scalar', 'avx2', 'avx512', 'avx512_vnni', 'avx512_bf16', 'amx']);
  assert.deepEqual(isa.supported(), ISA_LEVELS.slice(0, rank(cpuTop) + 1));
  assert.deepEqual(isa.built(), builtLevels);
  assert.equal(builtLevels.at(-1), builtTop, 'isaBuilt() is the highest built level');
  assert.deepEqual(builtLevels, ISA_LEVELS.filter((l) => builtLevels.includes(l)), 'in ladder order');
  if (process.arch === 'x64') assert.deepEqual(builtLevels, ['scalar', 'avx2', 'avx512', 'avx512_bf16', 'amx']);
  else assert.deepEqual(builtLevels, ['scalar']);
  assert.deepEqual(isa.effective(), builtLevels.filter((l) => rank(l) <= rank(cpuTop)));
  assert.equal(isa.current(), lowest(cpuTop, builtTop), 'with no cap, the best level that runs');
});

test('isa: set() above the CPU throws a clear error and leaves the level alone', (t) => {
  if (levelAboveCpu == null) return t.skip(`this CPU supports the top level (${cpuTop})`);
  const before = isa.current();
  assert.throws(() => isa.set(levelAboveCpu), (e) => {
    assert.match(e.message, new RegExp(`${levelAboveCpu}.*above what this CPU`));
    assert.match(e.message, new RegExp(cpuTop), 'the message names what the CPU supports');
    return true;
  });
  assert.equal(isa.current(), before);
});

test('isa: set() of an unknown level throws a RangeError naming the levels', () => {
  const before = isa.current();
  assert.throws(() => isa.set('avx1024'), (e) => e instanceof RangeError && /'avx1024' is not an ISA level.*scalar, avx2/.test(e.message));
  assert.throws(() => isa.set(''), RangeError);
  assert.throws(() => nat.isaSet('bogus'), RangeError, 'the addon checks too');
  assert.equal(isa.current(), before);
});

test('isa: set() caps, returns the level in effect, and can be raised again', () => {
  const top = isa.current();
  try {
    for (const level of isa.supported()) {
      const expected = lowest(level, builtTop);
      assert.equal(isa.set(level), expected, `isa.set('${level}')`);
      assert.equal(isa.current(), expected);
    }
  } finally {
    isa.set(cpuTop);
  }
  assert.equal(isa.current(), top);
});

test('isa: dispatchProbe() reports the kernel library each cap selects (in process)', () => {
  try {
    for (const level of isa.supported()) {
      isa.set(level);
      // Libraries scalar/avx2/avx512/avx512_bf16/amx: avx512_vnni -> avx512.
      assert.equal(nat.dispatchProbe(), libFor(level), `dispatchProbe() with the cap at ${level}`);
    }
  } finally {
    isa.set(cpuTop);
  }
});

test('isa: AFTERBURNER_ISA=<level> sets the level and the dispatched library (fresh process)', () => {
  for (const level of isa.supported()) {
    const r = node(`const ab = require('afterburner');
      const nat = require(${JSON.stringify(addonPath)});
      console.log(ab.isa.current(), nat.dispatchProbe());`, {AFTERBURNER_ISA: level});
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${lowest(level, builtTop)} ${libFor(level)}`, `AFTERBURNER_ISA=${level}`);
  }
});

test('isa: AFTERBURNER_ISA=avx2 makes isa.current() avx2', (t) => {
  if (rank(cpuTop) < rank('avx2') || rank(builtTop) < rank('avx2')) return t.skip('no avx2 here');
  const r = node(`console.log(require('afterburner').isa.current())`, {AFTERBURNER_ISA: 'avx2'});
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'avx2');
});

test('isa: AFTERBURNER_ISA=bogus exits with an error naming the variable (no crash)', () => {
  const r = node(`require('afterburner')`, {AFTERBURNER_ISA: 'bogus'});
  assert.equal(r.signal, null, `killed by ${r.signal}`);
  assert.equal(r.status, 1, 'an uncaught Error exits with status 1');
  assert.match(r.stderr, /AFTERBURNER_ISA='bogus' is not an ISA level/);
  assert.match(r.stderr, /scalar, avx2, avx512/);
});

test('isa: AFTERBURNER_ISA above the CPU exits with a clear error (no crash)', (t) => {
  if (levelAboveCpu == null) return t.skip(`this CPU supports the top level (${cpuTop})`);
  const r = node(`require('afterburner')`, {AFTERBURNER_ISA: levelAboveCpu});
  assert.equal(r.signal, null, `killed by ${r.signal}`);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`AFTERBURNER_ISA='${levelAboveCpu}' is above what this CPU`));
});

test('threads: setNumThreads/getNumThreads round-trip', () => {
  const before = ab.getNumThreads();
  assert.ok(Number.isInteger(before) && before >= 1, `default threads ${before}`);
  try {
    for (const n of [1, 2, 3, 1]) {
      ab.setNumThreads(n);
      assert.equal(ab.getNumThreads(), n);
    }
  } finally {
    ab.setNumThreads(before);
  }
  assert.equal(ab.getNumThreads(), before);
});

test('threads: setNumThreads rejects 0, -1, 1.5, NaN and leaves the count alone', () => {
  const before = ab.getNumThreads();
  for (const bad of [0, -1, 1.5, NaN, Infinity, '2']) {
    assert.throws(() => ab.setNumThreads(bad), RangeError, `setNumThreads(${String(bad)})`);
    assert.equal(ab.getNumThreads(), before);
  }
  // The addon refuses out-of-range counts by itself too (it must never get a pool of 0 or -1).
  assert.throws(() => nat.setNumThreads(0), RangeError);
  assert.throws(() => nat.setNumThreads(-1), RangeError);
  assert.equal(ab.getNumThreads(), before);
});

test('threads: a tf op gives the same result on 1 and 2 threads', () => {
  const before = ab.getNumThreads();
  const a = tf.tensor2d(Array.from({length: 64 * 48}, (_, i) => Math.sin(i)), [64, 48]);
  const b = tf.tensor2d(Array.from({length: 48 * 40}, (_, i) => Math.cos(i)), [48, 40]);
  try {
    ab.setNumThreads(1);
    const one = tf.matMul(a, b).dataSync();
    ab.setNumThreads(2);
    const two = tf.matMul(a, b).dataSync();
    // Same sums, possibly split differently: close, not necessarily bit-equal.
    for (let i = 0; i < one.length; ++i) assert.ok(Math.abs(one[i] - two[i]) <= 1e-5 * (1 + Math.abs(one[i])), `element ${i}: ${one[i]} vs ${two[i]}`);
  } finally {
    ab.setNumThreads(before);
  }
});

// ---------------------------------------------------------------------------------------------
// (e) AFTERBURNER_DISABLE_NATIVE=1: the cpu kernels serve, quietly.

test('AFTERBURNER_DISABLE_NATIVE=1: import works, ops compute on cpu kernels, no warning', () => {
  const r = node(`const ab = require('afterburner'); const tf = require('@tensorflow/tfjs-core');
    const i = ab.info();
    const out = {
      backend: tf.getBackend(), native: i.native, nativeError: i.nativeError, nativeKernels: i.nativeKernels,
      isa: ab.isa.current(), effective: ab.isa.effective(), threads: ab.getNumThreads(),
      addIsCpu: tf.getKernel('Add', 'afterburner').kernelFunc.abInner === tf.getKernel('Add', 'cpu').kernelFunc,
      matMulIsCpu: tf.getKernel('BatchMatMul', 'afterburner').kernelFunc.abInner === tf.getKernel('BatchMatMul', 'cpu').kernelFunc,
      add: Array.from(tf.add([1, 2], [10, 20]).dataSync()),
      matMul: Array.from(tf.matMul([[1, 2], [3, 4]], [[5, 6], [7, 8]]).dataSync()),
      fused: Array.from(tf.fused.matMul({a: tf.tensor2d([[1, -2]]), b: tf.tensor2d([[1], [1]]), bias: tf.scalar(0.5), activation: 'relu'}).dataSync()),
      sum: tf.sum([[1, 2], [3, 4]], 1).arraySync(),
      softmax: Array.from(tf.softmax([0, 0]).dataSync()),
    };
    let setErr = null;
    try { ab.setNumThreads(2); } catch (e) { setErr = e.message; }
    out.setErr = setErr;
    console.log(JSON.stringify(out));`, {AFTERBURNER_DISABLE_NATIVE: '1'});
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'the fallback asked for is warning-free');
  const out = JSON.parse(r.stdout);
  assert.equal(out.backend, 'afterburner');
  assert.equal(out.native, false);
  assert.match(out.nativeError, /AFTERBURNER_DISABLE_NATIVE/);
  assert.deepEqual(out.nativeKernels, []);
  assert.equal(out.isa, 'scalar');
  assert.deepEqual(out.effective, []);
  assert.equal(out.threads, 1);
  assert.ok(out.addIsCpu && out.matMulIsCpu, 'the cpu kernels serve');
  assert.deepEqual(out.add, [11, 22]);
  assert.deepEqual(out.matMul, [19, 22, 43, 50]);
  assert.deepEqual(out.fused, [0]);
  assert.deepEqual(out.sum, [3, 7]);
  assert.deepEqual(out.softmax, [0.5, 0.5]);
  assert.match(out.setErr, /needs the native addon/);
});

test('a missing addon falls back to cpu with one warning', () => {
  // Copy the package's dist/ to a temporary root without build/: the addon cannot be found.
  fs.mkdirSync(path.join(root, '.test-build'), {recursive: true});
  const tmp = fs.mkdtempSync(path.join(root, '.test-build', 'noaddon-'));
  try {
    fs.cpSync(path.join(root, 'dist'), path.join(tmp, 'dist'), {recursive: true});
    fs.copyFileSync(path.join(root, 'package.json'), path.join(tmp, 'package.json'));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'node_modules'));
    const r = spawnSync(process.execPath, ['-e', `const tf = require('@tensorflow/tfjs-core');
      const ab = require('./dist/cjs/index.js');
      console.log(tf.getBackend(), ab.info().native, tf.add(1, 2).dataSync()[0]);`],
    {cwd: tmp, encoding: 'utf8', env: {...process.env, AFTERBURNER_ADDON: ''}});
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'afterburner false 3');
    assert.equal((r.stderr.match(/AFTERBURNER_NO_NATIVE/g) ?? []).length, 1, r.stderr);
  } finally {
    fs.rmSync(tmp, {recursive: true, force: true});
  }
});

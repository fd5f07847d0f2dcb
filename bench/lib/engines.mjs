// SPDX-License-Identifier: Apache-2.0
// The engines compared, all in one process: afterburner, tfjs-backend-cpu and tfjs-backend-wasm
// registered together in one tfjs-core (switched with tf.setBackend), plus onnxruntime-node when
// it can be loaded. Also: the machine facts printed in the header, and the peaks used for "% of peak".
import {execSync} from 'child_process';
import {createRequire} from 'module';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as ab from 'afterburner';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';

import {onnxSpec} from './cases.mjs';
import {buildModel, loadOrt} from './onnx.mjs';
import {measure} from './timing.mjs';

export {ab, tf};

const require = createRequire(import.meta.url);
export const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/**
 * Peaks of this project's machine, one thread (two threads: twice that when quiet), measured with
 * bench/native/anchors.cc on a quiet machine (2026-11-26). The machine is an AMD EPYC of family 25
 * model 17 (Zen 4: AVX-512 executed on 256-bit FMA units, so zmm and ymm FMA peak alike), not the
 * Zen 5 that shared/docs/ECOSYSTEM.md describes (211 GFLOP/s, 30 GB/s): those figures do not hold
 * here. oneDNN's sgemm reaches 108 GFLOP/s at 1024³ on one thread of it (92% of this peak).
 */
export const PEAKS = {
  source: 'bench/native/anchors.cc, quiet machine, 2026-11-26 (AMD EPYC family 25 model 17, Zen 4)',
  fma: {unit: 'GFLOP/s', perThread: 117, what: 'f32 FMA peak'},
  dram: {unit: 'GB/s', perThread: 21, what: 'DRAM read bandwidth (256 MiB buffer)'},
  l3: {unit: 'GB/s', perThread: 100, what: 'L3 read bandwidth (8 MiB buffer)'},
};

/** The peak a row is measured against: its `peak` key, else f32 FMA for GFLOP/s rows, DRAM for GB/s. */
export function peakFor(c, threads) {
  const key = c.peak ?? (c.unit === 'GFLOP/s' ? 'fma' : c.unit === 'GB/s' ? 'dram' : null);
  return key ? {key, value: PEAKS[key].perThread * threads} : null;
}

/** Registers wasm (with its .wasm files from node_modules) and loads onnxruntime-node if present. */
export async function setupEngines({wantOrt = true} = {}) {
  const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  tfwasm.setWasmPaths(wasmDir);
  const status = {afterburner: null, cpu: null, wasm: null, ort: null};
  for (const name of ['cpu', 'wasm', 'afterburner']) {
    try {
      if (!(await tf.setBackend(name))) status[name] = `tf.setBackend('${name}') failed`;
      const b = tf.findBackend(name);
      if (b && 'firstUse' in b) b.firstUse = false;  // silence the cpu backend's "install tfjs-node" banner
    } catch (e) {
      status[name] = e.message;
    }
  }
  if (ab.info().nativeError) status.afterburner = `native addon not loaded: ${ab.info().nativeError}`;
  let ort = null;
  if (wantOrt) {
    const r = await loadOrt();
    ort = r.ort;
    status.ort = r.error;
  } else {
    status.ort = 'not requested';
  }
  return {ort, status};
}

function sh(cmd) {
  try {
    return execSync(cmd, {cwd: REPO, stdio: ['ignore', 'pipe', 'ignore']}).toString().trim();
  } catch {
    return null;
  }
}

export function machineInfo(ort) {
  let model = os.cpus()[0]?.model ?? 'unknown';
  let flags = '';
  try {
    const ci = fs.readFileSync('/proc/cpuinfo', 'utf8');
    model = /model name\s*:\s*(.*)/.exec(ci)?.[1] ?? model;
    flags = /flags\s*:\s*(.*)/.exec(ci)?.[1] ?? '';
  } catch { /* not Linux */ }
  const want = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'amx_tile'];
  const have = new Set(flags.split(/\s+/));
  const info = ab.info();
  const dirty = sh('git status --porcelain -- src native binding.gyp');
  return {
    date: new Date().toISOString(),
    cpu: model,
    cpuFlags: want.filter((f) => have.has(f)),
    logicalCpus: os.cpus().length,
    physicalCores: info.physicalCores,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    commit: (sh('git rev-parse --short HEAD') ?? 'unknown') + (dirty ? ' (+uncommitted changes in src/native)' : ''),
    afterburner: info.version,
    native: info.native,
    isa: info.isa.current,
    isaBuilt: info.isa.built,
    isaSupported: info.isa.supported,
    gemm: info.gemm == null ? null : typeof info.gemm === 'string' ? info.gemm : info.gemm.summary ?? JSON.stringify(info.gemm),
    defaultThreads: info.threads,
    tfjs: tf.version_core,
    ort: ort ? ort.env?.versions?.node ?? 'loaded' : null,
    loadavg: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

/** Deterministic uniform [-1, 1) float32 data (xorshift32). */
export function randomData(n, seed) {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; ++i) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/**
 * Times one case on a tfjs backend. `c.tfjs(tf, T, i)` returns the output tensor of call i.
 * The first call's output is kept (copied) for the cross-engine check.
 */
export async function timeTfjs(backendName, c, inputs, opts) {
  if (!(await tf.setBackend(backendName))) throw new Error(`tf.setBackend('${backendName}') failed`);
  const before = tf.memory().numTensors;
  const T = {};
  for (const [k, v] of Object.entries(inputs)) T[k] = tf.tensor(v.data, v.shape, 'float32');
  let i = 0, first = null;
  try {
    const run = (n) => {
      for (let j = 0; j < n; ++j, ++i) {
        const y = c.tfjs(tf, T, i);
        if (first == null) first = y.dataSync().slice();
        else if (c.readback) y.dataSync();
        y.dispose();
      }
    };
    const r = await measure(run, opts);
    return {...r, output: first};
  } finally {
    for (const t of Object.values(T)) t.dispose();
    const leaked = tf.memory().numTensors - before;
    if (leaked > 0) console.warn(`warning: ${c.id} on ${backendName} left ${leaked} tensors`);
  }
}

/**
 * Times one case on onnxruntime-node: a session from the case's in-memory ONNX model (or one
 * session per model variant, `c.ortModels`, call i running session i mod count).
 */
export async function timeOrt(ort, threads, c, inputs, opts) {
  const specs = c.ortModels ? c.ortModels(inputs).map((v) => ({...onnxSpec(c), ...v})) : [onnxSpec(c)];
  const sessions = [];
  for (const spec of specs) {
    sessions.push(await ort.InferenceSession.create(buildModel(spec), {
      intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    }));
  }
  const T = {};
  for (const [k, v] of Object.entries(inputs)) T[k] = new ort.Tensor('float32', v.data, v.shape);
  const outName = sessions[0].outputNames[0];
  let i = 0, first = null;
  try {
    const run = async (n) => {
      for (let j = 0; j < n; ++j, ++i) {
        const r = await sessions[i % sessions.length].run(c.ortFeeds ? c.ortFeeds(T, i) : T);
        if (first == null) first = r[outName].data.slice();
        for (const t of Object.values(r)) t.dispose?.();
      }
    };
    const r = await measure(run, opts);
    return {...r, output: first};
  } finally {
    for (const s of sessions) await s.release();
  }
}

/** Largest |a - b| over max(1, max |b|): a scale-relative error, enough to catch a wrong kernel. */
export function relError(a, b) {
  if (a == null || b == null) return null;
  if (a.length !== b.length) return Infinity;
  let d = 0, m = 1;
  for (let i = 0; i < a.length; ++i) {
    const e = Math.abs(a[i] - b[i]);
    if (Number.isNaN(e)) return NaN;
    if (e > d) d = e;
    const v = Math.abs(b[i]);
    if (v > m) m = v;
  }
  return d / m;
}

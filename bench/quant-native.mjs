// SPDX-License-Identifier: Apache-2.0
// Weight-only int8 / int4 GEMM (quantPack + quantGemm, native/gemm/gemm_quant.h) vs f32 (matmul)
// and bf16 (bf16Gemm), native, same process:
//   node bench/quant-native.mjs [--threads 1,2] [--rounds 5] [--cases gemv,prefill] [--m 1,4]
// LLaMA-7B linear shapes: K x N = 4096 x 4096 (q/k/v/o projections) and 4096 x 11008 (gate/up).
// Decode (GEMV, M = 1 and the --m list): weights cold — enough weight sets per format, cycled, that
// each call streams its weights from DRAM (>= 96 MiB per format, L3 is 32 MiB) — reported as ms per
// call and GB/s of the format's weight bytes (what it moves: f32 4 B/weight, bf16 2, int8 g128
// 1.03, int4 g64 0.56). Prefill (M = 128, 4096 x 4096): GFLOP/s = 2MNK / time. Each round times
// every format back to back (best of a few calls each); the table shows medians over rounds and,
// in brackets, the best round. Quantization time (quantPack of one f32 weight) is printed too.
// llama.cpp / node-llama-cpp: compared if found on PATH / in node_modules, else said so.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const nat = createRequire(import.meta.url)(process.env.AFTERBURNER_ADDON ?? path.join(root, 'build', 'Release', 'afterburner.node'));
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const threads = arg('--threads', '1,2').split(',').map(Number);
const rounds = Number(arg('--rounds', '5'));
const which = arg('--cases', 'gemv,prefill').split(',');
const gemvMs = arg('--m', '1').split(',').map(Number);

function rand(n, scale = 1) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; ++i) x[i] = (Math.random() * 2 - 1) * scale;
  return x;
}
const median = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
function bestOf(fn, calls) {
  let b = Infinity;
  for (let i = 0; i < calls; ++i) {
    const t = process.hrtime.bigint();
    fn(i);
    b = Math.min(b, Number(process.hrtime.bigint() - t) * 1e-9);
  }
  return b;
}

const FORMATS = ['f32', 'bf16', 'int8', 'int4'];
/** The packed weights of one format for K x N, enough sets to exceed `coldBytes`. */
function makeWeights(fmt, K, N, coldBytes, log) {
  const sets = [];
  let bytes = 0;
  do {
    const b = rand(K * N, 0.05);
    let w, wb;
    const t0 = process.hrtime.bigint();
    if (fmt === 'f32') [w, wb] = [b, b.byteLength];
    else if (fmt === 'bf16') w = nat.bf16Pack(b, K, N, false);
    else w = nat.quantPack(b, K, N, false, fmt === 'int8' ? 8 : 4, fmt === 'int8' ? 128 : 64);
    const ms = Number(process.hrtime.bigint() - t0) * 1e-6;
    if (log && sets.length === 0 && fmt !== 'f32') log.push(`${fmt} pack ${K}x${N}: ${ms.toFixed(0)} ms`);
    wb = wb ?? w.byteLength;
    sets.push(w);
    bytes += wb;
  } while (bytes < coldBytes);
  return {sets, bytes: bytes / sets.length};
}
function call(fmt, a, w, out, M, N, K) {
  if (fmt === 'f32') nat.matmul(a, w, out, 1, M, N, K, false, false, null, null, null, 0, 0, 0, null, 0);
  else if (fmt === 'bf16') nat.bf16Gemm(a, w, out, M, N, K, false, null, 0, 0, 0, null, 0);
  else nat.quantGemm(a, w, out, M, N, K, false, null, 0, 0, 0, null, 0);
}

const lines = [];
const packLog = [];
console.log(`level ${nat.isaCurrent()}, threads ${threads.join(',')}, ${rounds} rounds; ${nat.quantInfo().summary}`);

function runCase(name, M, K, N, cold, calls, unit) {
  const weights = {};
  for (const f of FORMATS) weights[f] = makeWeights(f, K, N, cold ? 96 * 2 ** 20 : 0, packLog);
  const a = rand(M * K), out = new Float32Array(M * N);
  for (const t of threads) {
    nat.setNumThreads(t);
    const times = Object.fromEntries(FORMATS.map((f) => [f, []]));
    for (let r = 0; r < rounds; ++r) {
      for (const f of FORMATS) {
        const {sets} = weights[f];
        call(f, a, sets[0], out, M, N, K);
        times[f].push(bestOf((i) => call(f, a, sets[(i + 1) % sets.length], out, M, N, K), calls));
      }
    }
    const cells = FORMATS.map((f) => {
      const med = median(times[f]), best = Math.min(...times[f]);
      const v = (s) => (unit === 'GB/s' ? weights[f].bytes / s / 1e9 : 2 * M * N * K / s / 1e9);
      return `${(med * 1e3).toFixed(2)} ms, ${v(med).toFixed(1)} ${unit} [${v(best).toFixed(1)}]`;
    });
    const ratio = (f) => (median(times.f32) / median(times[f])).toFixed(2);
    lines.push(`| ${name} | ${t} | ${cells.join(' | ')} | ${ratio('bf16')} / ${ratio('int8')} / ${ratio('int4')} |`);
    console.log(lines.at(-1));
  }
}

console.log(`| case | threads | f32 | bf16 | int8 (g128) | int4 (g64) | speed-up vs f32: bf16 / int8 / int4 |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
if (which.includes('gemv')) {
  for (const M of gemvMs) {
    runCase(`decode M=${M}, 4096x4096 (cold)`, M, 4096, 4096, true, 6, 'GB/s');
    runCase(`decode M=${M}, 4096x11008 (cold)`, M, 4096, 11008, true, 4, 'GB/s');
  }
}
if (which.includes('prefill')) runCase('prefill M=128, 4096x4096', 128, 4096, 4096, false, 3, 'GFLOP/s');
console.log(packLog.join('; '));

// llama.cpp, for comparison, if this machine has it.
const onPath = (exe) => spawnSync('sh', ['-c', `command -v ${exe}`]).status === 0;
const llamaExe = ['llama-bench', 'llama-cli', 'main'].find(onPath);
const nodeLlama = fs.existsSync(path.join(root, 'node_modules', 'node-llama-cpp'));
console.log(llamaExe || nodeLlama
  ? `llama.cpp found (${llamaExe ?? 'node-llama-cpp'}): compare by hand with its own Q8_0 / Q4_0 GEMV`
  : 'llama.cpp: not available on this machine (no llama-bench / llama-cli on PATH, no node-llama-cpp in node_modules)');

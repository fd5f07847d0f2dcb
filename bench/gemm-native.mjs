// SPDX-License-Identifier: Apache-2.0
// Native GEMM throughput: node bench/gemm-native.mjs [--levels scalar,avx2,avx512_bf16] [--threads 1,2]
// Prints GFLOP/s for n^3 GEMMs, GEMV (M=1, N=K=4096, cold weights) in GB/s of weights streamed,
// and a 64 x (64x64x64) batch, per ISA level and thread count. Best of several runs (the machine
// is shared and noisy).
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const binding = createRequire(import.meta.url)(path.join(root, 'build', 'Release', 'afterburner.node'));
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const LADDER = ['scalar', 'avx2', 'avx512', 'avx512_vnni', 'avx512_bf16', 'amx'];
const cpu = LADDER.indexOf(binding.isaCpu());
const levels = arg('--levels', 'scalar,avx2,avx512_bf16').split(',').filter((l) => LADDER.indexOf(l) <= cpu);
const threads = arg('--threads', '1,2').split(',').map(Number);
const budget = Number(arg('--seconds', '0.6'));  // per measurement

function rand(n) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; ++i) x[i] = Math.random() * 2 - 1;
  return x;
}
/** Best seconds per call of fn(rep) over >= 3 runs and ~budget seconds. */
function best(fn) {
  fn(0);  // warm-up (packing buffers, pool)
  let b = Infinity, spent = 0, reps = 0;
  while (reps < 3 || spent < budget) {
    const t = process.hrtime.bigint();
    fn(reps + 1);
    const s = Number(process.hrtime.bigint() - t) * 1e-9;
    b = Math.min(b, s);
    spent += s;
    if (++reps > 2000) break;
  }
  return b;
}
const mm = (a, b, out, batch, M, N, K, tB = false) =>
  binding.matmul(a, b, out, batch, M, N, K, false, tB, null, null, null, 0, 0, 0, null, 0);

// GEMV weights: enough 64 MiB buffers to exceed L3 several times over.
const GK = 4096, GN = 4096, NW = 3;
const weights = Array.from({length: NW}, () => rand(GK * GN));
const gx = rand(GK), gy = new Float32Array(GN);

const rows = [];
for (const level of levels) {
  binding.isaSet(level);
  for (const nt of threads) {
    binding.setNumThreads(nt);
    const r = {level: `${level} (${binding.gemmInfo().kernel})`, threads: nt};
    for (const n of [64, 256, 1024, 2048]) {
      if (level === 'scalar' && n === 2048) continue;
      const a = rand(n * n), b = rand(n * n), c = new Float32Array(n * n);
      r[`${n}^3`] = (2 * n ** 3 / best(() => mm(a, b, c, 1, n, n, n)) * 1e-9).toFixed(1);
    }
    for (const tB of [false, true]) {
      const s = best((i) => mm(gx, weights[i % NW], gy, 1, 1, GN, GK, tB));
      r[`gemv${tB ? ' tB' : ''} GB/s`] = (GK * GN * 4 / s * 1e-9).toFixed(1);
    }
    {
      const a = rand(64 * 64 * 64), b = rand(64 * 64 * 64), c = new Float32Array(64 * 64 * 64);
      r['64x64^3'] = (64 * 2 * 64 ** 3 / best(() => mm(a, b, c, 64, 64, 64, 64)) * 1e-9).toFixed(1);
    }
    rows.push(r);
    console.log(JSON.stringify(r));
  }
}
console.table(rows);

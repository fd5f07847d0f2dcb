// SPDX-License-Identifier: Apache-2.0
// The bf16 GEMM per level against the f32 GEMM, native, same process (needs only the addon, so it
// runs where there is no node_modules: AFTERBURNER_ADDON=/path/afterburner.node):
//   node bench/amx.mjs [--threads 1,16] [--reps 3] [--big 4096] [--levels amx,avx512_bf16,avx512]
// Cases: 1024^3, big^3, GEMV [1,4096]x[4096,4096] (3 weight sets cycled: cold), the im2col GEMM of
// a 3x3 64->64 conv on 56x56 (3136x576x64). Rows: f32 (matmul: the f32 engine at the avx512
// bodies) and bf16 (bf16Pack once + bf16Gemm) at each level asked for that this CPU runs
// (avx512 = the exact emulation of vdpbf16ps with f32 FMAs; the avx512_bf16 row follows the
// dispatch policy, bf16Policy(): AFTERBURNER_BF16_EMULATE=0 times vdpbf16ps itself). GFLOP/s = 2MNK / best time of
// `reps` calls after one warm-up; one JSON line per row, then a table. --msweep: M = 1..64 rows
// times 4096x4096 cold weights instead (where amx starts to beat vdpbf16ps).
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const nat = createRequire(import.meta.url)(process.env.AFTERBURNER_ADDON ?? path.join(root, 'build', 'Release', 'afterburner.node'));
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const LADDER = ['scalar', 'avx2', 'avx512', 'avx512_vnni', 'avx512_bf16', 'amx'];
const cpu = LADDER.indexOf(nat.isaCpu());
const threads = arg('--threads', '1,16').split(',').map(Number);
const reps = Number(arg('--reps', '3'));
const big = Number(arg('--big', '4096'));
const levels = arg('--levels', 'amx,avx512_bf16,avx512').split(',').filter((l) => LADDER.indexOf(l) <= cpu);

function rand(n) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; ++i) x[i] = Math.random() * 2 - 1;
  return x;
}
function best(fn, n) {
  fn(0);
  let b = Infinity;
  for (let i = 0; i < n; ++i) {
    const t = process.hrtime.bigint();
    fn(i + 1);
    b = Math.min(b, Number(process.hrtime.bigint() - t) * 1e-9);
  }
  return b;
}

const cases = process.argv.includes('--msweep') ? [1, 2, 4, 8, 16, 32, 64].map((M) =>
  ({name: `${M}x4096x4096 cold`, M, N: 4096, K: 4096, sets: 3})) : [
  {name: '1024^3', M: 1024, N: 1024, K: 1024, sets: 1},
  {name: `${big}^3`, M: big, N: big, K: big, sets: 1},
  {name: 'gemv 1x4096x4096 cold', M: 1, N: 4096, K: 4096, sets: 3},
  {name: 'conv GEMM 3136x576x64', M: 3136, N: 64, K: 576, sets: 1},
];
console.log(JSON.stringify({cpu: nat.isaCpu(), amx: nat.isaAmxStatus(), policy: nat.bf16Policy(), levels, f32: nat.gemmInfo().summary,
  bf16: Object.fromEntries(levels.map((l) => [l, (nat.isaSet(l), nat.bf16Info().summary)]))}));
nat.isaSet(nat.isaCpu());
const rows = [];
for (const c of cases) {
  const a = rand(c.M * c.K), out = new Float32Array(c.M * c.N);
  const bs = Array.from({length: c.sets}, () => rand(c.K * c.N));
  const packed = bs.map((b) => nat.bf16Pack(b, c.K, c.N, false));
  const flops = 2 * c.M * c.N * c.K;
  const n = c.M * c.N * c.K > 1e10 ? Math.min(reps, 2) : reps;
  for (const t of threads) {
    nat.setNumThreads(t);
    nat.isaSet(nat.isaCpu());
    const row = {case: c.name, threads: t};
    const f32 = best((i) => nat.matmul(a, bs[i % c.sets], out, 1, c.M, c.N, c.K, false, false, null, null, null, 0, 0, 0, null, 0), n);
    row.f32 = +(flops / f32 * 1e-9).toFixed(1);
    for (const l of levels) {
      nat.isaSet(l);
      const tb = best((i) => nat.bf16Gemm(a, packed[i % c.sets], out, c.M, c.N, c.K, false, null, 0, 0, 0, null, 0), n);
      row[`bf16 ${l}`] = +(flops / tb * 1e-9).toFixed(1);
      row[`${l}/f32`] = +(f32 / tb).toFixed(2);
    }
    nat.isaSet(nat.isaCpu());
    console.log(JSON.stringify(row));
    rows.push(row);
  }
}
console.table(rows);

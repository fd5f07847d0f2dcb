// SPDX-License-Identifier: Apache-2.0
// Pointwise (1x1, stride 1) f32 NHWC convolutions with few channels, as MobileNet-style models are
// full of: bias + relu6 epilogue, filter prepacked (as in a model after its first call), batch 1.
//   node bench/pointwise.mjs [--threads 1] [--seconds 0.3] [--sizes 112,56,28] [--paths default,gemm,direct]
//                            [--tf] [--filter 16->96] [--stat median|best] [--clock wall|cpu] [--isa avx2]
// Columns: addon-only per path (AFTERBURNER_CONV, read per call: default = what conv2d picks,
// gemm / direct / pointwise = a forced path, old = what conv2d picked before the pointwise path:
// the GEMM on x below in_c 128, else direct), and --tf: tf.fused.conv2d (the whole kernel call,
// weight-cache lookup included). µs = median of >= 5 samples; GFLOP/s and GB/s (x + y + filter
// bytes) from it; bound: compute (117 GFLOP/s one thread) vs bandwidth (L3 ~100 GB/s when x + y +
// filter fit 32 MiB, else DRAM 21 GB/s); 'eff' = achieved / the binding roof.
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');
await tf.setBackend('afterburner');
const nat = require('../build/Release/afterburner.node');
const threads = Number(arg('--threads', '1'));
ab.setNumThreads(threads);
if (arg('--isa', '')) ab.isa.set(arg('--isa', ''));  // e.g. --isa avx2
const budget = Number(arg('--seconds', '0.3'));
const sizes = arg('--sizes', '112,56,28').split(',').map(Number);
const paths = arg('--paths', 'default,gemm,direct').split(',');
const withTf = process.argv.includes('--tf');
const filter = arg('--filter', '');
const stat = arg('--stat', 'median');  // or 'best'
// --clock cpu: the process's CPU time (user + system) instead of wall time: on a shared machine a
// thread that is descheduled does not count (one thread: the pool's workers sleep).
const clock = arg('--clock', 'wall');
const tick = clock === 'cpu' ? () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1e-6;
} : () => Number(process.hrtime.bigint()) * 1e-9;
const PEAK = 117 * threads, L3 = 100, DRAM = 21;

const SHAPES = [[16, 96], [96, 16], [24, 144], [144, 24], [32, 192], [192, 32], [64, 64], [16, 16], [32, 16], [8, 48]];

function rand(n, seed) {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 31 - 1;
  }
  return x;
}
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}
function time(fn) {
  for (let i = 0; i < 3; ++i) fn();
  const first = (() => {
    const t = tick();
    fn();
    return Math.max(tick() - t, 1e-6);
  })();
  const batch = Math.max(1, Math.ceil((clock === 'cpu' ? 2e-2 : 2e-3) / first));
  const samples = [];
  const t0 = performance.now();
  while (samples.length < 5 || (performance.now() - t0) * 1e-3 < budget) {
    const t = tick();
    for (let i = 0; i < batch; ++i) fn();
    samples.push((tick() - t) / batch);
    if (samples.length > 2000) break;
  }
  return stat === 'best' ? Math.min(...samples) : median(samples);
}

const rows = [];
for (const S of sizes) {
  for (const [C, OC] of SHAPES) {
    const name = `${C}->${OC} ${S}x${S}`;
    if (filter && !name.includes(filter)) continue;
    const M = S * S;
    const x = rand(M * C, 1), w = rand(C * OC, 2), bias = rand(OC, 3), y = new Float32Array(M * OC);
    const dims = [1, S, S, C, S, S, OC, 1, 1, 1, 1, 1, 1, 0, 0];
    const flop = 2 * M * C * OC, bytes = 4 * (M * C + M * OC + C * OC);
    const roofBw = bytes <= 32 * 2 ** 20 ? L3 : DRAM;
    const tCompute = flop / (PEAK * 1e9), tBw = bytes / (roofBw * 1e9);
    const bound = tCompute >= tBw ? 'compute' : roofBw === L3 ? 'L3' : 'DRAM';
    const tRoof = Math.max(tCompute, tBw);
    const h = nat.packWeight(w, C, OC, false);
    const r = {shape: name, bound};
    const fmt = (t) => `${(t * 1e6).toFixed(0)}µs ${(flop / t * 1e-9).toFixed(0)}GF ${(bytes / t * 1e-9).toFixed(0)}GB/s ${(100 * tRoof / t).toFixed(0)}%`;
    for (const p of paths) {
      if (p === 'default') delete process.env.AFTERBURNER_CONV;
      else if (p === 'old') process.env.AFTERBURNER_CONV = C < 128 ? 'gemm' : 'direct';  // the choice before the pointwise path
      else process.env.AFTERBURNER_CONV = p;
      r[p] = fmt(time(() => nat.conv2d(x, w, y, dims, bias, 2, 2, 0, null, 0, h)));
    }
    delete process.env.AFTERBURNER_CONV;
    nat.packedFree(h);
    if (withTf) {
      const tx = tf.tensor4d(x, [1, S, S, C]), tw = tf.tensor4d(w, [1, 1, C, OC]), tb = tf.tensor1d(bias);
      const run = () => tf.fused.conv2d({x: tx, filter: tw, bias: tb, strides: 1, pad: 'valid', activation: 'relu6'});
      r.tf = fmt(time(() => run().dispose()));
      tf.dispose([tx, tw, tb]);
    }
    rows.push(r);
  }
}
console.log(`${ab.isa.current()}, threads ${threads}; cells: ${stat} µs (${clock} clock), GFLOP/s, GB/s (x+y+filter), % of the binding roof`);
console.table(rows);

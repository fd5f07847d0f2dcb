// SPDX-License-Identifier: Apache-2.0
// Throughput of the native elementwise/softmax/reduce kernels on 1M floats, 1 and 2 threads,
// plus the per-call cost of a tiny op. GB/s counts the bytes an op must move once:
// Add/Mul 12 B/element (2 reads + 1 write), Exp/Sigmoid/Softmax 8 B (read + write), Sum 4 B.
// Usage: node bench/elementwise-native.mjs [--n=1048576] [--level=avx512]
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ||
    fileURLToPath(new URL('../build/Release/afterburner.node', import.meta.url)));
const arg = (k, d) => (process.argv.find((a) => a.startsWith(`--${k}=`)) ?? `=${d}`).split('=')[1];
const n = Number(arg('n', 1 << 20));
const level = arg('level', nat.isaCpu());
nat.isaSet(level);

const a = new Float32Array(n).map((_, i) => Math.sin(i) * 4);
const b = new Float32Array(n).map((_, i) => Math.cos(i) * 4 + 5);
const out = new Float32Array(n), red = new Float32Array(1);

function time(fn, bytes) {
  for (let i = 0; i < 3; i++) fn();
  const samples = [];
  const deadline = performance.now() + 400;
  while (samples.length < 7 || (performance.now() < deadline && samples.length < 200)) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((p, q) => p - q);
  const ms = samples[Math.floor(samples.length / 2)];
  return {ms, gbs: bytes / (ms * 1e6)};
}

const cases = {
  Add: [() => nat.binary(0, a, [n], b, [n], out, [n]), 12 * n],
  Mul: [() => nat.binary(2, a, [n], b, [n], out, [n]), 12 * n],
  Exp: [() => nat.unary(6, a, out, 0), 8 * n],
  Sigmoid: [() => nat.unary(4, a, out, 0), 8 * n],
  Softmax: [() => nat.softmax(a, out, n / 1024, 1024), 8 * n],
  Sum: [() => nat.reduce(0, a, red, 1, n, 1), 4 * n],
};
const baseline = {
  Add: () => { for (let i = 0; i < n; i++) out[i] = a[i] + b[i]; },
  Exp: () => { for (let i = 0; i < n; i++) out[i] = Math.exp(a[i]); },
};

console.log(`afterburner elementwise, n=${n}, level ${nat.isaCurrent()}, cores ${nat.physicalCores()}`);
console.log('op        threads   ms       GB/s   (plain JS loop for reference)');
const prev = nat.getNumThreads();
for (const [name, [fn, bytes]] of Object.entries(cases)) {
  for (const t of [1, 2]) {
    nat.setNumThreads(t);
    const r = time(fn, bytes);
    const js = t === 1 && baseline[name] ? time(baseline[name], bytes) : null;
    console.log(`${name.padEnd(9)} ${String(t).padEnd(9)} ${r.ms.toFixed(3).padEnd(8)} ${r.gbs.toFixed(1).padStart(6)}` +
        (js ? `   (JS ${js.gbs.toFixed(1)} GB/s)` : ''));
  }
}
nat.setNumThreads(prev);

// Per-call cost of a tiny Add (8 + 8 elements): N-API argument checks + dispatch + kernel.
const x8 = new Float32Array(8).fill(1), y8 = new Float32Array(8).fill(2), o8 = new Float32Array(8);
const s8 = [8];
const calls = 200000;
for (let i = 0; i < 20000; i++) nat.binary(0, x8, s8, y8, s8, o8, s8);
let best = Infinity;
for (let rep = 0; rep < 5; rep++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) nat.binary(0, x8, s8, y8, s8, o8, s8);
  best = Math.min(best, Number(process.hrtime.bigint() - t0) / calls);
}
let bestU = Infinity;
for (let rep = 0; rep < 5; rep++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) nat.unary(0, x8, o8, 0);
  bestU = Math.min(bestU, Number(process.hrtime.bigint() - t0) / calls);
}
console.log(`tiny Add (8 elements, [8] shapes): ${best.toFixed(0)} ns/call from JS; tiny Relu: ${bestU.toFixed(0)} ns/call`);
{
  const i8 = new Int32Array([8]);
  let bestI = Infinity;
  for (let rep = 0; rep < 5; rep++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) nat.binary(0, x8, i8, y8, i8, o8, i8);
    bestI = Math.min(bestI, Number(process.hrtime.bigint() - t0) / calls);
  }
  console.log(`tiny Add with Int32Array shapes: ${bestI.toFixed(0)} ns/call`);
}

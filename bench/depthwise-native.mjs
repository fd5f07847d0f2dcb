// SPDX-License-Identifier: Apache-2.0
// Native depthwise convolution (NHWC f32), straight on the addon, one output buffer reused:
//   node bench/depthwise-native.mjs [--threads 1] [--rounds 7] [--filter s2] [--base path/to/old.node]
//                                   [--inplace] [--offset 0]
// Per row: the median over --rounds rounds of the median of up to 200 calls, and the fastest call
// ('min': on a shared machine the closest to the uncontended time; say the load). GFLOP/s counts 2 flops per tap (taps outside the input included, as the usual
// 2*K*outputs); % of the one-thread f32 FMA peak (117 GFLOP/s on this Zen 4, --peak to change).
// --base: an older addon measured in the same run, interleaved round by round (before / after).
// --inplace: also the in-place call (out === x), repeated over x itself. --offset k: x and y start k floats into their buffers (the
// alignment of V8's large arrays is 16 bytes mod 64; k = 12 makes them 64-byte aligned here).
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {fmaPeakNow} from './lib/probe.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const req = createRequire(import.meta.url);
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const nat = req(process.env.AFTERBURNER_ADDON || path.join(root, 'build', 'Release', 'afterburner.node'));
const base = arg('--base', null) ? req(path.resolve(arg('--base'))) : null;
const threads = Number(arg('--threads', '1')), rounds = Number(arg('--rounds', '7')), peak = Number(arg('--peak', '117'));
const filter = arg('--filter', ''), offset = Number(arg('--offset', '0')), inPlace = process.argv.includes('--inplace');
for (const a of [nat, base]) a?.setNumThreads(threads);

// [name, H, C, f, stride, epilogue]
export const DW = [
  ['3x3 s1 112x112x32', 112, 32, 3, 1, ''],
  ['3x3 s1 112x112x32 bias+relu6', 112, 32, 3, 1, 'relu6'],
  ['3x3 s2 112x112x96', 112, 96, 3, 2, 'relu6'],
  ['3x3 s1 56x56x144', 56, 144, 3, 1, 'relu6'],
  ['3x3 s2 56x56x144', 56, 144, 3, 2, 'relu6'],
  ['3x3 s1 56x56x96', 56, 96, 3, 1, ''],
  ['3x3 s1 56x56x192', 56, 192, 3, 1, ''],
  ['3x3 s1 28x28x96', 28, 96, 3, 1, ''],
  ['3x3 s1 28x28x192', 28, 192, 3, 1, 'relu6'],
  ['3x3 s1 14x14x384', 14, 384, 3, 1, 'relu6'],
  ['5x5 s1 64x64x24', 64, 24, 5, 1, ''],
  ['5x5 s1 32x32x48', 32, 48, 5, 1, 'relu'],
  ['5x5 s2 64x64x48', 64, 48, 5, 2, 'relu'],
];
const ACT = {'': 0, relu: 1, relu6: 2};

function rand(n) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; ++i) x[i] = Math.random() * 2 - 1;
  return x;
}
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const mins = new Map();
function time(fn, calls, key) {
  const t = [];
  for (let i = 0; i < calls; ++i) {
    const s = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - s) * 1e-3);
  }
  if (key) mins.set(key, Math.min(mins.get(key) ?? Infinity, ...t));
  return median(t);
}

const rows = [];
for (const [name, H, C, F, S, act] of DW) {
  if (filter && !name.includes(filter)) continue;
  const OH = Math.ceil(H / S), pad = Math.max((OH - 1) * S + F - H, 0);
  const nx = H * H * C, ny = OH * OH * C;
  const xb = rand(nx + offset), yb = new Float32Array(ny + offset), w = rand(F * F * C), b = rand(C);
  const x = xb.subarray(offset), y = yb.subarray(offset, offset + ny), xsave = x.slice();
  const ws = w.map((v) => v / F);
  const dims = [1, H, H, C, OH, OH, 1, F, F, S, S, 1, 1, pad >> 1, pad >> 1];
  const call = (a, out) => a.depthwiseConv2d(x, w, out, dims, act ? b : null, ACT[act], 0, null);
  const calls = Math.max(10, Math.min(200, Math.round(2e5 / (ny * F * F / 1e3 + 1))));
  const res = {now: [], base: [], inplace: []};
  mins.clear();
  for (const a of [nat, base]) if (a) for (let i = 0; i < 5; ++i) call(a, y);
  for (let r = 0; r < rounds; ++r) {
    res.now.push(time(() => call(nat, y), calls, 'now'));
    if (base) res.base.push(time(() => call(base, y), calls, 'base'));
    if (inPlace) {
      // Repeated calls over x itself (the values drift; the weights are scaled so they stay
      // finite for a while, and the arithmetic costs the same either way).
      res.inplace.push(time(() => nat.depthwiseConv2d(x, ws, x, dims, act ? b : null, ACT[act], 0, null), calls, 'inplace'));
      x.set(xsave);
    }
  }
  const flop = 2 * ny * F * F;
  const us = median(res.now), gf = flop / us * 1e-3;
  const row = {case: name, 'µs': us.toFixed(1), 'GFLOP/s': gf.toFixed(1), '% peak': `${(100 * gf / peak).toFixed(0)}%`,
    'min µs': mins.get('now').toFixed(1)};
  if (base) {
    const bu = median(res.base);
    row['base µs'] = bu.toFixed(1);
    row['base GFLOP/s'] = (flop / bu * 1e-3).toFixed(1);
    row['base min µs'] = mins.get('base').toFixed(1);
    row.speedup = `${(bu / us).toFixed(2)}x`;
  }
  if (inPlace) {
    row['in place µs'] = median(res.inplace).toFixed(1);
    row['in place min µs'] = mins.get('inplace').toFixed(1);
  }
  rows.push(row);
}
const os = await import('node:os');
const fmaNow = fmaPeakNow();
console.log(`threads ${threads}, rounds ${rounds}, load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}, offset ${offset}, ` +
            `one-thread FMA peak measured now: ${fmaNow?.toFixed(1) ?? '?'} GFLOP/s (% peak: of ${peak})`);
console.table(rows);

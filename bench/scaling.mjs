// SPDX-License-Identifier: Apache-2.0
// Multi-core scaling of tf.matMul on the afterburner backend: GFLOP/s at 1, 2, 4, ... threads up
// to the physical cores (or --threads a,b,c), for --sizes (default 1024,2048,4096). Meant for the
// many-core machines (the 16-core Xeon); prints a table and, with --json, one JSON line.
import * as tf from '@tensorflow/tfjs-core';
import * as ab from '../dist/esm/index.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const info = ab.info();
const maxT = info.physicalCores;
const threads = arg('--threads', null)?.split(',').map(Number) ??
    [1, 2, 4, 8, 16, 32, 64].filter((t) => t <= maxT).concat(maxT & (maxT - 1) ? [maxT] : []);
const sizes = arg('--sizes', '1024,2048,4096').split(',').map(Number);
const minTime = Number(arg('--seconds', '0.5'));

console.log(`afterburner ${info.version} | ISA ${info.isa.current} (supported: ${info.isa.supported.join(' ')}) | ` +
            `physical cores ${maxT} | ${info.gemm}`);
const rows = [];
for (const n of sizes) {
  const a = tf.randomUniform([n, n], -1, 1), b = tf.randomUniform([n, n], -1, 1);
  const line = [`${n}³`.padEnd(8)];
  for (const t of threads) {
    ab.setNumThreads(t);
    tf.matMul(a, b).dispose();  // warm-up: pool, packing buffers
    let best = Infinity, total = 0, reps = 0;
    while (total < minTime || reps < 3) {
      const t0 = process.hrtime.bigint();
      const c = tf.matMul(a, b);
      c.dataSync();
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      c.dispose();
      best = Math.min(best, dt);
      total += dt;
      reps++;
    }
    const gflops = 2 * n ** 3 / best / 1e9;
    rows.push({n, threads: t, gflops});
    line.push(`${t}t ${gflops.toFixed(0).padStart(6)}`);
  }
  console.log(line.join('  '));
  tf.dispose([a, b]);
}
if (process.argv.includes('--json')) console.log(JSON.stringify({info, rows}));

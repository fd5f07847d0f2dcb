// SPDX-License-Identifier: Apache-2.0
// Prepacking through tfjs ops (cache lookup included): tf.matMul / tf.conv2d with a weight used
// again, with AFTERBURNER_PREPACK_MB=0 semantics (budget 0: never packed) against the default.
// node bench/prepack.mjs [--threads 1] [--seconds 0.5]. Best of >= 3 runs, GFLOP/s.
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
await tf.setBackend('afterburner');
ab.setNumThreads(Number(arg('--threads', '1')));
const budget = Number(arg('--seconds', '0.5'));
const cache = tf.backend().weightCache;

function best(fn) {
  fn();
  fn();
  let b = Infinity, spent = 0, reps = 0;
  while (reps < 3 || spent < budget) {
    const t = process.hrtime.bigint();
    tf.dispose(fn());
    const s = Number(process.hrtime.bigint() - t) * 1e-9;
    b = Math.min(b, s);
    spent += s;
    if (++reps > 5000) break;
  }
  return b;
}
const rows = [];
const cases = [
  ['dense [1,1024]x[1024,1024]', [1, 1024], [1024, 1024], (x, w) => tf.matMul(x, w), 2 * 1024 * 1024],
  ['dense [8,512]x[512,2048]', [8, 512], [512, 2048], (x, w) => tf.matMul(x, w), 2 * 8 * 512 * 2048],
  ['dense [32,1024]x[1024,1024]', [32, 1024], [1024, 1024], (x, w) => tf.matMul(x, w), 2 * 32 * 1024 * 1024],
  ['dense [8,768]x[768,3072] relu', [8, 768], [768, 3072],
   (x, w) => tf.fused.matMul({a: x, b: w, activation: 'relu'}), 2 * 8 * 768 * 3072],
  ['conv 3x3 64->64 56x56', [1, 56, 56, 64], [3, 3, 64, 64], (x, w) => tf.conv2d(x, w, 1, 'same'), 2 * 56 * 56 * 64 * 576],
  ['conv 3x3 256->256 7x7', [1, 7, 7, 256], [3, 3, 256, 256], (x, w) => tf.conv2d(x, w, 1, 'same'), 2 * 49 * 256 * 2304],
  ['conv 1x1 512->512 7x7', [1, 7, 7, 512], [1, 1, 512, 512], (x, w) => tf.conv2d(x, w, 1, 'valid'), 2 * 49 * 512 * 512],
];
for (const [name, xs, ws, op, flop] of cases) {
  const x = tf.randomUniform(xs), w = tf.randomUniform(ws);
  cache.budgetBytes = 0;
  const off = best(() => op(x, w));
  cache.budgetBytes = 1 << 30;
  const on = best(() => op(x, w));
  rows.push({case: name, 'per call (GFLOP/s)': (flop / off * 1e-9).toFixed(1), 'prepacked (GFLOP/s)': (flop / on * 1e-9).toFixed(1),
             speedup: (off / on).toFixed(2)});
  tf.dispose([x, w]);
}
console.table(rows);
console.log('prepack stats after disposing everything:', ab.prepackStats());

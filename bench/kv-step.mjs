#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// A decoder-like step with a KV cache, compiled with and without donated state (issue 4: state
// buffers updated in place across calls): per step, write k at position t of a [T, D] cache with
// ab.updateSlice, then read the cache (q · cacheᵀ). Without donate each call copies the cache in
// and the new cache out (O(T·D)); with donate only the new row moves.
//   node bench/kv-step.mjs [--T 2048] [--D 1024] [--steps 200]
import * as tf from '@tensorflow/tfjs-core';
import * as ab from '../dist/esm/index.js';

const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const T = arg('T', 2048), D = arg('D', 1024), steps = arg('steps', 200);
await tf.setBackend('afterburner');
ab.setNumThreads(1);
const wk = tf.randomNormal([D, D], 0, 0.05), wq = tf.randomNormal([D, D], 0, 0.05);
const step = (x, pos, cache) => {
  const next = ab.updateSlice(cache, tf.matMul(x, wk), pos);
  return {y: tf.matMul(tf.matMul(x, wq), next, false, true), cache: next};
};
const results = {};
for (const [name, opts] of [['copy', {}], ['donate', {donate: [2]}]]) {
  const c = ab.compile(step, opts);
  let cache = tf.zeros([T, D]);
  const x = tf.randomNormal([1, D]);
  const times = [];
  for (let t = 0; t < steps; ++t) {
    const pos = tf.tensor1d([t % T, 0], 'int32');
    const t0 = performance.now();
    const out = c(x, pos, cache);
    out.y.dataSync();
    times.push(performance.now() - t0);
    if (!cache.isDisposed) cache.dispose();
    cache = out.cache;
    tf.dispose([pos, out.y]);
  }
  times.sort((a, b) => a - b);
  results[name] = times[times.length >> 1];
  tf.dispose([cache, x]);
  c.dispose();
}
const mb = (T * D * 4) / 2 ** 20;
console.log(`kv-step: cache [${T}, ${D}] (${mb.toFixed(1)} MiB), ${steps} steps, one thread, median ms a step`);
console.log(`  copy (no donate): ${results.copy.toFixed(3)} ms   donate: ${results.donate.toFixed(3)} ms   ${(results.copy / results.donate).toFixed(2)}x`);

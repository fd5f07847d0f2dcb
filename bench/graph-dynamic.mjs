// SPDX-License-Identifier: Apache-2.0
// Graph mode with a new input shape (issue 4 point 4): the time of the first call at a batch size
// the compiled object has not seen, traced (trace + passes + plan + the run; dynamic: false) vs
// instantiated from the generic graph (plan + the run), next to a call of an existing plan at that
// size (the run alone). Each compiled object first sees batch 2 and 3 (two traces: the fit), then
// new sizes 4..4+reps-1 one after another; medians over those. One process, one thread.
//   node bench/graph-dynamic.mjs [--threads N] [--reps 5] [--models a,b,...]
import {createRequire} from 'node:module';
import {performance} from 'node:perf_hooks';

import {inputBatch, loadModel, modelById} from '../test/lib/models.mjs';

const require = createRequire(import.meta.url);
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
ab.setNumThreads(Number(arg('threads', 1)));
const REPS = Number(arg('reps', 5));
const MODELS = arg('models', 'emotion,nsfw-mobilenetv2mid,nsfw-mobilenetv2,transformer').split(',');
await tf.setBackend('afterburner');

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const ms = (x) => x.toFixed(x < 10 ? 2 : 1);

/** A transformer encoder block (D 256, 4 heads, FFN 1024) over x [B, 64, 256], written with tfjs ops. */
function transformer() {
  const D = 256, H = 4, dh = D / H, T = 64;
  const r = (shape) => tf.randomNormal(shape, 0, 0.05, 'float32', 1);
  const W = {q: r([D, D]), k: r([D, D]), v: r([D, D]), o: r([D, D]), w1: r([D, 4 * D]), b1: r([4 * D]), w2: r([4 * D, D]), b2: r([D])};
  const ln = (x) => {
    const {mean, variance} = tf.moments(x, -1, true);
    return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
  };
  const fn = (x) => {
    const [B, S] = x.shape;
    const split = (t) => tf.transpose(tf.reshape(t, [B, S, H, dh]), [0, 2, 1, 3]);
    const q = split(tf.matMul(x, W.q)), k = split(tf.matMul(x, W.k)), v = split(tf.matMul(x, W.v));
    const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)));
    const o = tf.matMul(tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [B, S, D]), W.o);
    const h = ln(tf.add(x, o));
    const ff = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(tf.reshape(h, [B * S, D]), W.w1), W.b1)), W.w2), W.b2);
    return ln(tf.add(h, tf.reshape(ff, [B, S, D])));
  };
  return {target: fn, input: (n) => tf.randomNormal([n, T, D]), call: (c, x) => c(x), what: 'fn, x [B,64,256]'};
}

async function load(id) {
  if (id === 'transformer') return transformer();
  const m = modelById(id);
  const loaded = await loadModel(m);
  const input = (n) => {
    const b = inputBatch(m, n);
    return tf.tensor(b.data, b.shape, b.dtype);
  };
  const call = loaded.kind === 'layers' ? (c, x) => c.predict(x) : (c, x) => c.execute(x);
  return {target: loaded.model, input, call, what: `${loaded.kind} ${m.input.h}x${m.input.w}x${m.input.c}`};
}

const timed = (f) => {
  const t0 = performance.now();
  const y = f();
  tf.dispose(y);
  return performance.now() - t0;
};

for (const id of MODELS) {
  const {target, input, call, what} = await load(id);
  const sizes = Array.from({length: REPS}, (_, i) => 4 + i);
  const xs = new Map([2, 3, ...sizes].map((n) => [n, input(n)]));
  const res = {};
  for (const mode of ['traced', 'instantiated']) {
    const c = ab.compile(target, {dynamic: mode === 'instantiated'});
    for (const n of [2, 3]) for (let i = 0; i < 2; ++i) tf.dispose(call(c, xs.get(n)));
    const first = [], again = [], plan = [];
    for (const n of sizes) {
      first.push(timed(() => call(c, xs.get(n))));
      plan.push(c.summary().shapes.planMs);
      timed(() => call(c, xs.get(n)));  // the arena run
      again.push(Math.min(...[0, 1, 2].map(() => timed(() => call(c, xs.get(n))))));
    }
    const s = c.summary();
    if (mode === 'instantiated' && s.shapes.instantiated !== REPS) throw new Error(`${id}: ${JSON.stringify(s.shapes)}`);
    res[mode] = {first: median(first), again: median(again), plan: median(plan), nodes: s.nodes};
    c.dispose();
  }
  tf.dispose([...xs.values()]);
  const r = {id, what, nodes: res.traced.nodes, traced: res.traced.first, inst: res.instantiated.first,
             tracePlan: res.traced.plan, instPlan: res.instantiated.plan, run: Math.min(res.traced.again, res.instantiated.again)};
  console.log(`${id.padEnd(20)} ${what.padEnd(22)} ${String(r.nodes).padStart(4)} nodes | first call at a new size: traced ${ms(r.traced).padStart(7)} ms ` +
              `(plan ${ms(r.tracePlan)}), instantiated ${ms(r.inst).padStart(7)} ms (plan ${ms(r.instPlan)}) = ${(r.traced / r.inst).toFixed(1)}x | ` +
              `later calls ${ms(r.run)} ms`);
}

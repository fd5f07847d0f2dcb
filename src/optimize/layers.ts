// SPDX-License-Identifier: Apache-2.0
// ab.optimize() for a tfjs-layers LayersModel (Sequential or functional), duck-typed: the model is
// rewritten through its config and weights (getConfig() + layer weights -> a transformed config
// and folded weights -> a new model built by the model's own class, `Ctor.fromConfig`), so the
// layers API the user loaded builds it, and the result serializes like any LayersModel.
//
// Rewrites (each checked first; anything else is left as it was and listed in the report):
// - Dropout-like layers (identities at inference) are removed.
// - BatchNormalization right after a Conv1D/Conv2D/DepthwiseConv2D/SeparableConv2D/Dense with a
//   linear activation, whose output only it reads, is folded into that layer's kernel and bias.
// - An activation layer right after such a layer (linear activation, output read only by it)
//   becomes that layer's `activation`.
// - A ZeroPadding2D that makes a VALID convolution after it pad exactly as 'same' would (at the
//   model's fixed input size) goes, and the convolution pads 'same'.
import {Tensor, tensor as makeTensor} from '@tensorflow/tfjs-core';

import {affineBias, allFinite, batchNormAffine, ChannelLayout, outChannels, scaleWeight} from './fold';
import {routedLayers, routeToFusedKernels} from './fused-calls';
import {cpuFallback, layerKernels} from './kernels';
import type {OptimizationReport, ResolvedOptions} from './types';
import {applyWeightPasses, WeightRef} from './weights';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Config = Record<string, any>;

interface LayerVariableLike {
  name: string;
  originalName?: string;
  shape: number[];
  read(): Tensor;
  dispose(): void;
}
interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Config;
  getWeights(): Tensor[];
  setWeights(w: Tensor[]): void;
  weights: LayerVariableLike[];
  outputShape: unknown;
}
export interface LayersModelLike {
  layers: LayerLike[];
  getLayer(name: string): LayerLike;
  getConfig(): Config;
  getClassName(): string;
  predict(...args: unknown[]): unknown;
  dispose(): unknown;
  getUserDefinedMetadata?(): unknown;
  setUserDefinedMetadata?(m: unknown): void;
}
type LayersModelClass = {fromConfig(cls: unknown, config: Config, customObjects?: unknown, fastWeightInit?: boolean): LayersModelLike};

export function isLayersModel(m: any): m is LayersModelLike {
  return m != null && typeof m === 'object' && Array.isArray(m.layers) && typeof m.getConfig === 'function' &&
      typeof m.getLayer === 'function' && typeof m.predict === 'function' &&
      typeof m.constructor?.fromConfig === 'function';
}

/** A tensor produced by a layer call: (layer name, its inbound node, output index). */
interface Ref {
  layer: string;
  node: number;
  tensor: number;
}
interface InboundNode {
  refs: Ref[];
  kwargs: Config[];
}
/** One layer of the model being rewritten. */
interface LNode {
  name: string;
  /** The name in the original model (weights are read from there). */
  origName: string;
  className: string;
  config: Config;
  inbound: InboundNode[];
  removed: boolean;
  /** Replacement weights by role (kernel, bias, ...), set when folding changed them. */
  newWeights: Map<string, {data: Float32Array; shape: number[]}>|null;
}

const INPUT = '\u0000input';  // the Sequential model's input, as a ref target
const DROPOUT_CLASSES = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D',
  'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);
/** Layers a BatchNormalization can fold into: their kernel role(s) and the kernel's channel layout. */
const FOLD_TARGETS: Record<string, {kernel: string; layout: ChannelLayout}> = {
  Conv1D: {kernel: 'kernel', layout: 'last'},
  Conv2D: {kernel: 'kernel', layout: 'last'},
  Dense: {kernel: 'kernel', layout: 'last'},
  DepthwiseConv2D: {kernel: 'depthwise_kernel', layout: 'depthwise'},
  SeparableConv2D: {kernel: 'pointwise_kernel', layout: 'last'},
};
/** Layers whose `activation` is applied last in their call (an activation layer after them can move in). */
const ACTIVATION_TARGETS = new Set(['Conv1D', 'Conv2D', 'Conv2DTranspose', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense']);
const WEIGHT_ROLE = /(depthwise_kernel|pointwise_kernel|kernel|bias|gamma|beta|moving_mean|moving_variance)(_\d+)?$/;

function roleOf(v: LayerVariableLike): string|null {
  const m = WEIGHT_ROLE.exec(v.originalName ?? v.name);
  return m ? m[1] : null;
}

class Rewriter {
  nodes: LNode[] = [];
  byName = new Map<string, LNode>();
  outputs: Ref[] = [];
  constructor(
      readonly model: LayersModelLike, readonly sequential: boolean, readonly report: OptimizationReport) {}

  leave(n: LNode, reason: string): void {
    this.report.leftAlone.push({name: n.name, op: n.className, reason});
  }
  live(): LNode[] {
    return this.nodes.filter((n) => !n.removed);
  }
  /** How many times the tensor (layer, node, tensor) is read: by layer calls and as a model output. */
  uses(layer: string, node = 0, tensor = 0): {calls: number; output: boolean} {
    let calls = 0;
    for (const n of this.live()) {
      for (const ib of n.inbound) {
        for (const r of ib.refs) if (r.layer === layer && r.node === node && r.tensor === tensor) calls++;
      }
    }
    const output = this.outputs.some((r) => r.layer === layer && r.node === node && r.tensor === tensor);
    return {calls, output};
  }
  /** Every ref to (from, node k, 0) now points at `to[k]`. */
  redirect(from: string, to: Ref[]): void {
    const fix = (r: Ref): Ref => (r.layer === from ? {...to[r.node]} : r);
    for (const n of this.live()) for (const ib of n.inbound) ib.refs = ib.refs.map(fix);
    this.outputs = this.outputs.map(fix);
  }
  rename(n: LNode, name: string): void {
    this.byName.delete(n.name);
    n.name = name;
    n.config = {...n.config, name};
    this.byName.set(name, n);
  }
  /** The single producer feeding `n` (one call, one input, no call arguments), or null with a reason. */
  soleInput(n: LNode): {p: LNode|null; why: string} {
    if (n.inbound.length !== 1) return {p: null, why: 'is called more than once (shared layer)'};
    const ib = n.inbound[0];
    if (ib.refs.length !== 1) return {p: null, why: 'has more than one input'};
    if (ib.kwargs.some((k) => k != null && Object.keys(k).length > 0)) return {p: null, why: 'is called with arguments'};
    const r = ib.refs[0];
    const p = this.byName.get(r.layer);
    if (p == null || p.removed) return {p: null, why: 'reads a model input'};
    if (p.inbound.length !== 1 || r.node !== 0 || r.tensor !== 0) return {p: null, why: `its input layer '${p.name}' is shared`};
    const u = this.uses(p.name);
    if (u.calls !== 1 || u.output) return {p: null, why: `the output of '${p.name}' has other consumers`};
    return {p, why: ''};
  }
  /** `n` (read only through its node 0) disappears; `p`, which fed only it, takes its place. */
  absorb(p: LNode, n: LNode): void {
    n.removed = true;
    if (this.uses(n.name).output) {
      this.rename(p, n.name);  // keep the model's output names
    } else {
      this.redirect(n.name, [{layer: p.name, node: 0, tensor: 0}]);
    }
  }

  /** Current weights of a layer by role (folded values if any, else the original's). */
  weightsOf(n: LNode): Map<string, {data: Float32Array; shape: number[]}>|null {
    if (n.newWeights) return n.newWeights;
    const layer = this.model.getLayer(n.origName);
    const out = new Map<string, {data: Float32Array; shape: number[]}>();
    for (const v of layer.weights) {
      const role = roleOf(v);
      if (role == null || out.has(role)) return null;
      const t = v.read();
      if (t.dtype !== 'float32') return null;
      out.set(role, {data: t.dataSync() as Float32Array, shape: t.shape.slice()});
    }
    return out;
  }

  removeDropouts(): void {
    for (const d of this.live()) {
      if (!DROPOUT_CLASSES.has(d.className)) continue;
      if (d.inbound.some((ib) => ib.kwargs.some((k) => k != null && Object.keys(k).length > 0))) {
        this.leave(d, 'is called with arguments (e.g. training: true), so it may not be an identity');
        continue;
      }
      if (d.inbound.some((ib) => ib.refs.length !== 1)) {
        this.leave(d, 'has more than one input');
        continue;
      }
      if (d.inbound.some((_, k) => this.uses(d.name, k).output)) {
        this.leave(d, 'is a model output');
        continue;
      }
      if (this.sequential && !this.moveInputShape(d)) {
        this.leave(d, 'carries the model input shape');
        continue;
      }
      d.removed = true;
      this.redirect(d.name, d.inbound.map((ib) => ib.refs[0]));
      this.report.dropoutsRemoved++;
    }
  }

  /**
   * ZeroPadding2D read only by a VALID Conv2D/DepthwiseConv2D whose padding it makes equal to
   * 'same' at the model's fixed input size (Keras' MobileNet "correct_pad" is exactly that): the
   * padding layer goes and the convolution pads 'same' (no separate copy of the input).
   */
  foldZeroPadding(): void {
    for (const z of this.live()) {
      if (z.className !== 'ZeroPadding2D') continue;
      const c = this.live().find((n) => n.inbound.some((ib) => ib.refs.some((r) => r.layer === z.name)));
      if (c == null || (c.className !== 'Conv2D' && c.className !== 'DepthwiseConv2D')) continue;
      const why = this.zeroPaddingProblem(z, c);
      if (why) {
        this.leave(z, `not folded into '${c.name}': ${why}`);
        continue;
      }
      if (this.sequential && !this.moveInputShape(z)) {
        this.leave(z, 'carries the model input shape');
        continue;
      }
      z.removed = true;
      this.redirect(z.name, [z.inbound[0].refs[0]]);
      c.config = {...c.config, padding: 'same'};
      this.report.padsFused++;
    }
  }
  zeroPaddingProblem(z: LNode, c: LNode): string|null {
    if (z.inbound.length !== 1 || z.inbound[0].refs.length !== 1) return 'it is shared or has several inputs';
    const u = this.uses(z.name);
    if (u.calls !== 1 || u.output) return 'its output has other readers';
    if (c.inbound.length !== 1 || c.inbound[0].refs.length !== 1) return 'the convolution is shared';
    if (c.inbound[0].kwargs.some((k) => k != null && Object.keys(k).length > 0)) return 'the convolution is called with arguments';
    if (c.config.padding !== 'valid') return `the convolution pads '${c.config.padding}'`;
    if ((z.config.dataFormat ?? 'channelsLast') !== 'channelsLast' || (c.config.dataFormat ?? 'channelsLast') !== 'channelsLast') {
      return 'not channelsLast';
    }
    const pad = z.config.padding;
    if (!Array.isArray(pad) || pad.length !== 2 || !pad.every((p: unknown) => Array.isArray(p) && p.length === 2)) {
      return 'unexpected padding config';
    }
    let shape: unknown;
    try {
      shape = (this.model.getLayer(z.origName) as unknown as {input: {shape: unknown}}).input.shape;
    } catch {
      shape = null;
    }
    if (!Array.isArray(shape) || shape.length !== 4 || typeof shape[1] !== 'number' || typeof shape[2] !== 'number') {
      return 'the input height and width are not fixed';
    }
    const k: number[] = c.config.kernelSize;
    const st: number[] = c.config.strides ?? [1, 1];
    // tfjs-layers' DepthwiseConv2D ignores its dilation; Conv2D uses it.
    const dil: number[] = c.className === 'Conv2D' ? (c.config.dilationRate ?? [1, 1]) : [1, 1];
    for (let d = 0; d < 2; d++) {
      const size = shape[1 + d] as number;
      const eff = (k[d] - 1) * dil[d] + 1;
      const total = Math.max(0, (Math.ceil(size / st[d]) - 1) * st[d] + eff - size);
      const before = Math.floor(total / 2);
      if (pad[d][0] !== before || pad[d][1] !== total - before) return `its padding is not 'same' for input ${shape.slice(1, 3)}`;
    }
    return null;
  }
  /** Sequential: a removed first layer's input shape moves to the next layer; false if it cannot. */
  moveInputShape(d: LNode): boolean {
    const shapeKeys = ['batchInputShape', 'inputShape', 'inputDim', 'dtype'];
    if (d.inbound[0].refs[0].layer !== INPUT || !shapeKeys.some((k) => d.config[k] != null)) return true;
    const next = this.nodes.slice(this.nodes.indexOf(d) + 1).find((n) => !n.removed);
    if (next == null || shapeKeys.some((k) => next.config[k] != null)) return false;
    next.config = {...next.config};
    for (const k of shapeKeys) if (d.config[k] != null) next.config[k] = d.config[k];
    return true;
  }

  foldBatchNorms(): void {
    for (const bn of this.live()) {
      if (bn.className !== 'BatchNormalization') continue;
      const {p, why} = this.soleInput(bn);
      if (p == null) {
        this.leave(bn, `not folded: it ${why}`);
        continue;
      }
      const target = FOLD_TARGETS[p.className];
      if (target == null) {
        this.leave(bn, `not folded: follows a ${p.className}`);
        continue;
      }
      if ((p.config.activation ?? 'linear') !== 'linear') {
        this.leave(bn, `not folded: '${p.name}' has activation ${JSON.stringify(p.config.activation)}`);
        continue;
      }
      // The channel axis of p's output must be the BatchNormalization's axis.
      const outShape = this.model.getLayer(p.origName).outputShape;
      const rank = Array.isArray(outShape) && !Array.isArray(outShape[0]) ? outShape.length : -1;
      let axis = bn.config.axis;
      if (Array.isArray(axis) && axis.length === 1) axis = axis[0];
      if (rank < 2 || typeof axis !== 'number') {
        this.leave(bn, 'not folded: unknown output rank or axis');
        continue;
      }
      if (axis < 0) axis += rank;
      const channelsFirst = p.config.dataFormat === 'channelsFirst';
      if (p.className === 'Dense' ? axis !== rank - 1 : axis !== (channelsFirst ? 1 : rank - 1)) {
        this.leave(bn, `not folded: axis ${bn.config.axis} is not the channel axis of '${p.name}'`);
        continue;
      }
      const pw = this.weightsOf(p);
      const bw = this.weightsOf(bn);
      const kernel = pw?.get(target.kernel);
      if (pw == null || bw == null || kernel == null || !bw.has('moving_mean') || !bw.has('moving_variance')) {
        this.leave(bn, 'not folded: unrecognized weights');
        continue;
      }
      const n = outChannels(kernel.shape, target.layout);
      const mean = bw.get('moving_mean')!.data;
      const gamma = bw.get('gamma')?.data ?? null;
      const beta = bw.get('beta')?.data ?? null;
      if (mean.length !== n || (gamma && gamma.length !== n) || (beta && beta.length !== n)) {
        this.leave(bn, `not folded: ${mean.length} channels, '${p.name}' has ${n}`);
        continue;
      }
      const eps = typeof bn.config.epsilon === 'number' ? bn.config.epsilon : 1e-3;
      const {scale, shift} = batchNormAffine(mean, bw.get('moving_variance')!.data, gamma, beta, eps);
      if (!allFinite(scale) || !allFinite(shift)) {
        this.leave(bn, 'not folded: non-finite scale (variance + epsilon <= 0 or Inf/NaN parameters)');
        continue;
      }
      const folded = new Map(pw);
      folded.set(target.kernel, {data: scaleWeight(kernel.data, kernel.shape, target.layout, scale), shape: kernel.shape});
      folded.set('bias', {data: affineBias(pw.get('bias')?.data ?? null, scale, shift, n), shape: [n]});
      p.newWeights = folded;
      p.config = {...p.config, useBias: true};
      this.absorb(p, bn);
      this.report.batchNormsFolded++;
    }
  }

  fuseActivations(): void {
    for (const a of this.live()) {
      const act = activationOf(a);
      if (act === undefined) continue;
      if (act === null) {
        this.leave(a, 'not fused: no layer activation computes it');
        continue;
      }
      const {p, why} = this.soleInput(a);
      if (p == null) {
        this.leave(a, `not fused: it ${why}`);
        continue;
      }
      if (!ACTIVATION_TARGETS.has(p.className)) continue;  // an activation after anything else is normal
      if ((p.config.activation ?? 'linear') !== 'linear') {
        this.leave(a, `not fused: '${p.name}' already has activation ${JSON.stringify(p.config.activation)}`);
        continue;
      }
      p.config = {...p.config, activation: act};
      this.absorb(p, a);
      this.report.activationsFused++;
    }
  }
}

/**
 * The layer activation that computes activation layer `n` exactly: a name, null if `n` is an
 * activation layer no layer activation matches, undefined if `n` is not an activation layer.
 */
function activationOf(n: LNode): string|null|undefined {
  const c = n.config;
  switch (n.className) {
    case 'Activation':
      return typeof c.activation === 'string' ? c.activation : null;
    case 'ReLU':
      // tfjs-layers: relu, then clipByValue(0, maxValue); 'relu6' is min(relu(x), 6): equal.
      if ((c.negativeSlope ?? 0) !== 0 || (c.threshold ?? 0) !== 0) return null;
      return c.maxValue == null ? 'relu' : c.maxValue === 6 ? 'relu6' : null;
    case 'ELU':
      return (c.alpha ?? 1) === 1 ? 'elu' : null;
    case 'Softmax':
      return (c.axis ?? -1) === -1 ? 'softmax' : null;
    case 'LeakyReLU':
      return null;
    default:
      return undefined;
  }
}

/** Constraints are re-applied when weights are written: folded weights must not be clipped. */
function dropConstraints(config: Config): Config {
  const out = {...config};
  for (const k of Object.keys(out)) if (k.endsWith('Constraint')) out[k] = null;
  return out;
}

function readGraph(rw: Rewriter, config: Config): void {
  const add = (n: LNode) => {
    rw.nodes.push(n);
    rw.byName.set(n.name, n);
  };
  if (rw.sequential) {
    const layers: Config[] = Array.isArray(config) ? config : config.layers;
    let prev: Ref = {layer: INPUT, node: 0, tensor: 0};
    for (const l of layers) {
      const name = l.config.name;
      add({name, origName: name, className: l.className, config: l.config, removed: false, newWeights: null,
        inbound: [{refs: [prev], kwargs: [{}]}]});
      prev = {layer: name, node: 0, tensor: 0};
    }
    rw.outputs = [prev];
  } else {
    for (const l of config.layers) {
      const inbound = (l.inboundNodes as unknown[][][]).map((node) => ({
        refs: node.map((e) => ({layer: e[0] as string, node: e[1] as number, tensor: e[2] as number})),
        kwargs: node.map((e) => (e[3] ?? {}) as Config),
      }));
      add({name: l.name, origName: l.name, className: l.className, config: l.config, removed: false, newWeights: null, inbound});
    }
    rw.outputs = (config.outputLayers as unknown[][]).map((e) => ({layer: e[0] as string, node: e[1] as number, tensor: e[2] as number}));
  }
}

function writeConfig(rw: Rewriter, config: Config): Config {
  const live = rw.live();
  const cfg = (n: LNode) => (n.newWeights ? dropConstraints(n.config) : n.config);
  if (rw.sequential) {
    const layers = live.map((n) => ({className: n.className, config: cfg(n)}));
    return Array.isArray(config) ? layers : {...config, layers};
  }
  return {
    ...config,
    layers: live.map((n) => ({
      name: n.name,
      className: n.className,
      config: cfg(n),
      inboundNodes: n.inbound.map((ib) => ib.refs.map((r, i) => [r.layer, r.node, r.tensor, ib.kwargs[i]])),
    })),
    outputLayers: rw.outputs.map((r) => [r.layer, r.node, r.tensor]),
  };
}

/** The weights of the rebuilt layer `layer`, in its own order. */
function weightsFor(rw: Rewriter, layer: LayerLike, created: Tensor[]): Tensor[] {
  const n = rw.byName.get(layer.name);
  if (n == null) throw new Error(`afterburner: optimize: rebuilt layer '${layer.name}' is not in the rewritten config`);
  if (n.newWeights == null) return rw.model.getLayer(n.origName).getWeights();
  return layer.weights.map((v) => {
    const role = roleOf(v);
    const w = role == null ? undefined : n.newWeights!.get(role);
    if (w == null) throw new Error(`afterburner: optimize: no folded value for weight '${v.name}' of '${layer.name}'`);
    const t = makeTensor(w.data, w.shape, 'float32');
    created.push(t);
    return t;
  });
}

/** What a weight pass gets from a layer: its conv filters / dense kernels. */
function collectWeights(model: LayersModelLike): WeightRef[] {
  const out: WeightRef[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    for (const v of layer.weights) {
      const role = roleOf(v);
      let kind: WeightRef['kind']|null = null;
      if (cls === 'Conv2D' && role === 'kernel') kind = 'conv2d';
      else if (cls === 'SeparableConv2D' && role === 'pointwise_kernel') kind = 'conv2d';
      else if ((cls === 'DepthwiseConv2D' || cls === 'SeparableConv2D') && role === 'depthwise_kernel') kind = 'depthwiseConv2d';
      else if (cls === 'Dense' && role === 'kernel') kind = 'matmul';
      if (kind) {
        const val = v.read();
        // bf16 marks data: give the optimized model's variable data of its own (the copy shares it with the original)
        const own = (): Tensor => {
          const c = makeTensor(val.dataSync().slice(), val.shape, val.dtype);
          (val as unknown as {assign(t: Tensor): void}).assign(c);
          c.dispose();
          return val;
        };
        out.push({name: layer.name, kind, shape: v.shape.slice(), tensor: val, own});
      }
    }
  }
  return out;
}

function reportKernels(model: LayersModelLike, report: OptimizationReport): void {
  const kernels: string[] = [];
  const unknown = new Set<string>();
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const routed = routedLayers.get(layer);
    const k = routed ? [routed] : layerKernels(cls, layer.getConfig());
    if (k == null) unknown.add(cls);
    else kernels.push(...k);
  }
  report.cpuFallback = cpuFallback(kernels);
  report.unknownKernels = [...unknown].sort();
}

/** Own properties of a LayersModel that tie it to its surroundings (kept when its contents are replaced). */
const IDENTITY_KEYS = new Set(['id', 'inboundNodes', 'outboundNodes', '_refCount', 'optimizationReport']);

/** Makes `target` (the user's model object) the rebuilt model `src`: same class, src's state. */
function transplant(target: LayersModelLike, src: LayersModelLike): void {
  const t = target as unknown as Record<string, unknown>;
  const s = src as unknown as Record<string, unknown>;
  for (const k of Object.keys(t)) if (!IDENTITY_KEYS.has(k) && !(k in s)) delete t[k];
  for (const k of Object.keys(s)) if (!IDENTITY_KEYS.has(k)) t[k] = s[k];
}

/** Builds the rewritten config with the model's own class and gives it its (folded) weights. */
function rebuild(model: LayersModelLike, rw: Rewriter, config: Config): LayersModelLike {
  const Ctor = model.constructor as unknown as LayersModelClass;
  const built = Ctor.fromConfig(Ctor, writeConfig(rw, config), {}, true);
  const created: Tensor[] = [];
  try {
    for (const layer of built.layers) {
      const w = weightsFor(rw, layer, created);
      if (w.length !== layer.weights.length) {
        throw new Error(`afterburner: optimize: layer '${layer.name}' has ${layer.weights.length} weights, got ${w.length}`);
      }
      if (w.length > 0) layer.setWeights(w);
    }
  } catch (e) {
    built.dispose();
    throw e;
  } finally {
    for (const t of created) t.dispose();  // the variables keep their own reference to the data
  }
  const meta = model.getUserDefinedMetadata?.();
  if (meta != null) built.setUserDefinedMetadata?.(meta);
  return built;
}

/** Rewrites a LayersModel; returns the optimized model (a new one, or `model` itself when inplace). */
export function optimizeLayersModel(model: LayersModelLike, options: ResolvedOptions, report: OptimizationReport): LayersModelLike {
  const sequential = model.getClassName() === 'Sequential';
  // The model's tensors must come from this tfjs-core (the folded weights are made with it).
  for (const layer of model.layers) {
    for (const v of layer.weights) {
      if (!(v.read() instanceof Tensor)) {
        throw new Error('afterburner: optimize: the model was built with another copy of @tensorflow/tfjs-core ' +
            'than afterburner uses; install one copy (npm dedupe)');
      }
    }
  }
  const compiled = (model as unknown as {optimizer?: unknown}).optimizer != null;
  const config = model.getConfig();
  const rw = new Rewriter(model, sequential, report);
  readGraph(rw, config);
  for (const n of rw.nodes) {
    if (n.className === 'Sequential' || n.className === 'Model' || n.className === 'Functional') {
      rw.leave(n, 'nested model: its layers are not optimized');
    }
  }
  if (options.removeDropout) rw.removeDropouts();
  if (options.fuseActivations) rw.foldZeroPadding();
  if (options.foldBatchNorm) rw.foldBatchNorms();
  if (options.fuseActivations) rw.fuseActivations();

  const rewritten = report.batchNormsFolded + report.activationsFused + report.dropoutsRemoved + report.padsFused > 0;
  let result: LayersModelLike;
  if (!rewritten && options.inplace) {
    result = model;  // nothing to rebuild
  } else {
    const built = rebuild(model, rw, config);
    if (options.inplace) {
      const old = model.layers.flatMap((l) => l.weights);
      transplant(model, built);
      for (const v of old) v.dispose();  // the rebuilt variables hold their own references
      result = model;
    } else {
      result = built;
    }
  }
  if (options.fuseActivations) report.fusedKernelLayers = routeToFusedKernels(result.layers);
  report.changed = rewritten || report.fusedKernelLayers > 0;
  if (rewritten && compiled) {
    report.notes.push('the model was compiled for training; the optimized one is not (it is for inference)');
  }
  applyWeightPasses(collectWeights(result), options, report);
  reportKernels(result, report);
  return result;
}

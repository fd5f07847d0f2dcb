// SPDX-License-Identifier: Apache-2.0
// ab.optimize() for a tfjs-converter GraphModel, duck-typed and pinned to tfjs-converter 4.22.0's
// executor internals: model.executor.graph.nodes (name, op, category, inputNames, inputs,
// children, inputParams, attrParams), graph.weights / outputs, executor.weightMap and
// executor.compiledMap. The structure is checked first; if it is not as expected the model is
// left unchanged and the report says so.
//
// Rewrites, on a producer P = Conv2D / DepthwiseConv2dNative / MatMul or their fused forms
// (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul) whose output only one node C reads:
// - C = FusedBatchNorm(V2/V3) with constant parameters, or Mul by a per-channel constant, and P
//   has no activation: folded into P's filter and bias (float64, rounded once).
// - C = BiasAdd / Add / AddV2 of a per-channel constant and P has no activation: P's bias.
// - C = Relu / Relu6 / Elu / Sigmoid / LeakyRelu / Prelu and P has none: P's activation; after a
//   relu, Minimum(6) makes it relu6 and Maximum(0) is dropped.
// The rewritten P takes C's name (C's readers and the model's output names stay valid).
// A zero Pad of height/width read only by a VALID convolution becomes its explicit padding.
// Identity nodes that are not model outputs are removed (not in graphs with control flow).
import {Tensor, tensor as makeTensor} from '@tensorflow/tfjs-core';

import {affineBias, allFinite, batchNormAffine, ChannelLayout, outChannels, perChannel, scaleWeight} from './fold';
import {cpuFallback, graphOpKernels, registeredKernels} from './kernels';
import type {OptimizationReport, ResolvedOptions} from './types';
import {applyWeightPasses, WeightRef} from './weights';

/* eslint-disable @typescript-eslint/no-explicit-any */
interface Param {
  type: string;
  inputIndexStart?: number;
  inputIndexEnd?: number;
  value?: any;
}
interface GNode {
  name: string;
  op: string;
  category: string;
  inputNames: string[];
  inputs: GNode[];
  children: GNode[];
  inputParams: Record<string, Param>;
  attrParams: Record<string, Param>;
  signatureKey?: string;
  defaultOutput?: number;
}
interface GraphLike {
  nodes: Record<string, GNode>;
  inputs: GNode[];
  outputs: GNode[];
  weights: GNode[];
  functions?: Record<string, {nodes: Record<string, GNode>}>;
}
interface ExecutorLike {
  graph: GraphLike;
  weightMap: Record<string, Tensor[]>;
  compiledMap: Map<string, unknown>;
}
export interface GraphModelLike {
  executor: ExecutorLike;
  artifacts?: unknown;
  modelUrl?: unknown;
  loadOptions?: unknown;
  io?: unknown;
  execute(...args: unknown[]): unknown;
  executeAsync(...args: unknown[]): unknown;
  predict(...args: unknown[]): unknown;
  loadWithWeightMap?(artifacts: unknown, weightMap: Record<string, Tensor>): unknown;
}

export function isGraphModel(m: any): m is GraphModelLike {
  return m != null && typeof m === 'object' && typeof m.execute === 'function' &&
      typeof m.executeAsync === 'function' && m.executor != null && typeof m.executor === 'object' &&
      m.executor.graph != null;
}

/** Why the executor does not look like tfjs-converter 4.22.0's, or null if it does. */
function structureProblem(ex: any): string|null {
  if (!(ex.compiledMap instanceof Map)) return 'executor.compiledMap is not a Map';
  const wm = ex.weightMap;
  if (wm == null || typeof wm !== 'object') return 'executor.weightMap is missing';
  for (const k of Object.keys(wm)) {
    if (!Array.isArray(wm[k]) || !wm[k].every((t: unknown) => t instanceof Tensor)) {
      return `weight '${k}' is not an array of tensors from afterburner's @tensorflow/tfjs-core`;
    }
  }
  const g = ex.graph;
  if (g.nodes == null || !Array.isArray(g.outputs) || !Array.isArray(g.inputs) || !Array.isArray(g.weights)) {
    return 'graph.nodes/inputs/outputs/weights missing';
  }
  if (ex._outputs !== undefined && ex._outputs !== g.outputs) return 'executor outputs are not the graph\'s';
  for (const name of Object.keys(g.nodes)) {
    const n = g.nodes[name];
    if (n == null || n.name !== name || typeof n.op !== 'string' || !Array.isArray(n.inputNames) ||
        !Array.isArray(n.inputs) || !Array.isArray(n.children) || n.inputs.length !== n.inputNames.length ||
        typeof n.inputParams !== 'object' || typeof n.attrParams !== 'object') {
      return `node '${name}' does not have the expected fields`;
    }
    for (let i = 0; i < n.inputs.length; i++) {
      if (n.inputs[i] !== g.nodes[parseName(n.inputNames[i])[0]]) return `node '${name}': input ${i} does not match its name`;
    }
  }
  return null;
}

/** 'name:1' -> ['name', 1] (tfjs-converter's parseNodeName for the names it stores). */
function parseName(s: string): [string, number] {
  const parts = s.split(':');
  if (parts.length === 1) return [s, 0];
  return [parts[0], Number(parts[parts.length - 1])];
}

const CONTROL_FLOW = new Set(['Enter', 'Exit', 'Merge', 'Switch', 'NextIteration', 'LoopCond', 'If', 'StatelessIf',
  'While', 'StatelessWhile', 'LoopCond']);
const ACTIVATIONS: Record<string, string> =
    {Relu: 'relu', Relu6: 'relu6', Elu: 'elu', Sigmoid: 'sigmoid', LeakyRelu: 'leakyrelu', Prelu: 'prelu'};
const BATCH_NORMS = new Set(['FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3']);
const BIAS_ADDS = new Set(['BiasAdd', 'Add', 'AddV2']);
/** Convolutions whose executor takes explicit padding (tfjs-converter's getPadding). */
const CONV_PAD_OPS = new Set(['Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative']);
/** Plain producer op -> its fused op, and the producer kind. */
const PRODUCERS: Record<string, {fused: string; kind: 'conv'|'depthwise'|'matmul'}> = {
  Conv2D: {fused: '_FusedConv2D', kind: 'conv'},
  _FusedConv2D: {fused: '_FusedConv2D', kind: 'conv'},
  DepthwiseConv2dNative: {fused: 'FusedDepthwiseConv2dNative', kind: 'depthwise'},
  FusedDepthwiseConv2dNative: {fused: 'FusedDepthwiseConv2dNative', kind: 'depthwise'},
  MatMul: {fused: '_FusedMatMul', kind: 'matmul'},
  _FusedMatMul: {fused: '_FusedMatMul', kind: 'matmul'},
};

/** What a (plain or fused) producer computes after its conv/matmul. */
interface Epilogue {
  bias: GNode|null;
  activation: string;  // 'linear' when none
  prelu: GNode|null;
}

class GraphRewriter {
  readonly g: GraphLike;
  readonly wm: Record<string, Tensor[]>;
  readonly controlFlow: boolean;
  private seq = 0;
  constructor(readonly ex: ExecutorLike, readonly report: OptimizationReport) {
    this.g = ex.graph;
    this.wm = ex.weightMap;
    this.controlFlow = Object.values(this.g.nodes).some((n) => CONTROL_FLOW.has(n.op));
  }

  leave(n: GNode, reason: string): void {
    this.report.leftAlone.push({name: n.name, op: n.op, reason});
  }
  isOutput(n: GNode): boolean {
    return this.g.outputs.includes(n) || this.g.inputs.includes(n);
  }
  /** The float32 data of a plain constant (a weight with no inputs), or null. */
  constData(n: GNode|undefined): {data: Float32Array; shape: number[]}|null {
    if (n == null || n.op !== 'Const' || n.inputs.length !== 0) return null;
    const ts = this.wm[n.name];
    if (ts == null || ts.length !== 1 || ts[0].dtype !== 'float32') return null;
    return {data: ts[0].dataSync() as Float32Array, shape: ts[0].shape.slice()};
  }
  /** A new constant node holding `data`. */
  addConst(base: string, data: Float32Array, shape: number[]): GNode {
    let name: string;
    do name = `${base}/ab_folded_${this.seq++}`; while (this.g.nodes[name] != null || this.wm[name] != null);
    const n: GNode = {name, op: 'Const', category: 'graph', inputNames: [], inputs: [], children: [],
      inputParams: {}, attrParams: {dtype: {value: 'float32', type: 'dtype'}}};
    this.g.nodes[name] = n;
    this.g.weights.push(n);
    this.wm[name] = [makeTensor(data, shape, 'float32')];
    return n;
  }
  link(from: GNode, to: GNode): void {
    to.inputs.push(from);
    to.inputNames.push(from.name);
    from.children.push(to);
  }
  /** Drops one `child` from `n.children`; a constant nobody reads any more is deleted. */
  unlink(n: GNode, child: GNode): void {
    const i = n.children.indexOf(child);
    if (i >= 0) n.children.splice(i, 1);
    // (Function bodies of control flow v2 may name the main graph's constants: keep them all then.)
    if (n.children.length === 0 && n.op === 'Const' && n.inputs.length === 0 && !this.isOutput(n) &&
        Object.keys(this.g.functions ?? {}).length === 0) {
      delete this.g.nodes[n.name];
      const w = this.g.weights.indexOf(n);
      if (w >= 0) this.g.weights.splice(w, 1);
      const ts = this.wm[n.name];
      delete this.wm[n.name];
      // Tensors of a copy are ours; the caller's (inplace) are the model's to drop as well.
      if (ts) for (const t of ts) t.dispose();
    }
  }

  /** P's epilogue, or null if P is not a producer this pass understands. */
  epilogue(p: GNode): Epilogue|null {
    const spec = PRODUCERS[p.op];
    if (spec == null) return null;
    if (p.op === spec.fused) {
      const ops = p.attrParams.fusedOps?.value;
      if (!Array.isArray(ops) || ops.length > 2) return null;
      const bias = ops[0] === 'biasadd';
      if (!bias && ops[0] != null && ops[0] !== 'noop' && ops[0] !== '') return null;  // e.g. fusedbatchnorm
      const activation = ops[1] == null || ops[1] === '' ? 'linear' : String(ops[1]);
      const args = p.inputs.slice(2);
      const want = (bias ? 1 : 0) + (activation === 'prelu' ? 1 : 0);
      if (args.length !== want || p.attrParams.numArgs?.value !== (bias ? want : p.attrParams.numArgs?.value)) return null;
      return {bias: bias ? args[0] : null, activation, prelu: activation === 'prelu' ? args[args.length - 1] : null};
    }
    if (p.inputs.length !== 2) return null;  // control inputs, or not the plain op
    return {bias: null, activation: 'linear', prelu: null};
  }
  /** Output channels of P, its weight and the weight's channel layout, or null if the weight is not a constant. */
  channels(p: GNode): {n: number; w: {data: Float32Array; shape: number[]}; layout: ChannelLayout}|null {
    const spec = PRODUCERS[p.op];
    const w = this.constData(p.inputs[1]);
    if (w == null) return null;
    if (spec.kind === 'matmul') {
      if (w.shape.length !== 2 || p.attrParams.transposeA == null) return null;
      const layout: ChannelLayout = p.attrParams.transposeB?.value ? 'rows' : 'last';
      return {n: outChannels(w.shape, layout), w, layout};
    }
    if (w.shape.length !== 4) return null;
    const fmt = p.attrParams.dataFormat?.value;
    if (fmt != null && String(fmt).toUpperCase() !== 'NHWC') return null;
    const layout: ChannelLayout = spec.kind === 'depthwise' ? 'depthwise' : 'last';
    return {n: outChannels(w.shape, layout), w, layout};
  }
  /** Makes P its fused op with epilogue `e` (inputs 0..1 kept, args rebuilt). */
  setEpilogue(p: GNode, e: Epilogue, leakyreluAlpha?: number): void {
    const spec = PRODUCERS[p.op];
    for (const a of p.inputs.slice(2)) {
      if (a !== e.bias && a !== e.prelu) this.unlink(a, p);
      else a.children.splice(a.children.indexOf(p), 1);
    }
    p.inputs.length = 2;
    p.inputNames.length = 2;
    if (e.bias) this.link(e.bias, p);
    if (e.prelu) this.link(e.prelu, p);
    if (p.op !== spec.fused) {
      p.op = spec.fused;
      const x = spec.kind === 'matmul' ? 'a' : 'x';
      const f = spec.kind === 'matmul' ? 'b' : 'filter';
      p.inputParams = {
        [x]: {type: 'tensor', inputIndexStart: 0},
        [f]: {type: 'tensor', inputIndexStart: 1},
        args: {type: 'tensors', inputIndexStart: 2, inputIndexEnd: 0},
      };
      p.attrParams = {...p.attrParams, epsilon: {value: 0.0001, type: 'number'}, leakyreluAlpha: {value: 0.2, type: 'number'}};
    }
    const ops = [e.bias ? 'biasadd' : 'noop'];
    if (e.activation !== 'linear') ops.push(e.activation);
    p.attrParams = {
      ...p.attrParams,
      fusedOps: {value: ops, type: 'string[]'},
      numArgs: {value: p.inputs.length - 2, type: 'number'},
    };
    if (leakyreluAlpha !== undefined) p.attrParams.leakyreluAlpha = {value: leakyreluAlpha, type: 'number'};
  }
  /** C disappears; P (read only by C) takes its name, readers and place among the outputs. */
  absorb(p: GNode, c: GNode): void {
    for (const x of c.inputs) if (x !== p) this.unlink(x, c);
    delete this.g.nodes[p.name];
    delete this.g.nodes[c.name];
    p.name = c.name;
    this.g.nodes[p.name] = p;
    p.children = c.children;
    for (const ch of p.children) ch.inputs = ch.inputs.map((x) => (x === c ? p : x));
    const o = this.g.outputs.indexOf(c);
    if (o >= 0) {
      this.g.outputs[o] = p;
      p.signatureKey = c.signatureKey;
      p.defaultOutput = c.defaultOutput;
    }
  }

  /** The single reader C of P that may be merged into it, with a reason when there is none. */
  soleReader(p: GNode, c: GNode, at: number): string|null {
    if (p.children.length !== 1 || p.children[0] !== c) return `'${p.name}' has other readers`;
    if (this.isOutput(p)) return `'${p.name}' is a model output`;
    const refs = c.inputNames.map((s, i) => ({s, i})).filter(({i}) => c.inputs[i] === p);
    if (refs.length !== 1 || refs[0].i !== at || parseName(refs[0].s)[1] !== 0) return `it reads '${p.name}' in an unexpected way`;
    for (const ch of c.children) {
      for (let i = 0; i < ch.inputs.length; i++) {
        if (ch.inputs[i] === c && parseName(ch.inputNames[i])[1] !== 0) return `'${ch.name}' reads another output of it`;
      }
    }
    return null;
  }

  /** Tries to merge C (the only reader of its input 0) into that producer; returns whether it did. */
  tryMerge(c: GNode, o: ResolvedOptions): boolean {
    // The producer is input 0, or either input of a commutative Mul / Add.
    const commutative = (c.op === 'Mul' || c.op === 'Add' || c.op === 'AddV2' || c.op === 'Minimum' || c.op === 'Maximum') &&
        c.inputs.length === 2;
    const at = commutative && PRODUCERS[c.inputs[0].op] == null && PRODUCERS[c.inputs[1].op] != null ? 1 : 0;
    const p = c.inputs[at];
    if (p == null || PRODUCERS[p.op] == null) return false;
    const isBn = BATCH_NORMS.has(c.op);
    const isScale = c.op === 'Mul';
    const isBias = BIAS_ADDS.has(c.op);
    const act = ACTIVATIONS[c.op];
    const isClamp = c.op === 'Minimum' || c.op === 'Maximum';
    if (!((isBn || isScale) && o.foldBatchNorm) && !((isBias || act || isClamp) && o.fuseActivations)) return false;
    const e = this.epilogue(p);
    if (e == null) {
      if (isBn || act) this.leave(c, `not merged into '${p.name}': its fused form is not one this pass knows`);
      return false;
    }
    if (isClamp) {
      // relu then min(., 6) is relu6; max(., 0) after relu/relu6 changes nothing (NaN stays NaN
      // in all of tfjs-cpu's relu, relu6 = clip and min/max, and so in the native kernels).
      const k = c.inputs.length === 2 ? this.constValues(c.inputs[1 - at]) : null;
      const maxRank = PRODUCERS[p.op].kind === 'matmul' ? 2 : 4;
      const v = k && k.data.length === 1 && k.shape.length <= maxRank ? k.data[0] : NaN;
      const toRelu6 = c.op === 'Minimum' && v === 6 && e.activation === 'relu';
      const noOp = c.op === 'Maximum' && v === 0 && (e.activation === 'relu' || e.activation === 'relu6');
      if (!toRelu6 && !noOp) return false;  // an ordinary min/max
      const why = this.soleReader(p, c, at);
      if (why) {
        this.leave(c, `not merged into '${p.name}': ${why}`);
        return false;
      }
      this.absorb(p, c);
      if (toRelu6) this.setEpilogue(p, {...e, activation: 'relu6'});
      this.report.activationsFused++;
      return true;
    }
    const ch = this.channels(p);
    // A constant operand per channel (Mul/Add): the other input of C.
    const other = (isScale || isBias) && c.inputs.length === 2 ? c.inputs[1 - at] : null;
    const otherData = other && other !== p ? this.constData(other) : null;
    const perCh = ch && otherData ? perChannel(otherData.data, otherData.shape, ch.n, PRODUCERS[p.op].kind === 'matmul' ? 2 : 4) : null;
    if ((isScale || isBias) && perCh == null) return false;  // an ordinary Mul/Add (not a per-channel constant)
    const why = this.soleReader(p, c, at);
    if (why) {
      this.leave(c, `not merged into '${p.name}': ${why}`);
      return false;
    }
    const blocked = (reason: string) => {
      this.leave(c, `not merged into '${p.name}': ${reason}`);
      return false;
    };
    if (act) {
      if (e.activation !== 'linear') return blocked(`it already has activation ${e.activation}`);
      if (c.inputs.length !== (act === 'prelu' ? 2 : 1)) return blocked('unexpected inputs');
      if (act === 'prelu' && e.bias == null && PRODUCERS[p.op].kind === 'matmul') {
        return blocked('_FusedMatMul takes prelu only with a bias');
      }
      let alpha: number|undefined;
      if (act === 'leakyrelu') {
        alpha = c.attrParams.alpha?.value;
        if (typeof alpha !== 'number') return blocked('LeakyRelu without alpha');
      }
      const prelu = act === 'prelu' ? c.inputs[1] : null;
      if (prelu) prelu.children.push(p);  // keep the link while C's inputs are dropped
      this.absorb(p, c);
      if (prelu) prelu.children.splice(prelu.children.indexOf(p), 1);
      this.setEpilogue(p, {...e, activation: act, prelu}, alpha);
      this.report.activationsFused++;
      return true;
    }
    if (e.activation !== 'linear') return blocked(`it follows activation ${e.activation}`);
    if (ch == null) return blocked('the weight is not a constant (or not NHWC)');
    let oldBias: Float32Array|null = null;
    if (e.bias) {
      const b = this.constData(e.bias);
      if (b == null || b.data.length !== ch.n) return blocked('the bias is not a constant');
      oldBias = b.data;
    }
    let scale: Float64Array|null = null;
    let shift: Float64Array|null = null;
    if (isBias) {
      const fmt = c.attrParams.dataFormat?.value;
      if (fmt != null && String(fmt).toUpperCase() !== 'NHWC') return blocked('BiasAdd is not NHWC');
      shift = perCh;
    } else if (isScale) {
      if (!allFinite(perCh!)) return blocked('non-finite scale');
      scale = perCh;
    } else {
      const fmt = c.attrParams.dataFormat?.value;
      if (fmt != null && String(fmt).toUpperCase() !== 'NHWC') return blocked('not NHWC');
      if (c.inputs.length !== 5) return blocked('unexpected inputs');
      const [s, off, mean, variance] = c.inputs.slice(1).map((x) => this.constData(x));
      if (s == null || off == null || mean == null || variance == null) return blocked('its parameters are not constants');
      if ([s, off, mean, variance].some((t) => t.data.length !== ch.n)) return blocked('parameters are not per channel');
      const eps = c.attrParams.epsilon?.value;
      const bn = batchNormAffine(mean.data, variance.data, s.data, off.data, typeof eps === 'number' ? eps : 0.001);
      if (!allFinite(bn.scale) || !allFinite(bn.shift)) return blocked('non-finite folded scale');
      scale = bn.scale;
      shift = bn.shift;
    }
    const base = c.name;
    this.absorb(p, c);
    if (scale) {
      const w = this.addConst(base, scaleWeight(ch.w.data, ch.w.shape, ch.layout, scale), ch.w.shape);
      const old = p.inputs[1];
      p.inputs[1] = w;
      p.inputNames[1] = w.name;
      w.children.push(p);
      this.unlink(old, p);
    }
    const bias = this.addConst(base, affineBias(oldBias, scale, shift, ch.n), [ch.n]);
    this.setEpilogue(p, {...e, bias});
    if (isBn) this.report.batchNormsFolded++;
    else if (isScale) this.report.scalesFolded++;
    else this.report.biasesFused++;
    return true;
  }

  mergeAll(o: ResolvedOptions): void {
    // A merge renames P to C's name, and graphs need not list nodes in topological order: repeat
    // until nothing merges, keeping the reasons of the last pass only.
    const before = this.report.leftAlone.length;
    for (let merged = true; merged;) {
      merged = false;
      this.report.leftAlone.length = before;
      for (const name of Object.keys(this.g.nodes)) {
        const c = this.g.nodes[name];
        if (c == null || c.inputs.length === 0) continue;
        if (CONTROL_FLOW.has(c.op) || CONTROL_FLOW.has(c.inputs[0].op)) continue;
        if (this.tryMerge(c, o)) merged = true;
      }
    }
  }

  /** The int32/float32 values of a plain constant, or null. */
  constValues(n: GNode|undefined): {data: ArrayLike<number>; shape: number[]}|null {
    if (n == null || n.op !== 'Const' || n.inputs.length !== 0) return null;
    const ts = this.wm[n.name];
    if (ts == null || ts.length !== 1 || (ts[0].dtype !== 'int32' && ts[0].dtype !== 'float32')) return null;
    return {data: ts[0].dataSync() as ArrayLike<number>, shape: ts[0].shape.slice()};
  }

  /**
   * A zero Pad of H and W read only by a VALID (or explicitly padded) NHWC convolution becomes
   * the convolution's explicit padding (the cpu fallback's PadV2 is a full copy of the input).
   */
  foldPads(): void {
    for (const pd of Object.values(this.g.nodes)) {
      if (pd.op !== 'Pad' && pd.op !== 'PadV2') continue;
      const c = pd.children[0];
      if (pd.children.length !== 1 || c == null || !CONV_PAD_OPS.has(c.op) || this.isOutput(pd)) continue;
      const why = this.padProblem(pd, c);
      if (why) {
        this.leave(pd, `not folded into '${c.name}': ${why}`);
        continue;
      }
      const pads = this.constValues(pd.inputs[1])!.data;
      const old = c.attrParams.pad.value === 'explicit' ? c.attrParams.explicitPaddings.value as number[] : [0, 0, 0, 0, 0, 0, 0, 0];
      const explicit = old.map((v, i) => v + (i >= 2 && i < 6 ? pads[i] : 0));
      const x = pd.inputs[0];
      c.inputs[0] = x;
      c.inputNames[0] = pd.inputNames[0];
      x.children[x.children.indexOf(pd)] = c;
      for (const other of pd.inputs.slice(1)) this.unlink(other, pd);
      delete this.g.nodes[pd.name];
      c.attrParams = {...c.attrParams, pad: {value: 'explicit', type: 'string'},
        explicitPaddings: {value: explicit, type: 'number[]'}};
      this.report.padsFused++;
    }
  }
  padProblem(pd: GNode, c: GNode): string|null {
    if (pd.inputs.length !== (pd.op === 'Pad' ? 2 : 3)) return 'unexpected inputs';
    if (c.inputs[0] !== pd || c.inputs.indexOf(pd, 1) >= 0 || parseName(c.inputNames[0])[1] !== 0) return 'read in an unexpected way';
    const pads = this.constValues(pd.inputs[1]);
    if (pads == null || pads.shape.length !== 2 || pads.shape[0] !== 4 || pads.shape[1] !== 2) return 'paddings are not a constant [4, 2]';
    const p = Array.from(pads.data);
    if (p[0] !== 0 || p[1] !== 0 || p[6] !== 0 || p[7] !== 0 || p.some((v) => v < 0 || !Number.isInteger(v))) {
      return 'pads more than height and width';
    }
    const value = pd.op === 'Pad' ? (pd.attrParams.constantValue?.value ?? 0) : this.constValues(pd.inputs[2])?.data[0];
    if (value !== 0) return 'the pad value is not 0';
    const fmt = c.attrParams.dataFormat?.value;
    if (fmt != null && String(fmt).toUpperCase() !== 'NHWC') return 'the convolution is not NHWC';
    const pad = c.attrParams.pad?.value;
    if (pad !== 'valid' && !(pad === 'explicit' && Array.isArray(c.attrParams.explicitPaddings?.value) &&
        c.attrParams.explicitPaddings.value.length === 8)) {
      return `the convolution pads '${pad}'`;
    }
    return null;
  }

  removeIdentities(): void {
    for (const n of Object.values(this.g.nodes)) {
      if (n.op !== 'Identity' && n.op !== 'StopGradient' && n.op !== 'Snapshot') continue;
      if (this.controlFlow) {
        this.leave(n, 'kept: the graph has control flow');
        continue;
      }
      if (this.isOutput(n)) continue;  // model outputs are Identity nodes by design; not worth a line each
      if (n.inputs.length !== 1) {
        this.leave(n, 'kept: it has control inputs');
        continue;
      }
      const x = n.inputs[0];
      const src = n.inputNames[0];
      for (const ch of n.children) {
        for (let i = 0; i < ch.inputs.length; i++) {
          if (ch.inputs[i] === n) {
            ch.inputs[i] = x;
            ch.inputNames[i] = src;
            x.children.push(ch);
          }
        }
      }
      x.children.splice(x.children.indexOf(n), 1);
      delete this.g.nodes[n.name];
      this.report.dropoutsRemoved++;
    }
  }
}

/** Why the graph is not consistent (inputs/children/weights), or null: run after rewriting in tests. */
export function validateGraph(model: GraphModelLike): string|null {
  const p = structureProblem(model.executor);
  if (p) return p;
  const g = model.executor.graph;
  const count = (a: GNode[], x: GNode) => a.filter((y) => y === x).length;
  for (const n of Object.values(g.nodes)) {
    for (const x of new Set(n.inputs)) {
      if (count(x.children, n) !== count(n.inputs, x)) return `'${x.name}' -> '${n.name}': children and inputs disagree`;
    }
    for (const ch of new Set(n.children)) {
      if (g.nodes[ch.name] !== ch) return `'${n.name}' has a child '${ch.name}' that is not in the graph`;
      if (!ch.inputs.includes(n)) return `'${n.name}' lists child '${ch.name}' that does not read it`;
    }
  }
  for (const w of g.weights) {
    if (g.nodes[w.name] !== w) return `weight node '${w.name}' is not in the graph`;
    if (model.executor.weightMap[w.name] == null) return `weight node '${w.name}' has no tensor`;
  }
  for (const o of g.outputs) if (g.nodes[o.name] !== o) return `output '${o.name}' is not in the graph`;
  return null;
}

function collectWeights(ex: ExecutorLike): WeightRef[] {
  const out: WeightRef[] = [];
  for (const n of Object.values(ex.graph.nodes)) {
    const spec = PRODUCERS[n.op];
    const w = n.inputs[1];
    if (spec == null || w == null || w.op !== 'Const') continue;
    const t = ex.weightMap[w.name]?.[0];
    if (t == null) continue;
    const kind = spec.kind === 'conv' ? 'conv2d' : spec.kind === 'depthwise' ? 'depthwiseConv2d' :
        n.attrParams.transposeB?.value ? 'matmulT' : 'matmul';
    // bf16 marks data: give the optimized model's weight data of its own (copies share it with the original)
    const own = (): Tensor => {
      const cur = ex.weightMap[w.name]?.[0];
      if (cur !== t) return cur;  // replaced already (a weight feeding several nodes)
      const c = makeTensor(t.dataSync().slice(), t.shape, t.dtype);
      ex.weightMap[w.name] = [c];
      ex.weightMap = ex.weightMap;  // the setter recomputes the weight ids
      t.dispose();
      return c;
    };
    out.push({name: n.name, kind, shape: t.shape.slice(), tensor: t, own});
  }
  return out;
}

function reportKernels(ex: ExecutorLike, report: OptimizationReport): void {
  const registered = registeredKernels();
  const kernels: string[] = [];
  const unknown = new Set<string>();
  const graphs = [ex.graph.nodes, ...Object.values(ex.graph.functions ?? {}).map((f) => f.nodes ?? {})];
  for (const nodes of graphs) {
    for (const n of Object.values(nodes)) {
      const k = graphOpKernels(n.op, registered);
      if (k == null) unknown.add(n.op);
      else kernels.push(...k);
    }
  }
  report.cpuFallback = cpuFallback(kernels);
  report.unknownKernels = [...unknown].sort();
}

/** A GraphModel computing as `model`, sharing its weight data (clones), with a graph of its own. */
function copyGraphModel(model: GraphModelLike): GraphModelLike {
  const Ctor = model.constructor as unknown as new (url: unknown, opts: unknown, io: unknown) => GraphModelLike;
  if (model.artifacts == null || typeof model.loadWithWeightMap !== 'function') {
    throw new Error('afterburner: optimize: this GraphModel cannot be copied (no artifacts); pass inplace: true');
  }
  const weights: Record<string, Tensor> = {};
  for (const [k, ts] of Object.entries(model.executor.weightMap)) {
    if (ts.length !== 1) throw new Error(`afterburner: optimize: weight '${k}' holds ${ts.length} tensors; pass inplace: true`);
    weights[k] = ts[0].clone();
  }
  const copy = new Ctor(model.modelUrl, model.loadOptions, model.io);
  copy.loadWithWeightMap!(model.artifacts, weights);
  return copy;
}

/** Graph models this module has rewritten (their graphs no longer match their artifacts). */
const rewritten = new WeakSet<object>();

export function optimizeGraphModel(model: GraphModelLike, options: ResolvedOptions, report: OptimizationReport): GraphModelLike {
  const problem = structureProblem(model.executor);
  if (problem) {
    report.notes.push(`left unchanged: the GraphModel's internals are not those of tfjs-converter 4.22.0 (${problem})`);
    applyWeightPasses([], options, report);
    return model;
  }
  let target = model;
  if (!options.inplace) {
    if (rewritten.has(model.executor)) {
      throw new Error('afterburner: optimize: this GraphModel was optimized in place already; optimize it again with inplace: true');
    }
    target = copyGraphModel(model);
  }
  const ex = target.executor;
  const rw = new GraphRewriter(ex, report);
  if (options.removeDropout) rw.removeIdentities();
  if (options.fuseActivations) rw.foldPads();
  if (options.foldBatchNorm || options.fuseActivations) rw.mergeAll(options);
  report.changed = report.batchNormsFolded + report.scalesFolded + report.biasesFused + report.activationsFused +
      report.padsFused + report.dropoutsRemoved > 0;
  if (report.changed) {
    rewritten.add(ex);
    ex.compiledMap.clear();           // compiled execution orders name the old nodes
    ex.weightMap = ex.weightMap;      // the setter recomputes the weight ids kept across executeAsync
    report.notes.push('save() writes the original graph (the model artifacts), not the optimized one');
  }
  applyWeightPasses(collectWeights(ex), options, report);
  reportKernels(ex, report);
  return target;
}

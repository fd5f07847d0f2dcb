// SPDX-License-Identifier: Apache-2.0
// Fusion rules for convolutions and matmuls: BatchNorm folded into the preceding conv/matmul's
// weights, a constant bias add folded into the fused kernel's bias, and a following activation
// folded into the fused kernel's epilogue. Each rule rewrites the producer in place (same output
// value, now the fused kernel's) and drops the reader; runRules() applies them to a fixed point.
import type {BackendValues} from '@tensorflow/tfjs-core';

import {sizeOf} from '../backend/kernel-utils';
import {Attrs, Graph, Node, ValueId} from './ir';
import {fusible, Rule, RuleContext} from './passes';
import {MATMUL_RESIDUAL_OP, RESIDUAL_OP} from './residual';

/** Plain op -> its fused kernel, and the fused kernels themselves. */
const FUSED_OF: {[op: string]: string} = {
  Conv2D: 'FusedConv2D',
  DepthwiseConv2dNative: 'FusedDepthwiseConv2D',
  BatchMatMul: '_FusedMatMul',
  FusedConv2D: 'FusedConv2D',
  FusedDepthwiseConv2D: 'FusedDepthwiseConv2D',
  _FusedMatMul: '_FusedMatMul',
  [RESIDUAL_OP]: RESIDUAL_OP,
  [MATMUL_RESIDUAL_OP]: MATMUL_RESIDUAL_OP,
};
const RESIDUAL_OPS = [RESIDUAL_OP, MATMUL_RESIDUAL_OP];
const PRODUCERS = Object.keys(FUSED_OF);

function isNHWC(n: Node): boolean {
  return n.attrs.dataFormat == null || n.attrs.dataFormat === 'NHWC';
}

function inputOf(n: Node, name: string): ValueId|undefined {
  const i = n.inputNames?.indexOf(name) ?? -1;
  return i < 0 ? undefined : n.inputs[i];
}

function setInput(n: Node, name: string, v: ValueId): void {
  const names = n.inputNames!;
  const i = names.indexOf(name);
  if (i >= 0) {
    n.inputs[i] = v;
  } else {
    names.push(name);
    n.inputs.push(v);
  }
}

/** The producer of `v` if it is a conv/matmul whose epilogue is still free (linear, NHWC). */
function freeProducer(g: Graph, ctx: RuleContext, v: ValueId): Node|undefined {
  const p = g.producer(v);
  if (p == null || !PRODUCERS.includes(p.op) || !isNHWC(p) || p.outputs.length !== 1) return undefined;
  if (p.attrs.activation != null && p.attrs.activation !== 'linear') return undefined;
  if (!fusible(g, ctx, v)) return undefined;
  return p;
}

/** Turns `p` into its fused kernel (if it is not one yet) with activation linear. */
function makeFused(p: Node): void {
  const fused = FUSED_OF[p.op];
  if (p.op === fused) return;
  const a = p.attrs;
  const attrs: Attrs = fused === '_FusedMatMul'
      ? {transposeA: a.transposeA ?? false, transposeB: a.transposeB ?? false, activation: 'linear'}
      : {strides: a.strides, pad: a.pad, dataFormat: a.dataFormat ?? 'NHWC', dilations: a.dilations ?? [1, 1],
         dimRoundingMode: a.dimRoundingMode ?? null, activation: 'linear'};
  p.op = fused;
  p.attrs = attrs;
}

/** Output channels of the producer: the last dim of its output. */
function channels(g: Graph, p: Node): number {
  const s = g.value(p.outputs[0]).shape;
  return s[s.length - 1];
}

function constData(g: Graph, v: ValueId): BackendValues|undefined {
  return g.isConstant(v) ? g.constants.get(v) : undefined;
}


/** A constant holding one value per channel (shape [C], or [1,...,1,C]): its values, else undefined. */
function perChannel(g: Graph, v: ValueId|undefined, c: number): ArrayLike<number>|undefined {
  if (v == null) return undefined;
  const data = constData(g, v);
  const shape = g.value(v).shape;
  if (data == null || g.value(v).dtype !== 'float32' || sizeOf(shape) !== c || (shape.length > 0 && shape[shape.length - 1] !== c)) return undefined;
  return data as ArrayLike<number>;
}

/** `Add(x, bias)` (either order) with x a conv/matmul without bias and bias one value per channel. */
const biasAdd: Rule = {
  name: 'bias adds fused',
  ops: ['Add', 'AddV2'],
  apply(g, n, ctx) {
    if (n.inputs.length !== 2) return false;
    for (const [x, b] of [[n.inputs[0], n.inputs[1]], [n.inputs[1], n.inputs[0]]]) {
      const p = freeProducer(g, ctx, x);
      // (after a residual add the bias would come second: another rounding than the epilogue's)
      if (p == null || RESIDUAL_OPS.includes(p.op) || inputOf(p, 'bias') != null) continue;
      if (g.value(n.outputs[0]).shape.join() !== g.value(x).shape.join()) continue;  // the add must not broadcast x
      const c = channels(g, p);
      let values = perChannel(g, b, c);
      // A single constant (a scalar or [1,..,1]) is the same bias on every channel.
      if (values == null && g.isConstant(b) && g.value(b).dtype === 'float32' && sizeOf(g.value(b).shape) === 1) {
        values = new Float32Array(c).fill((constData(g, b) as Float32Array)[0]);
      }
      if (values == null) continue;
      makeFused(p);
      const bias = g.addConstant([c], 'float32', Float32Array.from(values));
      setInput(p, 'bias', bias);
      g.replaceAllUses(n.outputs[0], p.outputs[0]);
      g.removeNode(n);
      return true;
    }
    return false;
  },
};

const ACTIVATIONS: {[op: string]: string} = {
  Relu: 'relu', Relu6: 'relu6', Elu: 'elu', Sigmoid: 'sigmoid', LeakyRelu: 'leakyrelu', Prelu: 'prelu',
};

/**
 * ClipByValue(0, 6) is relu6 (tfjs-layers' ReLU(maxValue: 6), MobileNetV2's activation); the two
 * differ only in the sign of a zero (the clip keeps -0, relu6 = min(max(0, x), 6) gives +0).
 */
function isRelu6Clip(n: {op: string, attrs: {[k: string]: unknown}}): boolean {
  return n.op === 'ClipByValue' && n.attrs.clipValueMin === 0 && n.attrs.clipValueMax === 6;
}

/** An activation reading a conv/matmul whose epilogue is linear becomes that epilogue. */
const activation: Rule = {
  name: 'activations fused',
  ops: [...Object.keys(ACTIVATIONS), 'ClipByValue'],
  apply(g, n, ctx) {
    if (n.op === 'ClipByValue' && !isRelu6Clip(n)) return false;
    const x = inputOf(n, 'x') ?? n.inputs[0];
    const p = freeProducer(g, ctx, x);
    if (p == null) return false;
    let alpha: ValueId|undefined;
    if (n.op === 'Prelu') {
      // The fused kernels take the slope as an input; only a constant one is folded.
      alpha = inputOf(n, 'alpha');
      if (alpha == null || !g.isConstant(alpha)) return false;
    }
    makeFused(p);
    p.attrs.activation = n.op === 'ClipByValue' ? 'relu6' : ACTIVATIONS[n.op];
    if (n.op === 'LeakyRelu') p.attrs.leakyreluAlpha = (n.attrs.alpha as number) ?? 0.2;
    if (alpha != null) setInput(p, 'preluActivationWeights', alpha);
    g.replaceAllUses(n.outputs[0], p.outputs[0]);
    g.removeNode(n);
    return true;
  },
};

/**
 * ClipByValue(0, 6) after a conv/matmul whose epilogue is relu (tfjs-layers' ReLU(maxValue: 6)
 * computes relu, then the clip) or relu6: the epilogue becomes relu6, bit for bit the same
 * (relu has already turned -0 into +0 and NaN stays NaN either way).
 */
const clipAfterRelu: Rule = {
  name: 'activations fused',
  ops: ['ClipByValue'],
  apply(g, n, ctx) {
    if (!isRelu6Clip(n)) return false;
    const p = g.producer(n.inputs[0]);
    if (p == null || !PRODUCERS.includes(p.op) || p.outputs.length !== 1) return false;
    if (p.attrs.activation !== 'relu' && p.attrs.activation !== 'relu6') return false;
    if (!fusible(g, ctx, n.inputs[0])) return false;
    p.attrs.activation = 'relu6';
    g.replaceAllUses(n.outputs[0], p.outputs[0]);
    g.removeNode(n);
    return true;
  },
};

const CONV_OPS = ['Conv2D', 'FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2D', RESIDUAL_OP];

/**
 * Add(conv(x), r) with r of the conv's output shape (a residual connection: ResNet, MobileNetV2,
 * BlazeFace) becomes one 'ab.FusedConv2DAdd' node at the Add's place: the conv's epilogue adds r
 * after its bias (the same roundings as the separate add), and a following activation fuses as
 * before. The planner may write its output in place over r (executor.ts). NHWC Conv2D /
 * FusedConv2D with a linear epilogue only. The same for a matmul (a transformer's x + proj(h)):
 * 'ab.FusedMatMulAdd' (no in-place there: a K-blocked GEMM would read a copy of r).
 */
const residualAdd: Rule = {
  name: 'residual adds fused',
  ops: ['Add', 'AddV2'],
  apply(g, n, ctx) {
    if (n.inputs.length !== 2 || n.inputs[0] === n.inputs[1] || n.outputs.length !== 1) return false;
    const out = g.value(n.outputs[0]);
    if (out.dtype !== 'float32') return false;
    // Both operands may be convs (a projection shortcut): the later one fuses, so that moving it
    // to the Add's place does not lengthen its input's life.
    let best: {p: Node, r: ValueId, at: number}|undefined;
    for (const [c, r] of [[n.inputs[0], n.inputs[1]], [n.inputs[1], n.inputs[0]]]) {
      const p = freeProducer(g, ctx, c);
      if (p == null || !['Conv2D', 'FusedConv2D', 'BatchMatMul', '_FusedMatMul'].includes(p.op)) continue;
      const rv = g.value(r), cv = g.value(c);
      if (rv.dtype !== 'float32' || cv.dtype !== 'float32' || rv.shape.join() !== out.shape.join() ||
          cv.shape.join() !== out.shape.join()) continue;
      const at = g.nodes.indexOf(p);
      if (best == null || at > best.at) best = {p, r, at};
    }
    // Moving the conv to the Add's place keeps its input x alive until there instead of its own
    // output: declined where x is larger and would otherwise die earlier (a strided shortcut conv
    // computed long before the add: fusing it would raise the memory peak).
    if (best != null) {
      const x = inputOf(best.p, best.p.op.includes('MatMul') ? 'a' : 'x') ?? best.p.inputs[0];
      const xv = g.value(x);
      const last = g.lastReads().get(x) ?? -1, here = g.nodes.indexOf(n);
      if (xv.kind === 'node' && last < here && sizeOf(xv.shape) > sizeOf(out.shape) && here - best.at > 1) best = undefined;
    }
    if (best != null) {
      const {p, r} = best;
      makeFused(p);
      n.op = p.op === '_FusedMatMul' ? MATMUL_RESIDUAL_OP : RESIDUAL_OP;
      n.inputs = [...p.inputs, r];
      n.inputNames = [...(p.inputNames ?? (n.op === RESIDUAL_OP ? ['x', 'filter'] : ['a', 'b'])), 'addend'];
      n.attrs = {...p.attrs};
      g.removeNode(p);
      return true;
    }
    return false;
  },
};

/**
 * A zero PadV2 of height and width read only by an NHWC convolution (TF's asymmetric 'SAME' for
 * stride 2 arrives this way) becomes the convolution's explicit padding: the pad's full copy of
 * the input goes away, and the convolution reads zeros it does not need to load.
 */
const foldPad: Rule = {
  name: 'pads folded into convolutions',
  ops: CONV_OPS,
  apply(g, n, ctx) {
    if (!isNHWC(n)) return false;
    const x = inputOf(n, 'x') ?? n.inputs[0];
    const pd = g.producer(x);
    if (pd == null || pd.op !== 'PadV2' || !fusible(g, ctx, x)) return false;
    if ((pd.attrs.constantValue ?? 0) !== 0) return false;
    const p = pd.attrs.paddings as number[][]|undefined;
    if (!Array.isArray(p) || p.length !== 4 || p[0][0] !== 0 || p[0][1] !== 0 || p[3][0] !== 0 || p[3][1] !== 0) return false;
    const old = n.attrs.pad;
    let base: number[][];
    if (old === 'valid' || old === 0) base = [[0, 0], [0, 0], [0, 0], [0, 0]];
    else if (Array.isArray(old) && old.length === 4) base = old as number[][];
    else return false;  // 'same' or a number: left alone
    n.attrs.pad = base.map((b, i) => [b[0] + p[i][0], b[1] + p[i][1]]);
    n.inputs[n.inputs.indexOf(x)] = pd.inputs[0];
    g.removeNode(pd);
    return true;
  },
};

/**
 * FusedBatchNorm (inference: constant mean, variance, offset, scale) after a conv/matmul with a
 * constant filter: y = (conv(x, w) + b - mean) * s + offset with s = scale / sqrt(var + eps)
 * equals conv(x, w * s) + ((b - mean) * s + offset), s applied per output channel. Computed in
 * float64, stored as float32.
 */
const foldBatchNorm: Rule = {
  name: 'batch norms folded',
  ops: ['FusedBatchNorm'],
  apply(g, n, ctx) {
    const x = inputOf(n, 'x');
    if (x == null) return false;
    const p = freeProducer(g, ctx, x);
    if (p == null || RESIDUAL_OPS.includes(p.op)) return false;
    const c = channels(g, p);
    const mean = perChannel(g, inputOf(n, 'mean'), c), variance = perChannel(g, inputOf(n, 'variance'), c);
    if (mean == null || variance == null) return false;
    const offsetV = inputOf(n, 'offset'), scaleV = inputOf(n, 'scale');
    const offset = offsetV == null ? undefined : perChannel(g, offsetV, c);
    const scale = scaleV == null ? undefined : perChannel(g, scaleV, c);
    if ((offsetV != null && offset == null) || (scaleV != null && scale == null)) return false;
    const wName = p.op.includes('MatMul') ? 'b' : 'filter';
    const wV = inputOf(p, wName);
    if (wV == null || !g.isConstant(wV) || g.value(wV).dtype !== 'float32') return false;
    const bV = inputOf(p, 'bias');
    const bias = bV == null ? undefined : perChannel(g, bV, c);
    if (bV != null && bias == null) return false;
    const w = constData(g, wV) as Float32Array, wShape = g.value(wV).shape;
    // Which output channel each weight element feeds.
    let channelOf: (i: number) => number;
    if (p.op.includes('MatMul')) {
      if (wShape.length !== 2) return false;  // batched weights: left alone
      channelOf = p.attrs.transposeB ? (i) => Math.floor(i / wShape[1]) : (i) => i % wShape[1];
    } else {
      if (sizeOf(wShape) % c !== 0 || wShape.length !== 4) return false;
      channelOf = (i) => i % c;  // [kh, kw, ci, co] and depthwise [kh, kw, ci, mult]: channel = last two dims flattened
    }
    const eps = (n.attrs.varianceEpsilon as number) ?? 0.001;
    const s = new Float64Array(c);
    for (let k = 0; k < c; ++k) s[k] = (scale ? scale[k] : 1) / Math.sqrt(variance[k] + eps);
    const w2 = new Float32Array(w.length);
    for (let i = 0; i < w.length; ++i) w2[i] = w[i] * s[channelOf(i)];
    const b2 = new Float32Array(c);
    for (let k = 0; k < c; ++k) b2[k] = ((bias ? bias[k] : 0) - mean[k]) * s[k] + (offset ? offset[k] : 0);
    makeFused(p);
    setInput(p, wName, g.addConstant(wShape, 'float32', w2));
    setInput(p, 'bias', g.addConstant([c], 'float32', b2));
    g.replaceAllUses(n.outputs[0], p.outputs[0]);
    g.removeNode(n);
    return true;
  },
};

/**
 * Matmuls that read the same input with constant 2-D weights (attention's q, k and v
 * projections, a gate and an up projection) become one matmul by the concatenated weights, split
 * afterwards: the input is read once and the GEMM sees one wide N. Every member must have the same
 * transposes, activation and bias presence (bias concatenated too); a prelu member is left alone.
 */
const concatMatmuls: Rule = {
  name: 'parallel matmuls concatenated',
  ops: ['BatchMatMul', '_FusedMatMul'],
  apply(g, n, ctx) {
    const key = (m: Node) => {
      if (m.op !== 'BatchMatMul' && m.op !== '_FusedMatMul') return null;
      if (m.attrs.transposeA || m.attrs.activation === 'prelu' || inputOf(m, 'preluActivationWeights') != null) return null;
      const b = inputOf(m, 'b');
      if (b == null || !g.isConstant(b) || g.value(b).shape.length !== 2 || g.value(b).dtype !== 'float32') return null;
      if (m.outputs.length !== 1) return null;
      const bias = inputOf(m, 'bias');
      if (bias != null && (!g.isConstant(bias) || sizeOf(g.value(bias).shape) !== channels(g, m))) return null;
      return JSON.stringify([inputOf(m, 'a'), !!m.attrs.transposeB, m.attrs.activation ?? 'linear',
                             m.attrs.leakyreluAlpha ?? null, bias != null, g.value(b).shape[m.attrs.transposeB ? 1 : 0]]);
    };
    const k = key(n);
    if (k == null) return false;
    const a = inputOf(n, 'a')!;
    const group = (ctx.consumers.get(a) ?? []).filter((m) => key(m) === k);
    if (group.length < 2 || group[0] !== n) return false;  // rooted at the group's first member only
    const tB = !!n.attrs.transposeB;
    const widths = group.map((m) => channels(g, m));
    const K = g.value(inputOf(n, 'b')!).shape[tB ? 1 : 0], N = widths.reduce((x, y) => x + y, 0);
    // Concatenated weights: [K, N] (columns side by side) or, transposed, [N, K] (rows stacked).
    const w = new Float32Array(K * N);
    let col = 0;
    for (const m of group) {
      const src = g.constants.get(inputOf(m, 'b')!) as Float32Array, ni = channels(g, m);
      if (tB) w.set(src, col * K);
      else for (let r = 0; r < K; ++r) w.set(src.subarray(r * ni, (r + 1) * ni), r * N + col);
      col += ni;
    }
    const inputs = [a, g.addConstant(tB ? [N, K] : [K, N], 'float32', w)];
    const names = ['a', 'b'];
    if (inputOf(n, 'bias') != null) {
      const bias = new Float32Array(N);
      col = 0;
      for (const m of group) {
        bias.set(g.constants.get(inputOf(m, 'bias')!) as Float32Array, col);
        col += channels(g, m);
      }
      inputs.push(g.addConstant([N], 'float32', bias));
      names.push('bias');
    }
    const outShape = g.value(n.outputs[0]).shape.slice(0, -1);
    const attrs: Attrs = {transposeA: false, transposeB: tB, activation: (n.attrs.activation as string) ?? 'linear'};
    if (n.attrs.leakyreluAlpha != null) attrs.leakyreluAlpha = n.attrs.leakyreluAlpha;
    const first = g.nodes.find((m) => group.includes(m))!;
    const mm = g.insertNodeBefore(first, '_FusedMatMul', inputs, names, attrs, [{shape: [...outShape, N], dtype: 'float32'}]);
    const split = g.insertNodeBefore(first, 'SplitV', [mm.outputs[0]], ['x'], {numOrSizeSplits: widths, axis: -1},
                                     widths.map((w) => ({shape: [...outShape, w], dtype: 'float32'})));
    group.forEach((m, i) => {
      g.replaceAllUses(m.outputs[0], split.outputs[i]);
      g.removeNode(m);
    });
    return true;
  },
};

export const FUSION_RULES: Rule[] = [foldBatchNorm, biasAdd, activation, clipAfterRelu, foldPad, residualAdd];
/** Run after FUSION_RULES: members must have taken their bias and activation first. */
export const CONCAT_RULES: Rule[] = [concatMatmuls];

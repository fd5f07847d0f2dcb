// SPDX-License-Identifier: Apache-2.0
// Whole-subgraph patterns recognised as single ops with native kernels (native/ops/graph_ops.h):
// LayerNorm and RMSNorm over the last axis (with an optional per-channel gamma and beta), and
// scaled dot-product attention (matmul, scale, mask add, softmax, matmul). Plus common
// subexpression elimination, which tf.moments needs (it computes x - mean twice).
import {util} from '@tensorflow/tfjs-core';
import type {TensorInfo} from '@tensorflow/tfjs-core';

import {native} from '../binding';
import {f32, newOutput, sizeOf} from '../backend/kernel-utils';
import {registerGraphOp} from './executor';
import {Graph, Node, ValueId} from './ir';
import {PassStats, Rule, RuleContext} from './passes';

/** Merges nodes with the same op, inputs and attrs (the first stays; random ops never merge). */
export function commonSubexpressions(g: Graph, stats: PassStats = new Map()): PassStats {
  const seen = new Map<string, Node>();
  for (const n of g.nodes.slice()) {
    if (/Random|Multinomial|Dropout/.test(n.op)) continue;
    const key = `${n.op}|${n.inputs.join(',')}|${JSON.stringify(n.inputNames)}|${JSON.stringify(n.attrs)}`;
    const first = seen.get(key);
    if (first == null) {
      seen.set(key, n);
      continue;
    }
    n.outputs.forEach((v, i) => g.replaceAllUses(v, first.outputs[i]));
    g.removeNode(n);
    stats.set('common subexpressions merged', (stats.get('common subexpressions merged') ?? 0) + 1);
  }
  return stats;
}


function prod(g: Graph, v: ValueId, ...ops: string[]): Node|undefined {
  const p = g.producer(v);
  return p != null && ops.includes(p.op) ? p : undefined;
}

/** A constant with one value: that value. */
function scalarConst(g: Graph, v: ValueId): number|undefined {
  if (!g.isConstant(v) || g.value(v).dtype !== 'float32' || sizeOf(g.value(v).shape) !== 1) return undefined;
  return (g.constants.get(v) as Float32Array)[0];
}

/** Binary node's operands as [the one that is `want`-shaped or not constant, the scalar]. */
function withScalar(g: Graph, n: Node): [ValueId, number]|undefined {
  const [a, b] = n.inputs;
  const sb = scalarConst(g, b);
  if (sb != null) return [a, sb];
  const sa = scalarConst(g, a);
  if (sa != null && (n.op === 'Add' || n.op === 'Multiply')) return [b, sa];
  return undefined;
}

/** Mean over the last axis with keepDims. */
function isLastAxisMean(g: Graph, n: Node): boolean {
  if (n.op !== 'Mean' || n.attrs.keepDims !== true) return false;
  const rank = g.value(n.inputs[0]).shape.length;
  const ax = Array.isArray(n.attrs.axis) ? n.attrs.axis as number[] : [n.attrs.axis as number];
  return ax.length === 1 && (ax[0] === rank - 1 || ax[0] === -1);
}

/**
 * Every value the matched nodes define, except `root`'s output, is read only by matched nodes
 * and is not a graph output: the subgraph can be replaced as a whole.
 */
function closed(g: Graph, ctx: RuleContext, nodes: Node[], root: Node): boolean {
  const inside = new Set(nodes);
  for (const n of nodes) {
    if (n === root) continue;
    for (const v of n.outputs) {
      if (g.outputs.includes(v)) return false;
      if ((ctx.consumers.get(v) ?? []).some((r) => !inside.has(r))) return false;
    }
  }
  return true;
}

/** Extends a normalisation ending at `y` with Multiply(gamma[C]) and Add(beta[C]) readers. */
function affineTail(g: Graph, ctx: RuleContext, y: Node, c: number): {nodes: Node[], gamma?: ValueId, beta?: ValueId, root: Node} {
  const perC = (v: ValueId) => g.isConstant(v) && g.value(v).dtype === 'float32' && sizeOf(g.value(v).shape) === c &&
                               g.value(v).shape[g.value(v).shape.length - 1] === c;
  const single = (n: Node) => {
    const r = ctx.consumers.get(n.outputs[0]) ?? [];
    return r.length === 1 && !g.outputs.includes(n.outputs[0]) ? r[0] : undefined;
  };
  const out: {nodes: Node[], gamma?: ValueId, beta?: ValueId, root: Node} = {nodes: [], root: y};
  const outShape = g.value(y.outputs[0]).shape;
  let next = single(y);
  if (next?.op === 'Multiply' && util.arraysEqual(g.value(next.outputs[0]).shape, outShape)) {
    const other = next.inputs[0] === y.outputs[0] ? next.inputs[1] : next.inputs[0];
    if (perC(other)) {
      out.gamma = other;
      out.nodes.push(next);
      out.root = next;
      next = single(next);
    }
  }
  if (next?.op === 'Add' && util.arraysEqual(g.value(next.outputs[0]).shape, outShape)) {
    const other = next.inputs[0] === out.root.outputs[0] ? next.inputs[1] : next.inputs[0];
    if (perC(other)) {
      out.beta = other;
      out.nodes.push(next);
      out.root = next;
    }
  }
  return out;
}

function replaceWith(g: Graph, nodes: Node[], root: Node, op: string, inputs: ValueId[], attrs: {[k: string]: number}): void {
  const out = g.value(root.outputs[0]);
  const n = g.insertNodeBefore(root, op, inputs, null, attrs, [{shape: out.shape, dtype: out.dtype}]);
  g.replaceAllUses(root.outputs[0], n.outputs[0]);
  for (const m of nodes) g.removeNode(m);
}

/**
 * LayerNorm: y = (x - mean) / sqrt(var + eps) or (x - mean) * rsqrt(var + eps), with
 * mean = Mean(x, last axis) and var = Mean(Square(x - mean)) or Mean(SquaredDifference(x, mean)),
 * then optionally * gamma[C] and + beta[C].
 */
const layerNorm: Rule = {
  name: 'layer norms recognised',
  ops: ['RealDiv', 'Multiply'],
  apply(g, n, ctx) {
    // y = d / s (s = sqrt(var + eps)) or d * s (s = rsqrt(var + eps)), either order for Multiply.
    const cands: [ValueId, ValueId][] = n.op === 'RealDiv' ? [[n.inputs[0], n.inputs[1]]] : [[n.inputs[0], n.inputs[1]], [n.inputs[1], n.inputs[0]]];
    for (const [dV, sV] of cands) {
      const s = prod(g, sV, n.op === 'RealDiv' ? 'Sqrt' : 'Rsqrt');
      const d = prod(g, dV, 'Sub');
      if (s == null || d == null) continue;
      const addEps = prod(g, s.inputs[0], 'Add');
      const ve = addEps && withScalar(g, addEps);
      if (addEps == null || ve == null) continue;
      const [varV, eps] = ve;
      const [x, meanV] = d.inputs;
      const mean = prod(g, meanV, 'Mean');
      if (mean == null || mean.inputs[0] !== x || !isLastAxisMean(g, mean)) continue;
      const varN = prod(g, varV, 'Mean');
      if (varN == null || !isLastAxisMean(g, varN)) continue;
      const sq = prod(g, varN.inputs[0], 'Square', 'SquaredDifference');
      if (sq == null) continue;
      let d2: Node|undefined;
      if (sq.op === 'SquaredDifference') {
        if (sq.inputs[0] !== x || sq.inputs[1] !== meanV) continue;
      } else {
        d2 = prod(g, sq.inputs[0], 'Sub');
        if (d2 == null || d2.inputs[0] !== x || d2.inputs[1] !== meanV) continue;
      }
      const xs = g.value(x).shape;
      if (g.value(x).dtype !== 'float32' || !util.arraysEqual(g.value(n.outputs[0]).shape, xs) || xs.length === 0) continue;
      const tail = affineTail(g, ctx, n, xs[xs.length - 1]);
      const nodes = [...new Set([mean, d, ...(d2 && d2 !== d ? [d2] : []), sq, varN, addEps, s, n, ...tail.nodes])];
      if (!closed(g, ctx, nodes, tail.root)) continue;
      const inputs = [x, ...(tail.gamma != null ? [tail.gamma] : []), ...(tail.beta != null ? [tail.beta] : [])];
      replaceWith(g, nodes, tail.root, 'ab.LayerNorm', inputs, {eps, gamma: tail.gamma != null ? 1 : 0, beta: tail.beta != null ? 1 : 0});
      return true;
    }
    return false;
  },
};

/** RMSNorm: y = x * rsqrt(Mean(Square(x)) + eps) or x / sqrt(...), then optionally * gamma[C]. */
const rmsNorm: Rule = {
  name: 'rms norms recognised',
  ops: ['RealDiv', 'Multiply'],
  apply(g, n, ctx) {
    const cands: [ValueId, ValueId][] = n.op === 'RealDiv' ? [[n.inputs[0], n.inputs[1]]] : [[n.inputs[0], n.inputs[1]], [n.inputs[1], n.inputs[0]]];
    for (const [x, sV] of cands) {
      const s = prod(g, sV, n.op === 'RealDiv' ? 'Sqrt' : 'Rsqrt');
      if (s == null) continue;
      const addEps = prod(g, s.inputs[0], 'Add');
      const ve = addEps && withScalar(g, addEps);
      if (addEps == null || ve == null) continue;
      const [msV, eps] = ve;
      const ms = prod(g, msV, 'Mean');
      if (ms == null || !isLastAxisMean(g, ms)) continue;
      const sq = prod(g, ms.inputs[0], 'Square');
      if (sq == null || sq.inputs[0] !== x) continue;
      const xs = g.value(x).shape;
      if (g.value(x).dtype !== 'float32' || !util.arraysEqual(g.value(n.outputs[0]).shape, xs) || xs.length === 0) continue;
      const tail = affineTail(g, ctx, n, xs[xs.length - 1]);
      if (tail.beta != null) continue;  // RMSNorm has no shift: x * r * g + b is left as it is
      const nodes = [sq, ms, addEps, s, n, ...tail.nodes];
      if (!closed(g, ctx, nodes, tail.root)) continue;
      replaceWith(g, nodes, tail.root, 'ab.RMSNorm', [x, ...(tail.gamma != null ? [tail.gamma] : [])],
                  {eps, gamma: tail.gamma != null ? 1 : 0, beta: 0});
      return true;
    }
    return false;
  },
};

/**
 * Attention: BatchMatMul(Softmax(Add(Multiply(BatchMatMul(q, k, transposeB), scale), mask)), v),
 * the scale (Multiply or RealDiv by a scalar) and the mask add optional; q, k, v with the same
 * batch dims; the mask one [Sq, Sk] for all batches or one per batch.
 */
const attention: Rule = {
  name: 'attention recognised',
  ops: ['BatchMatMul'],
  apply(g, n, ctx) {
    if (n.attrs.transposeA || n.attrs.transposeB) return false;
    const [pV, v] = n.inputs;
    const sm = prod(g, pV, 'Softmax');
    if (sm == null) return false;
    const nodes: Node[] = [n, sm];
    let cur = sm.inputs[0];
    let mask: ValueId|undefined;
    const add = prod(g, cur, 'Add');
    let scale = 1;
    const qk = (x: ValueId) => {
      const m = prod(g, x, 'BatchMatMul');
      return m != null && !m.attrs.transposeA && m.attrs.transposeB ? m : undefined;
    };
    if (add != null) {
      // Which operand is the scores: the one coming from the (scaled) q k^T.
      const isScores = (x: ValueId) => qk(x) != null || (prod(g, x, 'Multiply', 'RealDiv') != null);
      const [s0, s1] = isScores(add.inputs[0]) ? [add.inputs[0], add.inputs[1]] : [add.inputs[1], add.inputs[0]];
      if (!isScores(s0)) return false;
      mask = s1;
      cur = s0;
      nodes.push(add);
    }
    const sc = prod(g, cur, 'Multiply', 'RealDiv');
    if (sc != null) {
      const ws = withScalar(g, sc);
      if (ws == null) return false;
      scale = sc.op === 'RealDiv' ? 1 / ws[1] : ws[1];
      cur = ws[0];
      nodes.push(sc);
    }
    const mm = qk(cur);
    if (mm == null) return false;
    nodes.push(mm);
    const [q, k] = mm.inputs;
    const qs = g.value(q).shape, ks = g.value(k).shape, vs = g.value(v).shape;
    const r = qs.length;
    if (r < 2 || ks.length !== r || vs.length !== r) return false;
    if (![q, k, v].every((x) => g.value(x).dtype === 'float32')) return false;
    const batch = qs.slice(0, r - 2);
    if (!util.arraysEqual(ks.slice(0, r - 2), batch) || !util.arraysEqual(vs.slice(0, r - 2), batch)) return false;
    const [Sq, D] = qs.slice(r - 2), [Sk, Dk] = ks.slice(r - 2), [Sv, Dv] = vs.slice(r - 2);
    if (Dk !== D || Sv !== Sk) return false;
    const B = sizeOf(batch);
    let maskBatch = 1;
    if (mask != null) {
      const ms = g.value(mask).shape;
      if (g.value(mask).dtype !== 'float32' || ms.length > r || ms[ms.length - 1] !== Sk || (ms.length >= 2 && ms[ms.length - 2] !== Sq)) return false;
      if (sizeOf(ms) === Sq * Sk) maskBatch = 1;
      else if (util.arraysEqual(ms, [...batch, Sq, Sk])) maskBatch = B;
      else return false;
    }
    if (!closed(g, ctx, nodes, n)) return false;
    replaceWith(g, nodes, n, 'ab.SDPA', [q, k, v, ...(mask != null ? [mask] : [])], {scale, maskBatch, B, Sq, Sk, D, Dv});
    return true;
  },
};

export const PATTERN_RULES: Rule[] = [layerNorm, rmsNorm, attention];

function normOp(rms: 0|1) {
  return ({inputs, attrs, backend}: {inputs: TensorInfo[], attrs: {[k: string]: unknown}, backend: never}) => {
    if (native == null) throw new Error('afterburner: graph norm ops need the native addon');
    const x = inputs[0];
    const cols = x.shape[x.shape.length - 1];
    const n = sizeOf(x.shape);
    let i = 1;
    const gamma = attrs.gamma ? f32(backend, inputs[i++]) : null;
    const beta = attrs.beta ? f32(backend, inputs[i++]) : null;
    const out = newOutput(n);
    native.normRows(rms, f32(backend, x), gamma, beta, out, cols === 0 ? 0 : n / cols, cols, attrs.eps as number);
    return [(backend as unknown as {makeTensorInfo(s: number[], d: string, v: Float32Array): TensorInfo}).makeTensorInfo(x.shape, 'float32', out)];
  };
}

registerGraphOp('ab.LayerNorm', normOp(0) as never);
registerGraphOp('ab.RMSNorm', normOp(1) as never);
registerGraphOp('ab.SDPA', ({inputs, attrs, backend}) => {
  if (native == null) throw new Error('afterburner: ab.SDPA needs the native addon');
  const [q, k, v, mask] = inputs;
  const a = attrs as {[k: string]: number};
  const outShape = [...q.shape.slice(0, -1), a.Dv];
  const out = newOutput(sizeOf(outShape));
  native.sdpa(f32(backend, q), f32(backend, k), f32(backend, v), mask ? f32(backend, mask) : null, a.maskBatch,
              [a.B, a.Sq, a.Sk, a.D, a.Dv], a.scale, out);
  return [backend.makeTensorInfo(outShape, 'float32', out)];
});

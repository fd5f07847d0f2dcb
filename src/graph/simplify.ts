// SPDX-License-Identifier: Apache-2.0
// Simplification rules: no-ops removed (Identity, a Reshape to the same shape, a Slice of the
// whole tensor, a Transpose by the identity permutation), chains of Reshapes and of Transposes
// collapsed, and the rank-3 detour tfjs-layers' Dense takes for a 2-D input (reshape to [1,M,K],
// batched matmul, reshape back) turned into one 2-D matmul, so its bias and activation can fuse.
import {util} from '@tensorflow/tfjs-core';

import {sizeOf} from '../backend/kernel-utils';
import {Graph, Node, ValueId} from './ir';
import {fusible, Rule} from './passes';


/** `n`'s single output is replaced by `v` everywhere; `n` goes. */
function alias(g: Graph, n: Node, v: ValueId): true {
  g.replaceAllUses(n.outputs[0], v);
  g.removeNode(n);
  return true;
}

const noOps: Rule = {
  name: 'no-ops removed',
  ops: ['Identity', 'Reshape', 'Slice', 'Transpose', 'Cast'],
  apply(g, n) {
    const x = n.inputs[0], xv = g.value(x), out = g.value(n.outputs[0]);
    if (n.outputs.length !== 1 || !util.arraysEqual(xv.shape, out.shape) || xv.dtype !== out.dtype) return false;
    if (n.op === 'Transpose') {
      const perm = n.attrs.perm as number[];
      if (!perm.every((p, i) => p === i)) return false;
    }
    if (n.op === 'Slice') {
      const begin = n.attrs.begin as number[];
      if (!begin.every((b) => b === 0)) return false;
    }
    return alias(g, n, x);
  },
};

/** Reshape(Reshape(x)) -> Reshape(x); Transpose(Transpose(x, p), q) -> Transpose(x, p∘q). */
const chains: Rule = {
  name: 'reshape/transpose chains collapsed',
  ops: ['Reshape', 'Transpose'],
  apply(g, n) {
    const p = g.producer(n.inputs[0]);
    if (p == null || p.op !== n.op) return false;
    // The inner node stays if something else reads it (dead-code elimination drops it otherwise).
    if (n.op === 'Reshape') {
      n.inputs = [p.inputs[0]];
      return true;
    }
    const inner = p.attrs.perm as number[], outer = n.attrs.perm as number[];
    n.inputs = [p.inputs[0]];
    n.attrs = {...n.attrs, perm: outer.map((i) => inner[i])};
    return true;
  },
};

/**
 * Reshape(BatchMatMul(Reshape(x2d -> [1,M,K]), B[1,K,N] const) -> [M,N]) is a 2-D matmul of x2d by
 * B[K,N]. (Dense on a 2-D input in tfjs-layers goes through rank 3.)
 */
const matmulRank3: Rule = {
  name: 'matmul reshapes removed',
  ops: ['Reshape'],
  apply(g, n, ctx) {
    const mm = g.producer(n.inputs[0]);
    if (mm == null || (mm.op !== 'BatchMatMul' && mm.op !== '_FusedMatMul') || mm.inputNames == null) return false;
    if (mm.attrs.transposeA || mm.inputNames.includes('preluActivationWeights')) return false;
    if (!fusible(g, ctx, n.inputs[0])) return false;
    const at = (name: string) => mm.inputs[mm.inputNames!.indexOf(name)];
    const aV = at('a'), bV = at('b');
    const biasV = mm.inputNames.includes('bias') ? at('bias') : undefined;
    const ra = g.producer(aV);
    if (ra == null || ra.op !== 'Reshape' || !g.isConstant(bV)) return false;
    const x = ra.inputs[0], xs = g.value(x).shape, as = g.value(aV).shape, bs = g.value(bV).shape;
    const out = g.value(n.outputs[0]).shape;
    if (xs.length !== 2 || as.length !== 3 || as[0] !== 1 || bs.length !== 3 || bs[0] !== 1) return false;
    const N = g.value(mm.outputs[0]).shape[2];
    if (!util.arraysEqual(out, [xs[0], N])) return false;
    // A bias must broadcast along the last axis only (N values), so it means the same in 2-D.
    // A bias of rank > 1 would broadcast the 2-D result back up: constants are reshaped to [N].
    let bias2 = biasV;
    if (biasV != null) {
      const bsh = g.value(biasV).shape;
      if (sizeOf(bsh) !== N) return false;
      if (bsh.length > 1) {
        if (!g.isConstant(biasV)) return false;
        bias2 = g.addConstant([N], g.value(biasV).dtype, g.constants.get(biasV)!);
      }
    }
    const b2 = g.addConstant(bs.slice(1), g.value(bV).dtype, g.constants.get(bV)!);
    const ins = bias2 != null ? [x, b2, bias2] : [x, b2];
    const fused = g.insertNodeBefore(mm, mm.op, ins, bias2 != null ? ['a', 'b', 'bias'] : ['a', 'b'], {...mm.attrs},
                                     [{shape: out, dtype: g.value(n.outputs[0]).dtype}]);
    g.replaceAllUses(n.outputs[0], fused.outputs[0]);
    g.removeNode(n);
    return true;
  },
};

/**
 * MaxPool / AvgPool of a channel Concat (NHWC, axis 3) read only by the pool -> Concat of the
 * pools: pooling is per channel, and the kernels sum or compare each channel's window in the same
 * order whatever the channel count, so the result is bitwise the same. The concat is then made of
 * pooled (smaller) tensors: a global average pool after a skip-connection concat (MediaPipe's
 * squeeze-and-excite blocks) no longer materializes the full-size concat.
 */
const poolThroughConcat: Rule = {
  name: 'pools pushed through concats',
  ops: ['MaxPool', 'AvgPool'],
  apply(g, n, ctx) {
    const x = n.inputs[0];
    const c = g.producer(x);
    if (c == null || c.op !== 'Concat' || n.outputs.length !== 1 || !fusible(g, ctx, x)) return false;
    const out = g.value(n.outputs[0]);
    const axis = c.attrs.axis as number;
    if (out.shape.length !== 4 || (axis !== 3 && axis !== -1) || out.dtype !== 'float32') return false;
    if (!c.inputs.every((v) => g.value(v).shape.length === 4 && g.value(v).dtype === 'float32')) return false;
    const pooled = c.inputs.map((v) => g.insertNodeBefore(n, n.op, [v], n.inputNames, {...n.attrs},
        [{shape: [out.shape[0], out.shape[1], out.shape[2], g.value(v).shape[3]], dtype: 'float32'}]).outputs[0]);
    const cat = g.insertNodeBefore(n, 'Concat', pooled, c.inputNames && pooled.map((_, i) => c.inputNames![i]), {...c.attrs},
        [{shape: out.shape.slice(), dtype: 'float32'}]);
    return alias(g, n, cat.outputs[0]);
  },
};

export const SIMPLIFY_RULES: Rule[] = [noOps, chains, matmulRank3, poolThroughConcat];

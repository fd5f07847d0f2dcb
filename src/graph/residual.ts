// SPDX-License-Identifier: Apache-2.0
// 'ab.FusedConv2DAdd': act(conv2d(x, filter) + bias + addend), NHWC — a convolution with its
// residual add in the GEMM epilogue (fusion.ts's residualAdd rule makes it); 'ab.FusedMatMulAdd':
// act(op(a) op(b) + bias + addend), the same for a matmul. The addend is added
// after the bias and before the activation, each step rounded to float32 as the separate ops
// round, so the result is bitwise that of FusedConv2D followed by Add (and the activation). Its
// output may be the addend's own memory (the planner's in-place rule, executor.ts): the native
// epilogue reads each addend element before it writes the output element over it.
import type {FusedConv2DAttrs, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {native} from '../binding';
import {convInfo, runConv2D} from '../backend/kernels/conv';
import {runFused} from '../backend/kernels/fused';
import {matmulShape, runMatMul} from '../backend/kernels/matmul';
import {weightCacheOf} from '../backend/weight-cache';
import {kernelRunner, registerGraphOp, RESIDUAL_OP} from './executor';
import {IrError} from './ir';

export {RESIDUAL_OP};
export const MATMUL_RESIDUAL_OP = 'ab.FusedMatMulAdd';

/** The activation attr -> its tfjs kernel (for the unfused form). */
const ACT_KERNEL: {[a: string]: string} = {
  relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu', prelu: 'Prelu',
};

/** The node's input named k (undefined when it has none). */
function byName(op: string, inputs: TensorInfo[], names: string[]|null): (k: string) => TensorInfo|undefined {
  if (names == null) throw new IrError(`${op}: the node has no input names`);
  return (k) => {
    const i = names.indexOf(k);
    return i < 0 ? undefined : inputs[i];
  };
}

/** act(y + addend) with the tfjs kernels (y is consumed). */
function unfusedTail(backend: MathBackendCPU, y: TensorInfo, addend: TensorInfo, act: string, alpha: number|undefined,
                     prelu: TensorInfo|undefined): TensorInfo {
  const z = kernelRunner(backend, 'Add', ['a', 'b'], {})([y, addend])[0];
  backend.disposeIntermediateTensorInfo(y);
  if (act === 'linear') return z;
  const k = ACT_KERNEL[act];
  if (k == null) throw new IrError(`unknown fused activation '${act}'`);
  const ins = act === 'prelu' ? [z, prelu!] : [z];
  const w = kernelRunner(backend, k, act === 'prelu' ? ['x', 'alpha'] : ['x'], act === 'leakyrelu' ? {alpha: alpha ?? 0.2} : {})(ins)[0];
  backend.disposeIntermediateTensorInfo(z);
  return w;
}

registerGraphOp(RESIDUAL_OP, ({inputs, attrs, backend, names}) => {
  const get = byName(RESIDUAL_OP, inputs, names);
  const x = get('x'), filter = get('filter'), addend = get('addend'), bias = get('bias'), prelu = get('preluActivationWeights');
  if (x == null || filter == null || addend == null) throw new IrError(`${RESIDUAL_OP}: needs x, filter and addend`);
  const a = attrs as unknown as FusedConv2DAttrs;
  const nhwc = a.dataFormat == null || a.dataFormat === 'NHWC';
  if (native != null && nhwc && x.dtype === 'float32' && x.shape[3] === filter.shape[2]) {
    const c = convInfo(x, filter, {...a, dataFormat: 'NHWC'}, false);
    if (c.outShape.join() === addend.shape.join()) {
      const nat = native;
      return [runFused(backend, nat, c.outShape, -1, c.outChannels,
                       {bias, prelu, activation: a.activation, leakyreluAlpha: a.leakyreluAlpha, addend},
                       (ep) => runConv2D(backend, nat, x, filter, c, ep))];
    }
  }
  // The unfused form: FusedConv2D (bias, linear), Add, the activation.
  const convNames = ['x', 'filter', ...(bias ? ['bias'] : [])];
  const conv = kernelRunner(backend, 'FusedConv2D', convNames, {...a, activation: 'linear'})(bias ? [x, filter, bias] : [x, filter])[0];
  return [unfusedTail(backend, conv, addend, a.activation ?? 'linear', a.leakyreluAlpha, prelu)];
});

registerGraphOp(MATMUL_RESIDUAL_OP, ({inputs, attrs, backend, names}) => {
  const get = byName(MATMUL_RESIDUAL_OP, inputs, names);
  const a = get('a'), b = get('b'), addend = get('addend'), bias = get('bias'), prelu = get('preluActivationWeights');
  if (a == null || b == null || addend == null) throw new IrError(`${MATMUL_RESIDUAL_OP}: needs a, b and addend`);
  const at = attrs as {transposeA?: boolean, transposeB?: boolean, activation?: string, leakyreluAlpha?: number};
  const ta = at.transposeA ?? false, tb = at.transposeB ?? false;
  // A b marked bf16 / int8 / int4 runs its packed GEMM, which takes no addend: the unfused form.
  const wc = weightCacheOf(backend);
  const marked = wc != null && (wc.isBf16(b) || wc.quantOf(b) != null);
  if (native != null && !marked && a.dtype === 'float32' && b.dtype === 'float32') {
    const s = matmulShape(a, b, ta, tb);
    if (s.outShape.join() === addend.shape.join()) {
      const nat = native;
      return [runFused(backend, nat, s.outShape, s.M, s.N,
                       {bias, prelu, activation: at.activation, leakyreluAlpha: at.leakyreluAlpha, addend},
                       (ep) => runMatMul(backend, nat, a, b, ta, tb, ep))];
    }
  }
  const mmNames = ['a', 'b', ...(bias ? ['bias'] : [])];
  const mm = kernelRunner(backend, '_FusedMatMul', mmNames, {...at, activation: 'linear'})(bias ? [a, b, bias] : [a, b])[0];
  return [unfusedTail(backend, mm, addend, at.activation ?? 'linear', at.leakyreluAlpha, prelu)];
});

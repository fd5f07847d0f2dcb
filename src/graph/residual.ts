// SPDX-License-Identifier: Apache-2.0
// 'ab.FusedConv2DAdd': act(conv2d(x, filter) + bias + addend), NHWC — a convolution with its
// residual add in the GEMM epilogue (fusion.ts's residualAdd rule makes it). The addend is added
// after the bias and before the activation, each step rounded to float32 as the separate ops
// round, so the result is bitwise that of FusedConv2D followed by Add (and the activation). Its
// output may be the addend's own memory (the planner's in-place rule, executor.ts): the native
// epilogue reads each addend element before it writes the output element over it.
import type {FusedConv2DAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {native} from '../binding';
import {convInfo, runConv2D} from '../backend/kernels/conv';
import {runFused} from '../backend/kernels/fused';
import {kernelRunner, registerGraphOp, RESIDUAL_OP} from './executor';
import {IrError} from './ir';

export {RESIDUAL_OP};

/** The activation attr -> its tfjs kernel (for the unfused form). */
const ACT_KERNEL: {[a: string]: string} = {
  relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu', prelu: 'Prelu',
};

registerGraphOp(RESIDUAL_OP, ({inputs, attrs, backend, names}) => {
  if (names == null) throw new IrError(`${RESIDUAL_OP}: the node has no input names`);
  const get = (k: string): TensorInfo|undefined => {
    const i = names.indexOf(k);
    return i < 0 ? undefined : inputs[i];
  };
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
  let y = kernelRunner(backend, 'Add', ['a', 'b'], {})([conv, addend])[0];
  backend.disposeIntermediateTensorInfo(conv);
  const act = a.activation ?? 'linear';
  if (act !== 'linear') {
    const k = ACT_KERNEL[act];
    if (k == null) throw new IrError(`${RESIDUAL_OP}: unknown activation '${act}'`);
    const ins = act === 'prelu' ? [y, prelu!] : [y];
    const z = kernelRunner(backend, k, act === 'prelu' ? ['x', 'alpha'] : ['x'], act === 'leakyrelu' ? {alpha: a.leakyreluAlpha ?? 0.2} : {})(ins)[0];
    backend.disposeIntermediateTensorInfo(y);
    y = z;
  }
  return [y];
});

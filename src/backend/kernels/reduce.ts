// SPDX-License-Identifier: Apache-2.0
// Shared by Sum, Mean, Max, Min, Prod: axes -> [outer, r, inner] and one native call. Reduced
// axes that are not adjacent are first made innermost with the (cpu) Transpose kernel.
import {backend_util, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {ReduceOp, ReduceOpName} from '../../op-codes';
import {cpuKernel, f32, markJsCompute, nativeKernel, newOutput, output, sizeOf} from '../kernel-utils';

const transpose = cpuKernel('Transpose');

export function reduceKernel(name: ReduceOpName, axisAttr: 'axis'|'reductionIndices'): KernelConfig {
  const op = ReduceOp[name];
  return nativeKernel(name, ['x'], ({inputs, backend, attrs}, nat) => {
    const x = inputs.x as TensorInfo;
    const keepDims = Boolean(attrs!.keepDims);
    const axes = util.parseAxisParam(attrs![axisAttr] as number|number[], x.shape);
    const sorted = [...new Set(axes)].sort((p, q) => p - q);
    const rank = x.shape.length;
    let src = x, outer: number, r: number, inner: number;
    const contiguous = sorted.length === 0 || sorted[sorted.length - 1] - sorted[0] === sorted.length - 1;
    if (contiguous && sorted.length > 0) {
      outer = sizeOf(x.shape.slice(0, sorted[0]));
      r = sizeOf(x.shape.slice(sorted[0], sorted[sorted.length - 1] + 1));
      inner = sizeOf(x.shape.slice(sorted[sorted.length - 1] + 1));
    } else if (sorted.length === 0) {
      outer = sizeOf(x.shape);
      r = 1;
      inner = 1;
    } else {
      const perm = backend_util.getAxesPermutation(sorted, rank)!;
      markJsCompute();  // the cpu Transpose computes in JS
      src = transpose({inputs: {x}, backend, attrs: {perm}} as never) as TensorInfo;
      r = sizeOf(sorted.map((a) => x.shape[a]));
      outer = r === 0 ? sizeOf(x.shape.filter((_, i) => !sorted.includes(i))) : sizeOf(x.shape) / r;
      inner = 1;
    }
    const out = newOutput(outer * inner);
    nat.reduce(op, f32(backend, src), out, outer, r, inner);
    if (src !== x) backend.disposeIntermediateTensorInfo(src);
    const outShape = keepDims ? x.shape.map((d, i) => (sorted.includes(i) ? 1 : d)) :
                                x.shape.filter((_, i) => !sorted.includes(i));
    return output(backend, outShape, out);
  });
}

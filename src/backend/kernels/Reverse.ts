// SPDX-License-Identifier: Apache-2.0
// Reverse: a strided copy with negative strides on the reversed dims.
import {ReverseAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {data4, movementKernel, stridedCopy, stridesOf} from './movement';

export const ReverseConfig = movementKernel('Reverse', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo;
  const {dims} = attrs as unknown as ReverseAttrs;
  if (x.shape.length === 0) return null;  // tfjs-cpu's identity (shared)
  const $dims = util.parseAxisParam(dims, x.shape);
  const xData = data4(backend, x);
  if (xData == null) return null;
  const xs = stridesOf(x.shape);
  let offset = 0;
  const strides = xs.slice();
  // A dim listed twice is reversed twice, as tfjs-cpu's loop does: only odd counts reverse.
  for (let d = 0; d < x.shape.length; ++d) {
    if ($dims.filter((e) => e === d).length % 2 === 0) continue;
    if (x.shape[d] > 0) offset += (x.shape[d] - 1) * xs[d];
    strides[d] = -xs[d];
  }
  return stridedCopy(backend, nat, x, xData, x.shape, offset, strides, x.shape.slice());
});

// SPDX-License-Identifier: Apache-2.0
// MirrorPad ('reflect' / 'symmetric'): rows of the output built from mirrored source rows, with
// tfjs-cpu's index mapping.
import {MirrorPadAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {data4, movementKernel, newData4, product} from './movement';

export const MirrorPadConfig = movementKernel('MirrorPad', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo;
  const {paddings, mode} = attrs as unknown as MirrorPadAttrs;
  const offset = mode === 'reflect' ? 0 : 1;
  if (paddings.length !== x.shape.length ||
      paddings.some(([b, a], k) => b < 0 || a < 0 || b > x.shape[k] - 1 + offset || a > x.shape[k] - 1 + offset)) {
    return null;
  }
  const xData = data4(backend, x);
  if (xData == null) return null;
  const outShape = paddings.map(([b, a], k) => b + x.shape[k] + a);
  const out = newData4(x.dtype, product(outShape));
  nat.mirrorPad(xData, out, x.shape, paddings.map((p) => p[0]), paddings.map((p) => p[1]), offset);
  return backend.makeTensorInfo(outShape, x.dtype, out);
});

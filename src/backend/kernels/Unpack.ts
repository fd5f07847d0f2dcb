// SPDX-License-Identifier: Apache-2.0
// Unpack (unstack): each piece a native strided copy; when the pieces are contiguous (unstacking
// the leading axis), tfjs-cpu's shared views (the cpu kernel).
import {TensorInfo, UnpackAttrs} from '@tensorflow/tfjs-core';

import {data4, movementKernel, stridedCopy, stridesOf} from './movement';

export const UnpackConfig = movementKernel('Unpack', ({inputs, backend, attrs}, nat) => {
  const value = inputs.value as TensorInfo;
  let {axis} = attrs as unknown as UnpackAttrs;
  if (axis < 0) axis += value.shape.length;
  if (value.shape.slice(0, axis).every((d) => d === 1)) return null;  // contiguous: shared by the cpu kernel
  const xData = data4(backend, value);
  if (xData == null) return null;
  const xs = stridesOf(value.shape);
  const size = value.shape.slice();
  size[axis] = 1;
  const outShape = value.shape.filter((_, k) => k !== axis);
  const res: TensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]; ++i) res.push(stridedCopy(backend, nat, value, xData, size, i * xs[axis], xs, outShape, false));
  return res as unknown as TensorInfo;
});

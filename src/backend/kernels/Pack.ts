// SPDX-License-Identifier: Apache-2.0
// Pack (stack): a concat of the inputs along the new axis, one native pass. A single input is
// tfjs-cpu's shared expandDims (the cpu kernel).
import {PackAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {Data4} from '../../binding';
import {data4, movementKernel, newData4, product} from './movement';

export const PackConfig = movementKernel('Pack', ({inputs, backend, attrs}, nat) => {
  const all = inputs as unknown as TensorInfo[];
  if (all.length <= 1) return null;
  const {shape, dtype} = all[0];
  if ((dtype !== 'float32' && dtype !== 'int32') || all.some((t) => t.dtype !== dtype || !util.arraysEqual(t.shape, shape))) {
    return null;  // the cpu kernel's checks and messages
  }
  let {axis} = attrs as unknown as PackAttrs;
  if (axis < 0) axis += shape.length + 1;
  if (axis < 0 || axis > shape.length) return null;
  const arrays: Data4[] = [];
  for (const t of all) {
    const d = data4(backend, t);
    if (d == null) return null;
    arrays.push(d);
  }
  const outShape = [...shape.slice(0, axis), all.length, ...shape.slice(axis)];
  const out = newData4(dtype, product(outShape));
  const inner = product(shape.slice(axis));
  nat.concat(arrays, arrays.map(() => inner), out, product(shape.slice(0, axis)));
  return backend.makeTensorInfo(outShape, dtype, out);
});

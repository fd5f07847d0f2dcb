// SPDX-License-Identifier: Apache-2.0
// Concat along any axis: every input viewed as [outer, inner_i], output rows written in one pass.
// As tfjs-cpu: an empty result, or a single non-empty input (shared, not copied), is the cpu kernel's.
import {backend_util, ConcatAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {Data4} from '../../binding';
import {data4, movementKernel, newData4, product} from './movement';

export const ConcatConfig = movementKernel('Concat', ({inputs, backend, attrs}, nat) => {
  const all = inputs as unknown as TensorInfo[];
  if (all.length === 0) return null;
  const dtype = all[0].dtype;
  if ((dtype !== 'float32' && dtype !== 'int32') || all.some((t) => t.dtype !== dtype)) return null;
  const {axis} = attrs as unknown as ConcatAttrs;
  const $axis = util.parseAxisParam(axis, all[0].shape)[0];
  backend_util.assertParamsConsistent(all.map((t) => t.shape), $axis);
  const outShape = backend_util.computeOutShape(all.map((t) => t.shape), $axis);
  const kept = all.filter((t) => product(t.shape) > 0);
  if (product(outShape) === 0 || kept.length <= 1) return null;
  const arrays: Data4[] = [];
  for (const t of kept) {
    const d = data4(backend, t);
    if (d == null) return null;
    arrays.push(d);
  }
  const outer = product(outShape.slice(0, $axis));
  const out = newData4(dtype, product(outShape));
  nat.concat(arrays, kept.map((t) => product(t.shape.slice($axis))), out, outer);
  return backend.makeTensorInfo(outShape, dtype, out);
});

// SPDX-License-Identifier: Apache-2.0
// Transpose: a strided copy (dims that stay together collapse; an inner swap such as NHWC <-> NCHW
// runs as a cache-blocked 2-D transpose).
import {TransposeAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {data4, movementKernel, stridedCopy, stridesOf} from './movement';

export const TransposeConfig = movementKernel('Transpose', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo;
  const {perm} = attrs as unknown as TransposeAttrs;
  const xData = data4(backend, x);
  if (xData == null || perm.length !== x.shape.length) return null;
  const xs = stridesOf(x.shape);
  const shape = perm.map((p) => x.shape[p]);
  return stridedCopy(backend, nat, x, xData, shape, 0, perm.map((p) => xs[p]), shape);
});

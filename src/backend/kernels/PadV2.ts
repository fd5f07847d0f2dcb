// SPDX-License-Identifier: Apache-2.0
// PadV2 (constant padding): each output row written once (pad, copied row, pad).
import {PadV2Attrs, TensorInfo} from '@tensorflow/tfjs-core';

import {data4, movementKernel, newData4, product} from './movement';

export const PadV2Config = movementKernel('PadV2', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo;
  const {paddings, constantValue} = attrs as unknown as PadV2Attrs;
  if (paddings.length !== x.shape.length || paddings.some(([b, a]) => b < 0 || a < 0)) return null;
  const xData = data4(backend, x);
  if (xData == null) return null;
  const outShape = paddings.map(([b, a], k) => b + x.shape[k] + a);
  const out = newData4(x.dtype, product(outShape));
  nat.pad(xData, out, x.shape, paddings.map((p) => p[0]), paddings.map((p) => p[1]), constantValue);
  return backend.makeTensorInfo(outShape, x.dtype, out);
});

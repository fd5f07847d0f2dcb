// SPDX-License-Identifier: Apache-2.0
// DepthToSpace (NHWC, float32): a strided copy of x viewed as [N, H, b, W, b, C / b^2].
// tfjs-cpu writes a Float32Array whatever the dtype; int32 keeps its kernel.
import {DepthToSpaceAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {data4, movementKernel, stridedCopy} from './movement';

export const DepthToSpaceConfig = movementKernel('DepthToSpace', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo;
  const {blockSize: b, dataFormat} = attrs as unknown as DepthToSpaceAttrs;
  if (dataFormat !== 'NHWC' || x.dtype !== 'float32' || x.shape.length !== 4) return null;
  const [N, H, W, C] = x.shape;
  const D = C / (b * b);
  if (!Number.isInteger(D) || b < 1) return null;
  const xData = data4(backend, x);
  if (xData == null) return null;
  // out[n, h * b + i, w * b + j, d] = x[n, h, w, (i * b + j) * D + d]
  return stridedCopy(backend, nat, x, xData, [N, H, b, W, b, D], 0, [H * W * C, W * C, b * D, C, D, 1], [N, H * b, W * b, D]);
});

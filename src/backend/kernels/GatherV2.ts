// SPDX-License-Identifier: Apache-2.0
// GatherV2: slices of x copied by index (one element at a time when the slice is a single value).
// Out-of-range indices go to the cpu kernel, which throws its own error.
import {backend_util, GatherV2Attrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {data4, movementKernel, newData4, product} from './movement';

export const GatherV2Config = movementKernel('GatherV2', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo, indices = inputs.indices as TensorInfo;
  const {axis, batchDims} = attrs as unknown as GatherV2Attrs;
  const idx = backend.data.get(indices.dataId).values;
  if (!(idx instanceof Int32Array)) return null;
  const parsedAxis = util.parseAxisParam(axis, x.shape)[0];
  const dim = x.shape[parsedAxis];
  for (let i = 0; i < idx.length; ++i) {
    if (idx[i] < 0 || idx[i] >= dim) return null;
  }
  const xData = data4(backend, x);
  if (xData == null) return null;
  const info = backend_util.segment_util.collectGatherOpShapeInfo(
      x as never, indices as never, parsedAxis, batchDims ?? 0);
  const n = product(indices.shape) / info.batchSize;
  const out = newData4(x.dtype, product(info.outputShape));
  nat.gather(xData, idx, out, [info.batchSize, info.outerSize, info.dimSize, info.sliceSize, n]);
  return backend.makeTensorInfo(info.outputShape, x.dtype, out);
});

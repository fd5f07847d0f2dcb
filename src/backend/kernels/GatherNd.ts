// SPDX-License-Identifier: Apache-2.0
// GatherNd: slices of params copied bitwise by flattened index (float32 and int32 params, int32
// indices), with tfjs-cpu's rule: the flattened index, not each coordinate, must lie in
// [0, number of slices). Out-of-range indices, empty outputs and other dtypes run the cpu kernel
// (which throws its own error for bad indices).
import {backend_util, TensorInfo} from '@tensorflow/tfjs-core';

import {nativeOrCpu} from './compare';
import {data4, newData4} from './movement';

export const GatherNdConfig = nativeOrCpu('GatherNd', ({inputs, backend}, nat) => {
  const params = inputs.params as TensorInfo, indices = inputs.indices as TensorInfo;
  const idx = backend.data.get(indices.dataId).values;
  if (!(idx instanceof Int32Array) || indices.dtype !== 'int32') return null;
  const [resultShape, numSlices, sliceSize, strides] = backend_util.prepareAndValidate(params as never, indices as never);
  if (numSlices === 0 || sliceSize === 0 || strides.length === 0) return null;
  const p = data4(backend, params);
  if (p == null) return null;
  const out = newData4(params.dtype, numSlices * sliceSize);
  if (!nat.gatherNd(p, idx, out, sliceSize, strides)) return null;
  return backend.makeTensorInfo(resultShape, params.dtype, out);
});

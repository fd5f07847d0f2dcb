// SPDX-License-Identifier: Apache-2.0
// TopK over the last axis: a native selection in tfjs-cpu's order (greater value first, equal
// values by lower index), threads over rows or over pieces of one long row. tfjs-cpu's own result
// is unique there, except: unsorted partial selections (the order its Floyd-Rivest select leaves)
// and float rows with NaN or +-Inf (its comparator returns NaN for them, and which elements it then
// keeps depends on its algorithm): those, empty tensors and other dtypes run the cpu kernel.
import {TensorInfo, TopKAttrs} from '@tensorflow/tfjs-core';

import {nativeOrCpu} from './compare';

export const TopKConfig = nativeOrCpu('TopK', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo;
  const {k, sorted} = attrs as unknown as TopKAttrs;
  const values = backend.data.get(x.dataId).values;
  const f32 = x.dtype === 'float32' && values instanceof Float32Array;
  if (!f32 && !(x.dtype === 'int32' && values instanceof Int32Array)) return null;
  const rank = x.shape.length;
  const n = rank > 0 ? x.shape[rank - 1] : 0;
  const size = (values as Float32Array).length;
  if (n === 0 || size === 0 || !Number.isInteger(k) || k < 0 || k > n) return null;
  if (!sorted && k < n) return null;
  const rows = size / n;
  const vals = f32 ? new Float32Array(rows * k) : new Int32Array(rows * k);
  const idx = new Int32Array(rows * k);
  // Whether the native selection applies (no NaN/Inf in a float row) depends on the data: in a
  // native plan the call checks at each replay and, when a row has NaN/Inf, asks for this node to
  // run from JS (native/addon/capture.h kRunInJs; src/graph/native-plan.ts), i.e. tfjs-cpu's kernel.
  if (!nat.topK(values as Float32Array | Int32Array, rows, n, k, Boolean(sorted), vals, idx)) return null;
  const outShape = x.shape.slice();
  outShape[rank - 1] = k;
  return [backend.makeTensorInfo(outShape, x.dtype, vals), backend.makeTensorInfo(outShape, 'int32', idx)];
});

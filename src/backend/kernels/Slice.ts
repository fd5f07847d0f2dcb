// SPDX-License-Identifier: Apache-2.0
// Slice: a contiguous slice stays tfjs-cpu's zero-copy view of the input (the cpu kernel); any
// other is a native strided copy.
import {slice_util, SliceAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {data4, movementKernel, stridedCopy, stridesOf} from './movement';

export const SliceConfig = movementKernel('Slice', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo;
  const {begin, size} = attrs as unknown as SliceAttrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return null;
  const [$begin, $size] = slice_util.parseSliceParams(x as never, begin, size);
  slice_util.assertParamsValid(x as never, $begin, $size);
  if (slice_util.isSliceContinous(x.shape, $begin, $size)) return null;  // the cpu kernel shares the data
  const xData = data4(backend, x);
  if (xData == null) return null;
  const xs = stridesOf(x.shape);
  const offset = $begin.reduce((o, b, k) => o + b * xs[k], 0);
  return stridedCopy(backend, nat, x, xData, $size, offset, xs, $size);
});

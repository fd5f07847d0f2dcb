// SPDX-License-Identifier: Apache-2.0
// Slice: a contiguous slice stays tfjs-cpu's zero-copy view of the input (the cpu kernel); any
// other is a native strided copy.
import {slice_util, SliceAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {movementKernel, sliceOrView} from './movement';

export const SliceConfig = movementKernel('Slice', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo;
  const {begin, size} = attrs as unknown as SliceAttrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return null;
  const [$begin, $size] = slice_util.parseSliceParams(x as never, begin, size);
  slice_util.assertParamsValid(x as never, $begin, $size);
  if (slice_util.isSliceContinous(x.shape, $begin, $size)) return null;  // the cpu kernel shares the data
  return sliceOrView(backend, nat, x, $begin, $size);
});

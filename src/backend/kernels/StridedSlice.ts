// SPDX-License-Identifier: Apache-2.0
// StridedSlice, after tfjs-cpu's own case analysis: identity and contiguous simple slices stay the
// cpu kernel's shared data (a reshape or view); the rest is one native strided copy (negative
// strides included). With shrink axes and a non-unit stride, tfjs-cpu indexes its input with fewer
// coordinates than dims; that case keeps the cpu kernel so its results stay identical.
import {slice_util, StridedSliceAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {data4, movementKernel, product, stridedCopy, stridesOf} from './movement';

export const StridedSliceConfig = movementKernel('StridedSlice', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return null;
  const {begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask} =
      attrs as unknown as StridedSliceAttrs;
  const info = slice_util.sliceInfo(
      x.shape, begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask);
  if (info.isIdentity) return null;
  const xs = stridesOf(x.shape);
  let start: number[], shape: number[], strideList: number[];
  if (info.sliceDim0 || info.isSimpleSlice) {
    // The cpu kernel's Slice(begin, size), then a reshape to the final shape.
    const size = slice_util.computeOutShape(info.begin, info.end, info.strides);
    [start, shape] = slice_util.parseSliceParams(x as never, info.begin, size);
    slice_util.assertParamsValid(x as never, start, shape);
    if (slice_util.isSliceContinous(x.shape, start, shape)) return null;  // shared by the cpu kernel
    if (product(shape) !== product(info.finalShape)) return null;
    strideList = xs;
  } else {
    start = info.begin;
    shape = info.finalShapeSparse;
    if (shape.length !== x.shape.length) return null;
    strideList = info.strides.map((s, k) => s * xs[k]);
  }
  const xData = data4(backend, x);
  if (xData == null) return null;
  const offset = start.reduce((o, b, k) => o + b * xs[k], 0);
  return stridedCopy(backend, nat, x, xData, shape, offset, strideList, info.finalShape);
});

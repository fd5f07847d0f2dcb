// SPDX-License-Identifier: Apache-2.0
// StridedSlice, after tfjs-cpu's own case analysis: an identity slice is the cpu kernel's reshape
// (shared data), a contiguous simple slice is a view of the input's data (what the cpu kernel's
// Slice + reshape give), the rest is one native strided copy (negative strides included). With
// shrink axes and a non-unit stride, tfjs-cpu indexes its input with fewer coordinates than dims;
// that case keeps the cpu kernel so its results stay identical.
//
// tfjs's slice_util.sliceInfo costs ~3 us hot and more in a model (cold code), and models slice the
// same way every run: the plan is cached per (shape, attrs). A plan that throws is never cached.
import {KernelFunc, slice_util, StridedSliceAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuKernel} from '../kernel-utils';
import {data4, movementKernel, product, stridedCopy, stridesOf} from './movement';

type Plan = {kind: 'cpu'} | {kind: 'reshape', finalShape: number[]} |
    {kind: 'view', finalShape: number[], offset: number, length: number} |
    {kind: 'copy', finalShape: number[], offset: number, shape: number[], strides: number[]};

const reshape = cpuKernel('Reshape');
const plans = new Map<string, Plan>();
const kMaxPlans = 1024;

function planFor(xShape: number[], a: StridedSliceAttrs): Plan {
  const info = slice_util.sliceInfo(xShape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask,
                                    a.newAxisMask, a.shrinkAxisMask);
  if (info.isIdentity) return {kind: 'reshape', finalShape: info.finalShape};
  const xs = stridesOf(xShape);
  const fake = {shape: xShape} as never;
  if (info.sliceDim0 || info.isSimpleSlice) {
    // The cpu kernel's Slice(begin, size), then a reshape to the final shape.
    const size = slice_util.computeOutShape(info.begin, info.end, info.strides);
    const [start, shape] = slice_util.parseSliceParams(fake, info.begin, size);
    slice_util.assertParamsValid(fake, start, shape);
    if (product(shape) !== product(info.finalShape)) return {kind: 'cpu'};
    const offset = start.reduce((o, b, k) => o + b * xs[k], 0);
    if (slice_util.isSliceContinous(xShape, start, shape)) return {kind: 'view', finalShape: info.finalShape, offset, length: product(shape)};
    return {kind: 'copy', finalShape: info.finalShape, offset, shape, strides: xs};
  }
  const shape = info.finalShapeSparse;
  if (shape.length !== xShape.length) return {kind: 'cpu'};
  const offset = info.begin.reduce((o, b, k) => o + b * xs[k], 0);
  return {kind: 'copy', finalShape: info.finalShape, offset, shape, strides: info.strides.map((s, k) => s * xs[k])};
}

export const StridedSliceConfig = movementKernel('StridedSlice', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo;
  const a = attrs as unknown as StridedSliceAttrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') return null;
  const key = `${x.shape}|${a.begin}|${a.end}|${a.strides}|${a.beginMask},${a.endMask},${a.ellipsisMask},${a.newAxisMask},${a.shrinkAxisMask}`;
  let plan = plans.get(key);
  if (plan == null) {
    plan = planFor(x.shape, a);
    if (plans.size >= kMaxPlans) plans.clear();
    plans.set(key, plan);
  }
  switch (plan.kind) {
    case 'cpu': return null;
    case 'reshape':
      return (reshape as KernelFunc)({inputs: {x}, backend, attrs: {shape: plan.finalShape}} as never) as TensorInfo;
    case 'view': {
      // tfjs-cpu's sliceImpl: a subarray of the input's values (bool and numbers alike).
      const values = backend.data.get(x.dataId).values as Float32Array | Int32Array | Uint8Array;
      return backend.makeTensorInfo(plan.finalShape.slice(), x.dtype, values.subarray(plan.offset, plan.offset + plan.length));
    }
    case 'copy': {
      if (x.dtype === 'bool') return null;
      const xData = data4(backend, x);
      if (xData == null) return null;
      return stridedCopy(backend, nat, x, xData, plan.shape, plan.offset, plan.strides, plan.finalShape.slice());
    }
  }
});

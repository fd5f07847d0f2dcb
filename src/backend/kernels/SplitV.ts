// SPDX-License-Identifier: Apache-2.0
// SplitV: as tfjs-cpu, one Slice per piece (contiguous pieces stay shared views of the input;
// the others are native strided copies).
import {backend_util, SplitVAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {movementKernel, sliceOrView} from './movement';

export const SplitVConfig = movementKernel('SplitV', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return null;
  const {numOrSizeSplits, axis} = attrs as unknown as SplitVAttrs;
  const $axis = util.parseAxisParam(axis, x.shape)[0];
  const splitSizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, $axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  const out: TensorInfo[] = [];
  for (const s of splitSizes) {
    const size = x.shape.slice();
    size[$axis] = s;
    const t = sliceOrView(backend, nat, x, begin.slice(), size, false);
    if (t == null) {  // cannot happen after the dtype check; undo and hand over to the cpu kernel
      out.forEach((o) => backend.disposeIntermediateTensorInfo(o));
      return null;
    }
    out.push(t);
    begin[$axis] += s;
  }
  return out as unknown as TensorInfo;
});

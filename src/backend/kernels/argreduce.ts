// SPDX-License-Identifier: Apache-2.0
// Shared by ArgMax and ArgMin: the axis splits x into [outer, r, inner] and one native call scans
// it in place (tfjs-cpu transposes the axis innermost first, in JS). Same scan as tfjs-cpu: the
// first element starts as the best, a strictly greater (smaller) one replaces it.
import {KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {f32, nativeKernel, sizeOf} from '../kernel-utils';

export function argReduceKernel(name: 'ArgMax'|'ArgMin'): KernelConfig {
  return nativeKernel(name, ['x'], ({inputs, backend, attrs}, nat) => {
    const x = inputs.x as TensorInfo;
    // tfjs's op passes one axis; the kernel, like cpu's, uses the first of the parsed axes.
    const axis = util.parseAxisParam(attrs!.axis as number|number[], x.shape)[0];
    const outer = sizeOf(x.shape.slice(0, axis)), r = x.shape[axis], inner = sizeOf(x.shape.slice(axis + 1));
    const out = new Int32Array(outer * inner);
    nat.argReduce(name === 'ArgMin', f32(backend, x), out, outer, r, inner);
    return backend.makeTensorInfo(x.shape.filter((_, i) => i !== axis), 'int32', out);
  });
}

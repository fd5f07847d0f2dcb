// SPDX-License-Identifier: Apache-2.0
// AddN: one native pass over all inputs, ((0 + x0) + x1) + ... in float32 steps, tfjs-cpu's sum
// order and rounding (it adds each input into a zeroed Float32Array). Float32 inputs stored as
// Float32Array only; anything else runs the cpu kernel.
import {TensorInfo} from '@tensorflow/tfjs-core';

import {newOutput, sizeOf} from '../kernel-utils';
import {nativeOrCpu} from './compare';

export const AddNConfig = nativeOrCpu('AddN', ({inputs, backend}, nat) => {
  const ts = inputs as unknown as TensorInfo[];
  if (ts.length === 0) return null;
  const shape = ts[0].shape, n = sizeOf(shape);
  const xs: Float32Array[] = [];
  for (const t of ts) {
    const v = backend.data.get(t.dataId).values;
    if (t.dtype !== 'float32' || !(v instanceof Float32Array) || v.length !== n) return null;
    xs.push(v);
  }
  const out = newOutput(xs[0].length);
  nat.addN(xs, out);
  return backend.makeTensorInfo(shape.slice(), 'float32', out);
});

// SPDX-License-Identifier: Apache-2.0
// Cast float32 -> int32 (JavaScript's ToInt32: truncation, NaN / ±Inf -> 0, modulo 2^32) and
// float32 / int32 -> bool (x != 0, so NaN -> true) natively. Casts without encoding loss (identity,
// int32 / bool -> float32, bool -> int32) keep sharing the input's data, as tfjs-cpu does; complex
// casts are the cpu kernel's.
import {CastAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {movementKernel} from './movement';

export const CastConfig = movementKernel('Cast', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo;
  const {dtype} = attrs as unknown as CastAttrs;
  if (dtype === 'complex64' || x.dtype === 'complex64' || !util.hasEncodingLoss(x.dtype, dtype)) return null;
  const values = backend.data.get(x.dataId).values;
  const n = util.sizeFromShape(x.shape);
  if (values == null || (values as ArrayLike<number>).length !== n) return null;
  if (dtype === 'int32' && values instanceof Float32Array) {
    const out = new Int32Array(n);
    nat.cast(values, out);
    return backend.makeTensorInfo(x.shape, 'int32', out);
  }
  if (dtype === 'bool' && (values instanceof Float32Array || values instanceof Int32Array)) {
    const out = new Uint8Array(n);
    nat.cast(values, out);
    return backend.makeTensorInfo(x.shape, 'bool', out);
  }
  return null;
});

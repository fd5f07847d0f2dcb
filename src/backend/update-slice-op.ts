// SPDX-License-Identifier: Apache-2.0
// ab.updateSlice(x, update, start): the op over the 'AbUpdateSlice' kernel (kernels/AbUpdateSlice.ts).
import {engine, Tensor, tensor1d} from '@tensorflow/tfjs-core';

import {UPDATE_SLICE} from './kernels/AbUpdateSlice';

/**
 * `x` with `update` written at `start` (XLA's DynamicUpdateSlice; a KV cache's new rows at
 * position pos): `update` has x's rank and dtype (float32 or int32) and fits in x; `start` is an
 * int32 tensor (or a number[]) of x's rank, each entry clamped to [0, x.shape[i] - update.shape[i]].
 * Eager it returns a new tensor; in a compiled plan the position is read when the plan runs.
 */
export function updateSlice(x: Tensor, update: Tensor, start: Tensor|number[]): Tensor {
  if (!(x instanceof Tensor) || !(update instanceof Tensor)) throw new TypeError('updateSlice: x and update must be Tensors');
  if (x.dtype !== update.dtype || (x.dtype !== 'float32' && x.dtype !== 'int32')) {
    throw new TypeError(`updateSlice: x and update must both be float32 or both int32, got ${x.dtype} and ${update.dtype}`);
  }
  if (x.rank < 1 || x.rank !== update.rank) throw new RangeError(`updateSlice: update has rank ${update.rank}, x has rank ${x.rank}`);
  update.shape.forEach((d, i) => {
    if (d > x.shape[i]) throw new RangeError(`updateSlice: update [${update.shape}] does not fit in x [${x.shape}] (dim ${i})`);
  });
  const made = !(start instanceof Tensor);
  const s = start instanceof Tensor ? start : tensor1d(start, 'int32');
  try {
    if (s.dtype !== 'int32' || s.rank !== 1 || s.shape[0] !== x.rank) {
      throw new TypeError(`updateSlice: start must be an int32 tensor of shape [${x.rank}], got ${s.dtype}[${s.shape}]`);
    }
    return engine().runKernel(UPDATE_SLICE, {x, update, start: s}, {}) as Tensor;
  } finally {
    if (made) s.dispose();
  }
}

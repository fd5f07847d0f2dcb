// SPDX-License-Identifier: Apache-2.0
// Tile: a strided copy over [reps0, d0, reps1, d1, ...] with zero strides on the repetition dims.
import {TensorInfo, TileAttrs} from '@tensorflow/tfjs-core';

import {data4, movementKernel, stridedCopy, stridesOf} from './movement';

export const TileConfig = movementKernel('Tile', ({inputs, backend, attrs}, nat) => {
  const x = inputs.x as TensorInfo;
  const {reps} = attrs as unknown as TileAttrs;
  if (reps.length !== x.shape.length) return null;
  const xData = data4(backend, x);
  if (xData == null) return null;
  const xs = stridesOf(x.shape);
  const shape: number[] = [], strides: number[] = [];
  x.shape.forEach((d, k) => {
    shape.push(reps[k], d);
    strides.push(0, xs[k]);
  });
  return stridedCopy(backend, nat, x, xData, shape, 0, strides, x.shape.map((d, k) => d * reps[k]));
});

// SPDX-License-Identifier: Apache-2.0
// ClipByValue (tfjs-layers' ReLU(maxValue), relu6 in many converted models): x > max ? max :
// x < min ? min : x, as tfjs-cpu computes it (NaN stays NaN, -0 stays -0).
import {ClipByValue, ClipByValueAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {f32, nativeKernel, newOutput, output, sizeOf} from '../kernel-utils';

export const ClipByValueConfig = nativeKernel(ClipByValue, ['x'], (args, nat, fallback) => {
  const {inputs, backend} = args;
  const {clipValueMin: lo, clipValueMax: hi} = args.attrs as unknown as ClipByValueAttrs;
  if (!(lo <= hi)) return fallback(args as never);  // NaN bounds: the cpu kernel's behaviour
  const x = inputs.x as TensorInfo;
  const out = newOutput(sizeOf(x.shape));
  nat.clip(f32(backend, x), out, lo, hi);
  return output(backend, x.shape.slice(), out);
});

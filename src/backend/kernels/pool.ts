// SPDX-License-Identifier: Apache-2.0
// Shared by MaxPool and AvgPool: NHWC pooling in one native call (channels in registers across
// the window), with tfjs-cpu's window clipping, NaN and count rules.
import {AvgPoolAttrs, backend_util, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {f32, nativeKernel, newOutput, output, sizeOf} from '../kernel-utils';

export function poolKernel(name: 'MaxPool'|'AvgPool', type: 0|1): KernelConfig {
  return nativeKernel(name, ['x'], (args, nat, fallback) => {
    const {inputs, backend} = args;
    const x = inputs.x as TensorInfo;
    const {filterSize, strides, pad, dimRoundingMode} = args.attrs as unknown as AvgPoolAttrs;
    const c = backend_util.computePool2DInfo(
        x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    // A 1x1 window that keeps the shape is an identity: the cpu kernel shares the data (no copy).
    if (c.filterWidth === 1 && c.filterHeight === 1 && util.arraysEqual(c.inShape, c.outShape)) {
      return fallback(args as never);
    }
    const out = newOutput(sizeOf(c.outShape));
    nat.pool2d(type, f32(backend, x), out,
               [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.filterHeight, c.filterWidth,
                c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth, c.padInfo.top, c.padInfo.left]);
    return output(backend, c.outShape.slice(), out);
  });
}

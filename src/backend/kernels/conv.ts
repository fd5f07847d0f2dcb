// SPDX-License-Identifier: Apache-2.0
// Shared by Conv2D and FusedConv2D: NHWC convolution on the GEMM engine (im2col in native code).
import {backend_util, Conv2DAttrs, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import type {NativeBinding} from '../../binding';
import {f32, output, sizeOf} from '../kernel-utils';
import type {Epilogue} from './fused';

export function conv2dInfo(x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs): backend_util.Conv2DInfo {
  const {strides, pad, dataFormat, dilations, dimRoundingMode} = attrs;
  return backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides,
      dilations ?? [1, 1], pad, dimRoundingMode, false, backend_util.convertConv2DDataFormat(dataFormat));
}

export function runConv2D(
    backend: MathBackendCPU, nat: NativeBinding, x: TensorInfo, filter: TensorInfo, c: backend_util.Conv2DInfo,
    ep: Epilogue): TensorInfo {
  const out = new Float32Array(sizeOf(c.outShape));
  nat.conv2d(
      f32(backend, x), f32(backend, filter), out,
      [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels, c.filterHeight,
       c.filterWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth, c.padInfo.top, c.padInfo.left],
      ep.bias, ep.biasMode, ep.act, ep.alpha, ep.slope, ep.slopeMode);
  return output(backend, c.outShape.slice(), out);
}

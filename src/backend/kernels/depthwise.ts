// SPDX-License-Identifier: Apache-2.0
// Shared by DepthwiseConv2dNative and FusedDepthwiseConv2D: NHWC depthwise convolution, a direct
// native kernel vectorized over channels, with bias and activation applied per output row.
import {backend_util, DepthwiseConv2dNativeAttrs, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import type {NativeBinding} from '../../binding';
import {Operand} from '../../op-codes';
import {f32, output, sizeOf} from '../kernel-utils';
import type {Epilogue} from './fused';

// tfjs lets dilations be null (meaning [1, 1]), as tfjs-backend-cpu does.
export function depthwiseInfo(x: TensorInfo, filter: TensorInfo, attrs: DepthwiseConv2dNativeAttrs): backend_util.Conv2DInfo {
  const {strides, pad, dataFormat, dilations, dimRoundingMode} = attrs;
  return backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides,
      dilations ?? [1, 1], pad, dimRoundingMode, true, backend_util.convertConv2DDataFormat(dataFormat));
}

/** The epilogue operand as one value per channel (a scalar is spread over the channels). */
function perChannel(v: Float32Array|null, mode: number, channels: number): Float32Array|null {
  if (v == null || mode === Operand.none) return null;
  return mode === Operand.scalar ? new Float32Array(channels).fill(v[0]) : v;
}

export function runDepthwise(
    backend: MathBackendCPU, nat: NativeBinding, x: TensorInfo, filter: TensorInfo, c: backend_util.Conv2DInfo,
    ep: Epilogue): TensorInfo {
  const out = new Float32Array(sizeOf(c.outShape));
  const mult = c.outChannels / c.inChannels;
  nat.depthwiseConv2d(
      f32(backend, x), f32(backend, filter), out,
      [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, mult, c.filterHeight,
       c.filterWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth, c.padInfo.top, c.padInfo.left],
      perChannel(ep.bias, ep.biasMode, c.outChannels), ep.act, ep.alpha, perChannel(ep.slope, ep.slopeMode, c.outChannels));
  return output(backend, c.outShape.slice(), out);
}

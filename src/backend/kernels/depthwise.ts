// SPDX-License-Identifier: Apache-2.0
// The runner of DepthwiseConv2dNative and FusedDepthwiseConv2D: NHWC depthwise convolution, a
// direct native kernel vectorized over channels, with bias and activation applied per output row.
import {backend_util, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import type {NativeBinding} from '../../binding';
import {Operand} from '../../op-codes';
import {f32, markJsCompute, newOutput, output, sizeOf} from '../kernel-utils';
import type {Epilogue} from './fused';

/** The epilogue operand as one value per channel (a scalar is spread over the channels). */
function perChannel(v: Float32Array|null, mode: number, channels: number): Float32Array|null {
  if (v == null || mode === Operand.none) return null;
  if (mode !== Operand.scalar) return v;
  markJsCompute();  // a JS copy of tensor data (graph mode's native executor replays this node in JS)
  return new Float32Array(channels).fill(v[0]);
}

export function runDepthwise(
    backend: MathBackendCPU, nat: NativeBinding, x: TensorInfo, filter: TensorInfo, c: backend_util.Conv2DInfo,
    ep: Epilogue): TensorInfo {
  // newOutput may hand back x's own memory (graph mode's arena, in place: the same start, the
  // output's length): the addon computes in place when out starts where x does (channel
  // multiplier 1, output no larger than x; native/ops/depthwise.cc) and rejects any other overlap.
  const out = newOutput(sizeOf(c.outShape));
  const mult = c.outChannels / c.inChannels;
  nat.depthwiseConv2d(
      f32(backend, x), f32(backend, filter), out,
      [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, mult, c.filterHeight,
       c.filterWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth, c.padInfo.top, c.padInfo.left],
      perChannel(ep.bias, ep.biasMode, c.outChannels), ep.act, ep.alpha, perChannel(ep.slope, ep.slopeMode, c.outChannels));
  return output(backend, c.outShape.slice(), out);
}

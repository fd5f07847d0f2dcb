// SPDX-License-Identifier: Apache-2.0
// tf.conv2dTranspose (and conv2d's input gradient): Conv2DBackpropInput, NHWC, natively — either
// one GEMM dy . W^T into im2col-shaped columns and a threaded col2im gather-add, or, when in_c is
// large against out_c * stride^2, one dense GEMM per stride phase (native/ops/conv_transpose.cc).
// NCHW: the NHWC kernel between two transposes. tfjs has no dilations for this kernel (cpu passes 1).
import {backend_util, Conv2DBackpropInputAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import type {NativeBinding} from '../../binding';
import {f32, nativeKernel, output, sizeOf} from '../kernel-utils';
import {nchwNativePays, nhwcPad, TO_NCHW, TO_NHWC, transpose} from './nchw';

type Shape4 = [number, number, number, number];

function runNHWC(backend: MathBackendCPU, nat: NativeBinding, dy: TensorInfo, filter: TensorInfo,
                 c: backend_util.Conv2DInfo): TensorInfo {
  const dx = new Float32Array(sizeOf(c.inShape));
  nat.conv2dTranspose(
      f32(backend, dy), f32(backend, filter), dx,
      [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels, c.filterHeight,
       c.filterWidth, c.strideHeight, c.strideWidth, c.padInfo.top, c.padInfo.left],
      0);
  return output(backend, c.inShape.slice(), dx);
}

export const Conv2DBackpropInputConfig = nativeKernel('Conv2DBackpropInput', ['dy', 'filter'], (args, nat, fallback) => {
  const {inputShape, strides, pad, dataFormat, dimRoundingMode} = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const {backend} = args;
  const dy = args.inputs.dy as TensorInfo, filter = args.inputs.filter as TensorInfo;
  const nchw = dataFormat === 'NCHW';
  const c = backend_util.computeConv2DInfo(
      inputShape as Shape4, filter.shape as Shape4, strides, 1, pad, dimRoundingMode, false,
      backend_util.convertConv2DDataFormat(dataFormat));
  // tfjs-cpu reads dy with dy's own strides over convInfo's output grid and the filter with its
  // own strides: only when both agree with convInfo is that the transposed convolution.
  if (!util.arraysEqual(dy.shape, c.outShape) || filter.shape[2] !== c.inChannels) return fallback(args as never);
  if (!nchw) return runNHWC(backend, nat, dy, filter, c);
  const dySize = sizeOf(dy.shape), dxSize = sizeOf(c.inShape);
  if (!nchwNativePays(dySize * c.filterHeight * c.filterWidth * c.inChannels, dySize + dxSize)) return fallback(args as never);
  const [n, ch, h, w] = inputShape;
  const cT = backend_util.computeConv2DInfo(
      [n, h, w, ch], filter.shape as Shape4, strides, 1, nhwcPad(pad), dimRoundingMode, false, 'channelsLast');
  const dyT = transpose(backend, dy, TO_NHWC);
  let dxT: TensorInfo;
  try {
    dxT = runNHWC(backend, nat, dyT, filter, cT);
  } finally {
    backend.disposeIntermediateTensorInfo(dyT);
  }
  const dx = transpose(backend, dxT, TO_NCHW);
  backend.disposeIntermediateTensorInfo(dxT);
  return dx;
});

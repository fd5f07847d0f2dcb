// SPDX-License-Identifier: Apache-2.0
// conv2d's filter gradient (Conv2DBackpropFilter), NHWC: im2col(x)^T . dy on the GEMM engine, in
// chunks of output positions (native/ops/conv_transpose.cc). NCHW: x and dy are transposed to NHWC
// first (the filter layout does not depend on the data format; tfjs-cpu's kernel, ~0.7 µs a
// multiply-add here, is always slower than the transposes). No dilations (tfjs-cpu passes 1).
import {backend_util, Conv2DBackpropFilterAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {f32, nativeKernel, output, sizeOf} from '../kernel-utils';
import {nhwcPad, TO_NHWC, transpose} from './nchw';

type Shape4 = [number, number, number, number];

export const Conv2DBackpropFilterConfig = nativeKernel('Conv2DBackpropFilter', ['x', 'dy'], (args, nat, fallback) => {
  const {filterShape, strides, pad, dataFormat, dimRoundingMode} = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  const {backend} = args;
  const x = args.inputs.x as TensorInfo, dy = args.inputs.dy as TensorInfo;
  const nchw = dataFormat === 'NCHW';
  const c = backend_util.computeConv2DInfo(
      x.shape as Shape4, filterShape as Shape4, strides, 1, pad, dimRoundingMode, false,
      backend_util.convertConv2DDataFormat(dataFormat));
  // tfjs-cpu indexes x and dy through their own shapes over convInfo's grid: only when dy's shape is
  // convInfo's output shape and the filter's in-channels are x's is that the filter gradient.
  if (!util.arraysEqual(dy.shape, c.outShape) || filterShape[2] !== c.inChannels) return fallback(args as never);
  const xT = nchw ? transpose(backend, x, TO_NHWC) : x, dyT = nchw ? transpose(backend, dy, TO_NHWC) : dy;
  try {
    const cT = nchw ?
        backend_util.computeConv2DInfo(xT.shape as Shape4, filterShape as Shape4, strides, 1, nhwcPad(pad), dimRoundingMode,
                                       false, 'channelsLast') :
        c;
    const dw = new Float32Array(sizeOf(filterShape));
    nat.conv2dBackpropFilter(
        f32(backend, xT), f32(backend, dyT), dw,
        [cT.batchSize, cT.inHeight, cT.inWidth, cT.inChannels, cT.outHeight, cT.outWidth, cT.outChannels, cT.filterHeight,
         cT.filterWidth, cT.strideHeight, cT.strideWidth, cT.padInfo.top, cT.padInfo.left]);
    return output(backend, filterShape.slice(), dw);
  } finally {
    if (nchw) {
      backend.disposeIntermediateTensorInfo(xT);
      backend.disposeIntermediateTensorInfo(dyT);
    }
  }
});

// SPDX-License-Identifier: Apache-2.0
// tf.conv2d, NHWC: im2col + the GEMM engine (1x1 stride-1 convolutions are one GEMM on x).
// NCHW runs the cpu kernel.
import {Conv2DAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {nativeKernel} from '../kernel-utils';
import {conv2dInfo, runConv2D} from './conv';
import {NO_EPILOGUE} from './fused';

export const Conv2DConfig = nativeKernel('Conv2D', ['x', 'filter'], (args, nat, fallback) => {
  const {inputs, backend} = args;
  const attrs = args.attrs as unknown as Conv2DAttrs;
  if (attrs.dataFormat === 'NCHW') return fallback(args as never);
  const x = inputs.x as TensorInfo, filter = inputs.filter as TensorInfo;
  return runConv2D(backend, nat, x, filter, conv2dInfo(x, filter, attrs), NO_EPILOGUE);
});

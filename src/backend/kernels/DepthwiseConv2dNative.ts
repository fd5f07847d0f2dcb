// SPDX-License-Identifier: Apache-2.0
// tf.depthwiseConv2d, NHWC: a direct native kernel vectorized over channels. NCHW runs the cpu kernel.
import {DepthwiseConv2dNativeAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {nativeKernel} from '../kernel-utils';
import {depthwiseInfo, runDepthwise} from './depthwise';
import {NO_EPILOGUE} from './fused';

export const DepthwiseConv2dNativeConfig = nativeKernel('DepthwiseConv2dNative', ['x', 'filter'], (args, nat, fallback) => {
  const {inputs, backend} = args;
  const attrs = args.attrs as unknown as DepthwiseConv2dNativeAttrs;
  if (attrs.dataFormat === 'NCHW') return fallback(args as never);
  const x = inputs.x as TensorInfo, filter = inputs.filter as TensorInfo;
  return runDepthwise(backend, nat, x, filter, depthwiseInfo(x, filter, attrs), NO_EPILOGUE);
});

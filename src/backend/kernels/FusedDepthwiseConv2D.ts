// SPDX-License-Identifier: Apache-2.0
// tf.fused.depthwiseConv2d, NHWC: bias and activation applied per output row inside the kernel
// when they are a scalar or one value per channel; other broadcasts run afterwards.
import {FusedDepthwiseConv2DAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {nativeKernel} from '../kernel-utils';
import {depthwiseInfo, runDepthwise} from './depthwise';
import {runFused} from './fused';

export const FusedDepthwiseConv2DConfig = nativeKernel(
    'FusedDepthwiseConv2D', ['x', 'filter', 'bias', 'preluActivationWeights'], (args, nat, fallback) => {
      const {inputs, backend} = args;
      const attrs = args.attrs as unknown as FusedDepthwiseConv2DAttrs;
      if (attrs.dataFormat === 'NCHW') return fallback(args as never);
      const x = inputs.x as TensorInfo, filter = inputs.filter as TensorInfo;
      const c = depthwiseInfo(x, filter, attrs);
      return runFused(
          backend, nat, c.outShape, -1, c.outChannels,
          {bias: inputs.bias as TensorInfo, prelu: inputs.preluActivationWeights as TensorInfo,
           activation: attrs.activation, leakyreluAlpha: attrs.leakyreluAlpha},
          (ep) => runDepthwise(backend, nat, x, filter, c, ep));
    });

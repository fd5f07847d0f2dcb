// SPDX-License-Identifier: Apache-2.0
// tf.fused.conv2d, NHWC: act(conv2d(x, filter) + bias), bias and activation in the GEMM epilogue
// where they fit (a scalar or one value per output channel). NCHW runs the cpu kernel.
import {FusedConv2DAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {nativeKernel} from '../kernel-utils';
import {conv2dInfo, runConv2D} from './conv';
import {runFused} from './fused';

export const FusedConv2DConfig = nativeKernel(
    'FusedConv2D', ['x', 'filter', 'bias', 'preluActivationWeights'], (args, nat, fallback) => {
      const {inputs, backend} = args;
      const attrs = args.attrs as unknown as FusedConv2DAttrs;
      if (attrs.dataFormat === 'NCHW') return fallback(args as never);
      const x = inputs.x as TensorInfo, filter = inputs.filter as TensorInfo;
      const c = conv2dInfo(x, filter, attrs);
      return runFused(
          backend, nat, c.outShape, -1, c.outChannels,
          {bias: inputs.bias as TensorInfo, prelu: inputs.preluActivationWeights as TensorInfo,
           activation: attrs.activation, leakyreluAlpha: attrs.leakyreluAlpha},
          (ep) => runConv2D(backend, nat, x, filter, c, ep));
    });

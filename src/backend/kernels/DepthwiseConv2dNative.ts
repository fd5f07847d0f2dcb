// SPDX-License-Identifier: Apache-2.0
// tf.depthwiseConv2d, NHWC: a direct native kernel vectorized over channels. dataFormat is
// ignored (NHWC), as in tfjs-cpu.
import {convKernel} from './conv';
import {runDepthwise} from './depthwise';

export const DepthwiseConv2dNativeConfig = convKernel('DepthwiseConv2dNative', true, runDepthwise);

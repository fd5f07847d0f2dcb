// SPDX-License-Identifier: Apache-2.0
// tf.depthwiseConv2d, NHWC: a direct native kernel vectorized over channels. NCHW runs the cpu kernel.
import {convKernel} from './conv';
import {runDepthwise} from './depthwise';

export const DepthwiseConv2dNativeConfig = convKernel('DepthwiseConv2dNative', true, runDepthwise);

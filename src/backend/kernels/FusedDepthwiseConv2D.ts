// SPDX-License-Identifier: Apache-2.0
// tf.fused.depthwiseConv2d, NHWC: bias and activation applied per output row inside the kernel
// when they are a scalar or one value per channel; other broadcasts run afterwards.
import {fusedConvKernel} from './conv';
import {runDepthwise} from './depthwise';

export const FusedDepthwiseConv2DConfig = fusedConvKernel('FusedDepthwiseConv2D', true, runDepthwise);

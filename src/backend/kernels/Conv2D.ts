// SPDX-License-Identifier: Apache-2.0
// tf.conv2d, NHWC: im2col + the GEMM engine (1x1 stride-1 convolutions are one GEMM on x).
// NCHW: the NHWC kernel between two transposes (nchw.ts).
import {convKernel, runConv2D} from './conv';

export const Conv2DConfig = convKernel('Conv2D', false, runConv2D);

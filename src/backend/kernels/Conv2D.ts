// SPDX-License-Identifier: Apache-2.0
// tf.conv2d, NHWC: the native conv2d (direct register tiles reading x in place; 1x1 stride-1 as one
// GEMM on x; see native/ops/conv2d.h); the filter is prepacked when used again (weight-cache.ts).
// NCHW: the NHWC kernel between two transposes (nchw.ts).
import {convKernel, runConv2D} from './conv';

export const Conv2DConfig = convKernel('Conv2D', false, runConv2D);

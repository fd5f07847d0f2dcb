// SPDX-License-Identifier: Apache-2.0
// tf.fused.conv2d, NHWC: act(conv2d(x, filter) + bias), bias and activation in the GEMM epilogue
// where they fit (a scalar or one value per output channel). NCHW: the NHWC kernel between two
// transposes, bias / PReLU weights as tfjs-cpu treats them (nchw.ts).
import {fusedConvKernel, runConv2D} from './conv';

export const FusedConv2DConfig = fusedConvKernel('FusedConv2D', false, runConv2D);

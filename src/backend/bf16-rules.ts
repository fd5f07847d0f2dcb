// SPDX-License-Identifier: Apache-2.0
// Where a bf16-marked weight (toBf16Weight, ab.optimize({dtype: 'bfloat16'})) is still computed in
// f32 because bf16 measured slower on that kind of shape. The weight keeps its mark (and its f32
// data, which a marked weight always keeps); only the kernel's choice changes, so such an op gives
// the f32 kernel's bits.
//
// Measured on Zen 4 (avx512_bf16), one thread, addon only (bench/bf16-conv-shapes.mjs over the
// convolutions of nsfw-mobilenetv2, emotion, blazeface, selfie, movenet-lightning, plus single
// shapes): every conv2d with a bf16 filter ran at 1.07-2.4x its f32 time except a 1x1 stride-1
// conv with one output channel (movenet's 48x48x96 -> 48x48x1 head: 0.30x): there the f32 conv is
// one GEMV over x (N = 1), while the bf16 GEMM computes a whole 32-column panel for the one
// column. With 2 output channels the f32 GEMM pays that waste too (bf16 1.8x), and a 3x3 conv
// with one output channel runs the direct paths on both sides (bf16 1.18x).
//
// Session 5: f32 convolutions to at most 4 channels with runs of >= 16 floats (f_w * in_c,
// dil_w 1) take the narrow path (a dot product per output, native/kernels/conv_narrow_kernel.cc),
// which the bf16 engine has no counterpart for: blazepose-lite's 3x3 8 -> 1 head at 256x256 ran
// 23.9 GFLOP/s in f32 against 6.2 in bf16 (0.26x; bench/bf16-conv-shapes.mjs). Those stay f32 too.
import type {backend_util} from '@tensorflow/tfjs-core';

/** Whether conv2d (NHWC, geometry c) with a bf16-marked filter runs in bf16 (else f32). */
export function bf16ConvPays(c: backend_util.Conv2DInfo): boolean {
  const pointwise = c.filterHeight === 1 && c.filterWidth === 1 && c.strideHeight === 1 && c.strideWidth === 1 &&
    c.padInfo.top === 0 && c.padInfo.left === 0 && c.outHeight === c.inHeight && c.outWidth === c.inWidth;
  if (pointwise && c.outChannels === 1) return false;
  const narrow = c.outChannels <= 4 && c.dilationWidth === 1 && c.filterWidth * c.inChannels >= 16;
  return !narrow;
}

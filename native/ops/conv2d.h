// SPDX-License-Identifier: Apache-2.0
// 2-D convolution, NHWC, f32, on the GEMM engine: y[b,oh,ow,:] = act(im2col(x) . W + bias).
#pragma once
#include <cstdint>

#include "gemm/gemm.h"

namespace ab {

struct Conv2DParams {
  int64_t batch, in_h, in_w, in_c;  // x: [batch, in_h, in_w, in_c]
  int64_t out_h, out_w, out_c;      // y: [batch, out_h, out_w, out_c]
  int64_t f_h, f_w;                 // filter: [f_h, f_w, in_c, out_c] (tfjs layout = a K x N matrix)
  int64_t stride_h, stride_w, dil_h, dil_w;
  int64_t pad_top, pad_left;        // may be negative or exceed the input: taps outside read zeros
};

// x, w, y sized as above; y must not overlap the inputs. The epilogue's bias / slope operands are
// indexed by output channel (row mode), a scalar, or by [output position, channel] (matrix mode,
// ld = out_c). Paths, in order:
//  - at most 4 output channels with dil_w 1 and runs (f_w * in_c) of >= 16 floats: the narrow path
//    at avx512 (a dot product per output, native/kernels/conv_narrow_kernel.cc; its own summation
//    order);
//  - 1x1 stride-1 unpadded: register tiles on x itself with the epilogue (the pointwise path, at
//    avx2 / avx512 when in_c fits one K block of the packed filter: the GEMM path's bits); else,
//    with in_c < 128, one GEMM on x as it is;
//  - one output position in the whole convolution: its im2col row and the GEMV;
//  - the direct path (batch-reduce register tiles reading x in place, taps outside the input
//    skipped) when a run (f_w * in_c with dil_w == 1, else in_c) holds >= 8 floats;
//  - else one GEMM whose A panels are packed straight from x (implicit im2col). AFTERBURNER_CONV (read per call; for comparisons)
// forces a path: narrow, pointwise, gemm (1x1 stride-1 convolutions only), direct, implicit, im2col (the
// old one: rows gathered into a bounded scratch, chunk by chunk); nopointwise: the default choice
// without the pointwise path.
// packed_w (optional): the filter prepacked as a K x N gemm::PackedB (K = f_h * f_w * in_c).
void conv2d_nhwc_f32(const float* x, const float* w, float* y, const Conv2DParams& p, const gemm::Epilogue* ep,
                     const gemm::PackedB* packed_w = nullptr);

}  // namespace ab

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
// ld = out_c). 1x1 stride-1 unpadded convolutions are a single GEMM on x; the others are one GEMM
// whose A panels are packed straight from x (implicit im2col). AFTERBURNER_CONV_IM2COL=1 (read per
// call; for comparisons) selects the old path: im2col rows gathered into a bounded scratch.
// packed_w (optional): the filter prepacked as a K x N gemm::PackedB (K = f_h * f_w * in_c).
void conv2d_nhwc_f32(const float* x, const float* w, float* y, const Conv2DParams& p, const gemm::Epilogue* ep,
                     const gemm::PackedB* packed_w = nullptr);

}  // namespace ab

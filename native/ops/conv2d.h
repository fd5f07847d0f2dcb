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
// ld = out_c). 1x1 stride-1 unpadded convolutions are a single GEMM on x; others gather
// im2col rows into a bounded scratch buffer (chunks of rows), each chunk one GEMM.
void conv2d_nhwc_f32(const float* x, const float* w, float* y, const Conv2DParams& p, const gemm::Epilogue* ep);

}  // namespace ab

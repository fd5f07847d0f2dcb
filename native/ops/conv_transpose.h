// SPDX-License-Identifier: Apache-2.0
// Transposed 2-D convolution (tfjs Conv2DBackpropInput, what tf.conv2dTranspose runs), NHWC, f32:
// the gradient of conv2d with respect to its input,
//   dx[b, ih, iw, ci] = sum over (oh, ow, kh, kw, co) with oh*sh - pad_top + kh = ih and
//                       ow*sw - pad_left + kw = iw of dy[b, oh, ow, co] * w[kh, kw, ci, co].
#pragma once
#include <cstdint>

namespace ab {

struct ConvTransposeParams {
  int64_t batch, in_h, in_w, in_c;  // dx (the conv's input): [batch, in_h, in_w, in_c]
  int64_t out_h, out_w, out_c;      // dy (the conv's output): [batch, out_h, out_w, out_c]
  int64_t f_h, f_w;                 // filter: [f_h, f_w, in_c, out_c], as for conv2d
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_left;        // the conv's padding; taps that fall outside dx are dropped
};

// Algorithms: kGemm = one GEMM dy . W^T into im2col-shaped columns [.., f_h*f_w*in_c], then a
// col2im gather-add per dx row (threads own dx rows); kPhase = stride-phase decomposition: each of
// the stride_h*stride_w output phases is a dense stride-1 correlation of dy with a sub-filter
// (im2col of dy + one GEMM per phase), no wasted taps; kAuto picks by shape.
enum ConvTransposeAlgo { kConvTAuto = 0, kConvTGemm = 1, kConvTPhase = 2 };

// dx is fully written (taps that reach no dy element give 0). dx must not overlap dy or w.
// Results depend only on the shapes, the algorithm and the ISA level, never on the thread count.
void conv2d_transpose_nhwc_f32(const float* dy, const float* w, float* dx, const ConvTransposeParams& p, int algo);

// The algorithm kAuto runs for these parameters (kConvTGemm or kConvTPhase).
int conv2d_transpose_pick(const ConvTransposeParams& p);

// Conv2DBackpropFilter, NHWC, f32: the filter gradient of the same convolution, x being the conv's
// input [batch, in_h, in_w, in_c] and dy its output gradient [batch, out_h, out_w, out_c]:
//   dw[kh, kw, ci, co] = sum over (b, oh, ow) of x[b, oh*sh - pad_top + kh, ow*sw - pad_left + kw, ci]
//                                                 * dy[b, oh, ow, co]   (taps outside x are zeros)
// = im2col(x)^T . dy, one GEMM per chunk of output positions, the chunks' results added in order.
// dw must not overlap x or dy; results do not depend on the thread count.
void conv2d_backprop_filter_nhwc_f32(const float* x, const float* dy, float* dw, const ConvTransposeParams& p);

}  // namespace ab

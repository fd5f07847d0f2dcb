// SPDX-License-Identifier: Apache-2.0
// Depthwise 2-D convolution, NHWC, f32 (tfjs DepthwiseConv2dNative / FusedDepthwiseConv2D).
#pragma once
#include <cstdint>

namespace ab {

struct DepthwiseParams {
  int64_t batch, in_h, in_w, in_c;  // x: [batch, in_h, in_w, in_c]
  int64_t out_h, out_w, mult;       // y: [batch, out_h, out_w, in_c * mult]
  int64_t f_h, f_w;                 // filter: [f_h, f_w, in_c, mult]
  int64_t stride_h, stride_w, dil_h, dil_w;
  int64_t pad_top, pad_left;        // taps outside the input read zeros
};

// Filter, bias and prelu slopes rotated by s channels (rot[j] = v[(j - s) mod C]) for the
// avx512 interior tiles that run on 64-byte lines when x and y start s floats into one
// (native/kernels/depthwise_kernel.cc); made once per call by the driver.
struct DepthwiseShift {
  int64_t s;                 // 1..15
  const float* w;            // [f_h * f_w][C]
  const float* bias;         // [C] or nullptr
  const float* slope;        // [C] or nullptr
};

// y = act(depthwise(x, w) + bias). bias / slope: one value per output channel (in_c * mult) or
// nullptr; slope is used by act == prelu only. Taps are summed in (fh, fw) order onto the bias.
// In place: y == x is allowed when depthwise_in_place_ok(p) (bitwise the out-of-place result);
// any other overlap of y with x, w, bias or slope is the caller's error.
bool depthwise_in_place_ok(const DepthwiseParams& p);
void depthwise_nhwc_f32(const float* x, const float* w, float* y, const DepthwiseParams& p, const float* bias,
                        const float* slope, int act, float alpha);

}  // namespace ab

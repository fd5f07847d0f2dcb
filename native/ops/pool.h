// SPDX-License-Identifier: Apache-2.0
// 2-D max and average pooling, NHWC, f32 (tfjs MaxPool / AvgPool), with tfjs-cpu's semantics:
// windows are clipped to the input (padding never contributes), max ignores NaN (a NaN pixel
// never wins a `>` comparison), avg divides by the number of taps inside the input.
#pragma once
#include <cstdint>

namespace ab {

struct PoolParams {
  int64_t batch, in_h, in_w, channels, out_h, out_w;
  int64_t f_h, f_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
};

enum PoolType : int { kPoolMax = 0, kPoolAvg = 1 };

void pool_nhwc_f32(const float* x, float* y, const PoolParams& p, int type);

}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
#include "depthwise.h"

#include "dispatch/dispatch.h"
#include "runtime/thread_pool.h"

AB_DECLARE_KERNEL(void, depthwise_row_f32,
                  (const float* x, const float* w, float* y, const ::ab::DepthwiseParams& p, int64_t b, int64_t oh,
                   const float* bias, const float* slope, int act, float alpha))

namespace ab {
namespace {
using RowFn = void (*)(const float*, const float*, float*, const DepthwiseParams&, int64_t, int64_t, const float*,
                       const float*, int, float);
const DispatchStub<RowFn> depthwise_row_stub = {AB_STUB_SLOTS(depthwise_row_f32)};
}  // namespace

void depthwise_nhwc_f32(const float* x, const float* w, float* y, const DepthwiseParams& p, const float* bias,
                        const float* slope, int act, float alpha) {
  const int64_t rows = p.batch * p.out_h;
  if (rows == 0 || p.out_w == 0 || p.in_c * p.mult == 0) return;
  const RowFn row = depthwise_row_stub.get();
  // One row does out_w * in_c * mult * f_h * f_w multiply-adds; aim for >= ~64K per chunk.
  const int64_t per_row = p.out_w * p.in_c * p.mult * p.f_h * p.f_w;
  const int64_t grain = per_row >= 65536 ? 1 : 65536 / (per_row > 0 ? per_row : 1);
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) row(x, w, y, p, r / p.out_h, r % p.out_h, bias, slope, act, alpha);
  });
}

}  // namespace ab

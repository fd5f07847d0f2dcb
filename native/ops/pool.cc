// SPDX-License-Identifier: Apache-2.0
#include "pool.h"

#include "dispatch/dispatch.h"
#include "runtime/thread_pool.h"

AB_DECLARE_KERNEL(void, pool_row_f32, (const float* x, float* y, const ::ab::PoolParams& p, int64_t b, int64_t oh, int type))

namespace ab {
namespace {
using RowFn = void (*)(const float*, float*, const PoolParams&, int64_t, int64_t, int);
const DispatchStub<RowFn> pool_row_stub = {AB_STUB_SLOTS(pool_row_f32)};
}  // namespace

void pool_nhwc_f32(const float* x, float* y, const PoolParams& p, int type) {
  const int64_t rows = p.batch * p.out_h;
  if (rows == 0 || p.out_w == 0 || p.channels == 0) return;
  const RowFn row = pool_row_stub.get();
  const int64_t per_row = p.out_w * p.channels * p.f_h * p.f_w;
  const int64_t grain = per_row >= 65536 ? 1 : 65536 / (per_row > 0 ? per_row : 1);
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) row(x, y, p, r / p.out_h, r % p.out_h, type);
  });
}

}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
#include "pool.h"

#include <algorithm>

#include "dispatch/dispatch.h"
#include "ops/inplace_rows.h"
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
  if (y == x) {
    // In place (the caller checked out_h <= in_h, out_w <= in_w): each output row is computed as a
    // one-row problem (its window's top moved into pad_top) and written back once no later row
    // reads the input it covers.
    const int64_t C = p.channels, in_row = p.in_w * C, row_out = p.out_w * C;
    inplace::run_rows(
        y, rows, row_out, inplace::block_rows(rows, row_out, int64_t{1} << 16),
        [&](int64_t r0, int64_t r1, float* dst) {
          parallel_for(r1 - r0, 1, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) {
              const int64_t r = r0 + i, b = r / p.out_h, oh = r % p.out_h;
              PoolParams q = p;
              q.batch = 1;
              q.out_h = 1;
              q.pad_top = p.pad_top - oh * p.stride_h;
              row(x + b * p.in_h * in_row, dst + i * row_out, q, 0, 0, type);
            }
          });
        },
        [&](int64_t r) {
          const int64_t b = r / p.out_h, oh = r % p.out_h;
          const int64_t ih = std::min(std::max<int64_t>(oh * p.stride_h - p.pad_top, 0), p.in_h);
          return (b * p.in_h + ih) * in_row;
        });
    return;
  }
  const int64_t per_row = p.out_w * p.channels * p.f_h * p.f_w;
  const int64_t grain = per_row >= 65536 ? 1 : 65536 / (per_row > 0 ? per_row : 1);
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) row(x, y, p, r / p.out_h, r % p.out_h, type);
  });
}

}  // namespace ab

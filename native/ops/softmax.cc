// SPDX-License-Identifier: Apache-2.0
// Softmax over the last axis: rows are independent, so large inputs split by rows.
#include "ops/elementwise.h"
#include "ops/ew_kernels.h"
#include "runtime/thread_pool.h"

namespace ab {
namespace {
const DispatchStub<void (*)(const float*, float*, int64_t, int64_t)> softmax_stub = {
    AB_STUB_SLOTS(softmax_rows_f32)};
constexpr int64_t kGrain = int64_t{1} << 13;  // elements (exp-bound)
}  // namespace

void ew_softmax(const float* x, float* out, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  const auto fn = softmax_stub.get();
  if (rows * cols < 2 * kGrain || rows < 2 || get_num_threads() <= 1) {
    fn(x, out, rows, cols);
    return;
  }
  const int64_t grain_rows = cols >= kGrain ? 1 : kGrain / cols;
  parallel_for(rows, grain_rows, [&](int64_t b, int64_t e) {
    fn(x + b * cols, out + b * cols, e - b, cols);
  });
}

}  // namespace ab

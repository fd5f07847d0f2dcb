// SPDX-License-Identifier: Apache-2.0
#include "ops/graph_ops.h"

#include <cstddef>
#include <vector>

#include "gemm/gemm.h"
#include "ops/ew_kernels.h"
#include "ops/norm_kernels.h"
#include "runtime/thread_pool.h"

namespace ab {
namespace {

const DispatchStub<void (*)(int, const float*, const float*, const float*, float*, int64_t, int64_t, float)> norm_stub = {
    AB_STUB_SLOTS(norm_rows_f32)};
const DispatchStub<void (*)(const float*, float*, int64_t, int64_t)> softmax_stub = {AB_STUB_SLOTS(softmax_rows_f32)};

constexpr int64_t kQueryChunk = 64;

}  // namespace

void norm_rows(int rms, const float* x, const float* gamma, const float* beta, float* out, int64_t rows, int64_t cols,
               float eps) {
  if (rows <= 0 || cols <= 0) return;
  const auto fn = norm_stub.get();
  const int64_t grain = cols >= 4096 ? 1 : (int64_t{1} << 14) / cols + 1;
  if (rows < 2 * grain || get_num_threads() <= 1) {
    fn(rms, x, gamma, beta, out, rows, cols, eps);
    return;
  }
  parallel_for(rows, grain, [&](int64_t b, int64_t e) { fn(rms, x + b * cols, gamma, beta, out + b * cols, e - b, cols, eps); });
}

void sdpa(const float* q, const float* k, const float* v, const float* mask, int64_t mask_batch, int64_t B, int64_t Sq,
          int64_t Sk, int64_t D, int64_t Dv, float scale, float* out) {
  if (B <= 0 || Sq <= 0 || Dv <= 0) return;
  const int64_t chunks = (Sq + kQueryChunk - 1) / kQueryChunk;
  const auto softmax = softmax_stub.get();
  auto task = [&](int64_t t0, int64_t t1) {
    std::vector<float> s(static_cast<size_t>(kQueryChunk * (Sk > 0 ? Sk : 1)));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / chunks, r0 = (t % chunks) * kQueryChunk;
      const int64_t m = Sq - r0 < kQueryChunk ? Sq - r0 : kQueryChunk;
      float* o = out + (b * Sq + r0) * Dv;
      if (Sk == 0) {
        // softmax over an empty row, then a sum over nothing: zeros (as matMul with K = 0 gives).
        for (int64_t i = 0; i < m * Dv; ++i) o[i] = 0.0f;
        continue;
      }
      // Nested inside the parallel region, the GEMMs run on this thread.
      gemm::sgemm(false, true, m, Sk, D, q + (b * Sq + r0) * D, D, k + b * Sk * D, D, s.data(), Sk, nullptr);
      const float* mk = mask ? mask + ((mask_batch == 1 ? 0 : b) * Sq + r0) * Sk : nullptr;
      for (int64_t i = 0; i < m; ++i) {
        float* row = s.data() + i * Sk;
        if (mk) {
          for (int64_t j = 0; j < Sk; ++j) row[j] = row[j] * scale + mk[i * Sk + j];
        } else {
          for (int64_t j = 0; j < Sk; ++j) row[j] = row[j] * scale;
        }
      }
      softmax(s.data(), s.data(), m, Sk);
      gemm::sgemm(false, false, m, Dv, Sk, s.data(), Sk, v + b * Sk * Dv, Dv, o, Dv, nullptr);
    }
  };
  const int64_t tasks = B * chunks;
  if (tasks == 1 || get_num_threads() <= 1) {
    task(0, tasks);
    return;
  }
  parallel_for(tasks, 1, task);
}

}  // namespace ab

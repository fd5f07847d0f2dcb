// SPDX-License-Identifier: Apache-2.0
// Reductions over the middle axis of [outer, r, inner]: empty cases, threading, dispatch.
#include <cmath>

#include "ops/elementwise.h"
#include "ops/ew_kernels.h"
#include "runtime/thread_pool.h"

namespace ab {
namespace {
const DispatchStub<void (*)(int, const float*, float*, int64_t, int64_t)> rows_stub = {
    AB_STUB_SLOTS(reduce_rows_f32)};
const DispatchStub<void (*)(int, const float*, float*, int64_t, int64_t, int64_t)> cols_stub = {
    AB_STUB_SLOTS(reduce_cols_f32)};
const DispatchStub<void (*)(int, const float*, int32_t*, int64_t, int64_t, int64_t)> arg_stub = {
    AB_STUB_SLOTS(argreduce_cols_f32)};

constexpr int64_t kGrain = int64_t{1} << 15;  // input elements per task
constexpr int64_t kColChunk = 256;            // columns per task when inner > 1
constexpr int kMaxSplit = 64;

// tfjs's max/min scan: a later value replaces the kept one if it is NaN or strictly beyond it.
inline float combine_extreme(bool is_max, float m, float v) {
  if (std::isnan(v) || (is_max ? v > m : v < m)) return v;
  return m;
}
}  // namespace

void ew_reduce(int op, const float* x, float* out, int64_t outer, int64_t r, int64_t inner) {
  const int64_t nout = outer * inner;
  if (nout == 0) return;
  if (r == 0) {
    const float v = op == kRedProd ? 1.0f : (op == kRedMax || op == kRedMin) ? std::nanf("") : 0.0f;
    for (int64_t i = 0; i < nout; ++i) out[i] = v;
    return;
  }
  const int64_t total = nout * r;
  const int nt = total < 2 * kGrain ? 1 : get_num_threads();

  if (inner == 1) {
    const auto fn = rows_stub.get();
    if (nt <= 1) {
      fn(op, x, out, outer, r);
      return;
    }
    if (outer == 1 && op != kRedProd) {
      // One long row: per-thread partials over contiguous pieces, combined in order.
      const int parts = nt < kMaxSplit ? nt : kMaxSplit;
      float partial[kMaxSplit];
      const int sub = op == kRedMean ? kRedSum : op;
      parallel_run(parts, [&](int tid, int n) {
        const int64_t b = r * tid / n, e = r * (tid + 1) / n;
        fn(sub, x + b, &partial[tid], 1, e - b);
      });
      if (op == kRedSum || op == kRedMean) {
        double s = 0.0;
        for (int t = 0; t < parts; ++t) s += partial[t];
        out[0] = op == kRedMean ? static_cast<float>(s / static_cast<double>(r)) : static_cast<float>(s);
      } else {
        float m = partial[0];
        for (int t = 1; t < parts; ++t) m = combine_extreme(op == kRedMax, m, partial[t]);
        out[0] = m;
      }
      return;
    }
    const int64_t grain_rows = r >= kGrain ? 1 : kGrain / r;
    parallel_for(outer, grain_rows, [&](int64_t b, int64_t e) { fn(op, x + b * r, out + b, e - b, r); });
    return;
  }

  const auto fn = cols_stub.get();
  const int64_t chunks = (inner + kColChunk - 1) / kColChunk;
  auto run = [&](int64_t i0, int64_t i1) {
    for (int64_t it = i0; it < i1; ++it) {
      const int64_t o = it / chunks, c0 = (it % chunks) * kColChunk;
      const int64_t w = inner - c0 < kColChunk ? inner - c0 : kColChunk;
      fn(op, x + o * r * inner + c0, out + o * inner + c0, r, w, inner);
    }
  };
  if (nt <= 1) {
    run(0, outer * chunks);
    return;
  }
  const int64_t per_item = r * (inner < kColChunk ? inner : kColChunk);
  parallel_for(outer * chunks, per_item >= kGrain ? 1 : kGrain / per_item, run);
}

void ew_argreduce(int is_min, const float* x, int32_t* out, int64_t outer, int64_t r, int64_t inner) {
  const int64_t nout = outer * inner;
  if (nout == 0) return;
  if (r == 0) {  // tfjs-cpu's scan over nothing leaves index 0
    for (int64_t i = 0; i < nout; ++i) out[i] = 0;
    return;
  }
  const auto fn = arg_stub.get();
  // inner == 1: each row is one column of a [r, 1] problem; rows run as columns of x^T would
  // need a transpose, so they go one at a time (r contiguous values, ldx 1 per step).
  auto run = [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      if (inner == 1) fn(is_min, x + o * r, out + o, r, 1, 1);
      else fn(is_min, x + o * r * inner, out + o * inner, r, inner, inner);
    }
  };
  const int64_t per = r * inner;
  const int64_t grain = per >= kGrain ? 1 : kGrain / per;
  if (outer < 2 * grain || get_num_threads() <= 1) {
    run(0, outer);
    return;
  }
  parallel_for(outer, grain, run);
}

}  // namespace ab

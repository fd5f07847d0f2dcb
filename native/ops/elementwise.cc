// SPDX-License-Identifier: Apache-2.0
// Broadcast binary ops and unary ops: shape collapse, threading, dispatch.
#include "ops/elementwise.h"

#include "ops/broadcast.h"
#include "ops/ew_kernels.h"
#include "runtime/thread_pool.h"

namespace ab {
namespace {

const DispatchStub<BinRunFn (*)(int, int)> binary_stub = {AB_STUB_SLOTS(binary_run_fn)};
const DispatchStub<void (*)(int, const float*, float*, int64_t, float)> unary_stub = {
    AB_STUB_SLOTS(unary_f32)};
const DispatchStub<void (*)(const float*, float*, int64_t, float, float)> clip_stub = {
    AB_STUB_SLOTS(clip_f32)};

// Work below this many output elements runs on the calling thread.
constexpr int64_t kCheapGrain = int64_t{1} << 15;   // add, mul, relu, ...
constexpr int64_t kCostlyGrain = int64_t{1} << 12;  // exp, log, tanh, erf, sigmoid, elu

// Short inner runs where one operand repeats a row: x[R, n] op b[n] with n small (a per-channel
// scale of an RGB image: n = 3). Walked run by run, each call does a few elements (an image of
// 192 x 192 x 3 took 220 us instead of ~15); instead the repeated row is laid out m times in a
// buffer and the op runs over m rows at once. Element for element the same operation.
constexpr int64_t kShortRun = 64;
constexpr int64_t kRepFloats = 2048;

bool short_rows(const float* a, const float* b, float* out, const BroadcastPlan& p, BinRunFn vv) {
  if (p.form != kBcVV || p.n >= kShortRun || p.k < 2) return false;
  const int k = p.k;
  const bool a_rows = p.sa[k - 2] == p.n && p.sb[k - 2] == 0, b_rows = p.sb[k - 2] == p.n && p.sa[k - 2] == 0;
  if (!a_rows && !b_rows) return false;
  const int64_t n = p.n, R = p.dim[k - 2], m = kRepFloats / n;
  const int64_t outer = p.rows / R, chunks = (R + m - 1) / m;
  auto run = [&](int64_t i0, int64_t i1) {
    float rep[kRepFloats];
    const float* filled = nullptr;  // the repeated row rep holds
    for (int64_t it = i0; it < i1; ++it) {
      const int64_t o = it / chunks, r0 = (it % chunks) * m, rn = R - r0 < m ? R - r0 : m;
      int64_t oa, ob;
      broadcast_row_offsets(p, o * R, nullptr, &oa, &ob);
      const float* row = a_rows ? b + ob : a + oa;  // the operand that repeats
      if (row != filled) {
        for (int64_t j = 0; j < m; ++j)
          for (int64_t c = 0; c < n; ++c) rep[j * n + c] = row[c];
        filled = row;
      }
      float* y = out + (o * R + r0) * n;
      if (a_rows) vv(a + oa + r0 * n, rep, y, rn * n);
      else vv(rep, b + ob + r0 * n, y, rn * n);
    }
  };
  const int64_t items = outer * chunks;
  if (p.total < 2 * kCheapGrain || get_num_threads() <= 1) run(0, items);
  else parallel_for(items, 1, run);
  return true;
}

}  // namespace

void ew_binary(int op, const float* a, const int64_t* as, int ar, const float* b, const int64_t* bs,
               int br, float* out, const int64_t* os, int orank) {
  BroadcastPlan p;
  if (!plan_broadcast(as, ar, bs, br, os, orank, &p)) return;
  const auto get = binary_stub.get();
  const BinRunFn vv = get(op, kFormVV);
  if (short_rows(a, b, out, p, vv)) return;
  const BinRunFn fn = p.form == kBcSS ? vv : get(op, p.form);  // kBcVV/VS/SV equal kFormVV/VS/SV
  broadcast_for(p, kCheapGrain, [&](int64_t oa, int64_t ob, int64_t oo, int64_t len) {
    if (p.form != kBcSS) {
      fn(a + oa, b + ob, out + oo, len);
      return;
    }
    float v;
    vv(a + oa, b + ob, &v, 1);
    for (int64_t i = 0; i < len; ++i) out[oo + i] = v;
  });
}

void ew_unary(int op, const float* x, float* out, int64_t n, float alpha) {
  if (n <= 0) return;
  const auto fn = unary_stub.get();
  const bool cheap = op == kUnRelu || op == kUnRelu6 || op == kUnLeakyRelu || op == kUnSqrt ||
                     op == kUnRsqrt || op == kUnSquare || op == kUnNeg || op == kUnAbs;
  const int64_t grain = cheap ? kCheapGrain : kCostlyGrain;
  if (n < 2 * grain || get_num_threads() <= 1) {
    fn(op, x, out, n, alpha);
    return;
  }
  parallel_for(n, grain, [&](int64_t b, int64_t e) { fn(op, x + b, out + b, e - b, alpha); });
}

void ew_clip(const float* x, float* out, int64_t n, float lo, float hi) {
  if (n <= 0) return;
  const auto fn = clip_stub.get();
  if (n < 2 * kCheapGrain || get_num_threads() <= 1) {
    fn(x, out, n, lo, hi);
    return;
  }
  parallel_for(n, kCheapGrain, [&](int64_t b, int64_t e) { fn(x + b, out + b, e - b, lo, hi); });
}

}  // namespace ab

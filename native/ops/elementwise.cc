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

}  // namespace

void ew_binary(int op, const float* a, const int64_t* as, int ar, const float* b, const int64_t* bs,
               int br, float* out, const int64_t* os, int orank) {
  BroadcastPlan p;
  if (!plan_broadcast(as, ar, bs, br, os, orank, &p)) return;
  const auto get = binary_stub.get();
  const BinRunFn vv = get(op, kFormVV);
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

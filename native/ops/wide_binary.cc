// SPDX-License-Identifier: Apache-2.0
// Wide binary ops: broadcasting plan, threading, dispatch (see wide_binary.h).
#include "ops/wide_binary.h"

#include <cstring>

#include "ops/broadcast.h"
#include "runtime/thread_pool.h"

namespace ab {
namespace {

using WideRunFn = void (*)(int, const void*, int, int64_t, const void*, int, int64_t, void*, int, int64_t);
const DispatchStub<WideRunFn> wide_stub = {AB_STUB_SLOTS(wide_binary_run)};

// Work below this many output elements runs on the calling thread (float64 steps and conversions
// cost about twice the float32 binary ops' per element).
constexpr int64_t kWideGrain = int64_t{1} << 14;

}  // namespace

void ew_binary_wide(int op, const void* a, int ta, const int64_t* as, int ar, const void* b, int tb,
                    const int64_t* bs, int br, void* out, int to, const int64_t* os, int orank) {
  BroadcastPlan p;
  if (!plan_broadcast(as, ar, bs, br, os, orank, &p)) return;
  const WideRunFn fn = wide_stub.get();
  const char* pa = static_cast<const char*>(a);
  const char* pb = static_cast<const char*>(b);
  char* po = static_cast<char*>(out);
  const int64_t sa = wide_type_size(ta), sb = wide_type_size(tb);
  // Rows of a few elements where one operand is a whole row repeated (x[N, C] + bias[C]): one long
  // run in which that operand is periodic, instead of a call per row.
  if (p.k == 2 && p.form == kBcVV && p.n <= kWidePeriodMax && (p.sa[0] == 0) != (p.sb[0] == 0)) {
    const int64_t per_a = p.sa[0] == 0 ? p.n : 0, per_b = p.sb[0] == 0 ? p.n : 0;
    auto rows = [&](int64_t r0, int64_t r1) {
      const int64_t o = r0 * p.n;
      fn(op, pa + (per_a ? 0 : o * sa), ta, per_a, pb + (per_b ? 0 : o * sb), tb, per_b, po + o * 4, to, (r1 - r0) * p.n);
    };
    if (p.total < 2 * kWideGrain || get_num_threads() <= 1) rows(0, p.rows);
    else parallel_for(p.rows, (kWideGrain + p.n - 1) / p.n, rows);
    return;
  }
  broadcast_for(p, kWideGrain, [&](int64_t oa, int64_t ob, int64_t oo, int64_t len) {
    if (p.form != kBcSS) {
      fn(op, pa + oa * sa, ta, p.form == kBcSV ? 1 : 0, pb + ob * sb, tb, p.form == kBcVS ? 1 : 0, po + oo * 4, to, len);
      return;
    }
    uint32_t v;  // one value, stored as the output stores it, then repeated
    fn(op, pa + oa * sa, ta, 1, pb + ob * sb, tb, 1, &v, to, 1);
    uint32_t* o = reinterpret_cast<uint32_t*>(po) + oo;
    for (int64_t i = 0; i < len; ++i) o[i] = v;
  });
}

}  // namespace ab

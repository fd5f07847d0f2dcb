// SPDX-License-Identifier: Apache-2.0
// Wide binary ops: broadcasting plan, threading, dispatch (see wide_binary.h).
#include "ops/wide_binary.h"

#include <cstring>

#include "ops/broadcast.h"
#include "runtime/thread_pool.h"

namespace ab {
namespace {

using WideRunFn = void (*)(int, int, const void*, int, const void*, int, void*, int, int64_t);
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
  broadcast_for(p, kWideGrain, [&](int64_t oa, int64_t ob, int64_t oo, int64_t len) {
    if (p.form != kBcSS) {
      fn(op, p.form, pa + oa * sa, ta, pb + ob * sb, tb, po + oo * 4, to, len);
      return;
    }
    uint32_t v;  // one value, stored as the output stores it, then repeated
    fn(op, kBcVV, pa + oa * sa, ta, pb + ob * sb, tb, &v, to, 1);
    uint32_t* o = reinterpret_cast<uint32_t*>(po) + oo;
    for (int64_t i = 0; i < len; ++i) o[i] = v;
  });
}

}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
// N-API: channelAffine(x, a, b, out, C): out[i] = x[i] * a[i % C] + b[i % C] (FusedBatchNorm).
#include <string>

#include "dispatch/dispatch.h"
#include "arg_checks.h"
#include "capture.h"
#include "napi_util.h"
#include "runtime/memory.h"
#include "runtime/thread_pool.h"

AB_DECLARE_KERNEL(void, channel_affine_f32,
                  (const float* x, const float* a, const float* b, float* y, int64_t rows, int64_t C))

namespace ab {
namespace {
using napi::Args;
using AffineFn = void (*)(const float*, const float*, const float*, float*, int64_t, int64_t);
const DispatchStub<AffineFn> affine_stub = {AB_STUB_SLOTS(channel_affine_f32)};

using napi::overlaps;

napi_value channel_affine_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "channelAffine", 5);
  float *px, *pa, *pb, *py;
  size_t nx, na, nb, ny;
  int64_t C;
  if (!a.f32(0, "x", &px, &nx) || !a.f32(1, "a", &pa, &na) || !a.f32(2, "b", &pb, &nb) || !a.f32(3, "out", &py, &ny) ||
      !a.i64(4, "C", &C))
    return nullptr;
  const std::string fn = "channelAffine: ";
  if (C < 1 || (nx % static_cast<size_t>(C)) != 0) {
    napi::throw_range_error(env, fn + "C must be >= 1 and divide the length of x (" + std::to_string(nx) + "), got " + std::to_string(C));
    return nullptr;
  }
  if (na < static_cast<size_t>(C) || nb < static_cast<size_t>(C) || ny < nx) {
    napi::throw_range_error(env, fn + "'a' and 'b' need C values and 'out' as many as x");
    return nullptr;
  }
  if (overlaps(py, ny, pa, na) || overlaps(py, ny, pb, nb) || overlaps(py, ny, px, nx)) {
    napi::throw_range_error(env, fn + "'out' must not share memory with x, a or b");
    return nullptr;
  }
  const int64_t rows = static_cast<int64_t>(nx) / C;
  if (rows == 0) return napi::make_undefined(env);
  hint_fresh_output(py, nx * sizeof(float));
  AB_CAPTURED(a, const AffineFn f = affine_stub.get();  // the level at each run
              parallel_for(rows, (int64_t{1} << 16) / C + 1, [&](int64_t r0, int64_t r1) { f(px + r0 * C, pa, pb, py + r0 * C, r1 - r0, C); }));
  return napi::make_undefined(env);
}

AB_EXPORT("channelAffine", channel_affine_fn);

}  // namespace
}  // namespace ab

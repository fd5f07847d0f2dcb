// SPDX-License-Identifier: Apache-2.0
// N-API: state-buffer updates for decoder steps (a KV cache row written at the current position).
//
//   updateSlice(x, shape, update, updateShape, start, out)
//     out = x with `update` written at `start` (an Int32Array of rank entries, read when the op
//     runs — also when a native plan replays it — and clamped so the update fits, as XLA's
//     DynamicUpdateSlice does); 4-byte elements (Float32Array or Int32Array, moved bitwise). out may
//     be x (in place); otherwise it must not overlap x; `update` and `start` must not overlap out.
#include <cstdint>
#include <string>
#include <vector>

#include "arg_checks.h"
#include "capture.h"
#include "napi_util.h"
#include "ops/update_slice.h"

namespace ab {
namespace {
using napi::Args;

bool data4(Args& a, size_t i, const char* name, uint32_t** data, size_t* len) {
  if (!a.ok) return false;
  napi_typedarray_type t;
  void* p = nullptr;
  bool ta = false;
  if (i >= a.argc || napi_is_typedarray(a.env, a.argv[i], &ta) != napi_ok || !ta ||
      napi_get_typedarray_info(a.env, a.argv[i], &t, len, &p, nullptr, nullptr) != napi_ok ||
      (t != napi_float32_array && t != napi_int32_array)) {
    a.ok = false;
    return napi::throw_type_error(a.env, std::string(a.fn) + ": argument '" + name + "' must be a Float32Array or an Int32Array");
  }
  *data = static_cast<uint32_t*>(p);
  return true;
}

bool range_error(Args& a, const std::string& msg) {
  a.ok = false;
  return napi::throw_range_error(a.env, std::string(a.fn) + ": " + msg);
}

// napi::overlaps over 4-byte elements of any type.
bool overlaps(const void* p, size_t np, const void* q, size_t nq) {
  return napi::overlaps(static_cast<const float*>(p), np, static_cast<const float*>(q), nq);
}

napi_value update_slice_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "updateSlice", 6);
  uint32_t *x, *u, *out;
  size_t nx, nu, no, ns = 0;
  std::vector<int64_t> dims, upd;
  int32_t* start = nullptr;
  if (!data4(a, 0, "x", &x, &nx) || !a.i64_list(1, "shape", &dims) || !data4(a, 2, "update", &u, &nu) ||
      !a.i64_list(3, "updateShape", &upd) || !a.i32_array_or_null(4, "start", &start, &ns) || !data4(a, 5, "out", &out, &no))
    return nullptr;
  const int r = static_cast<int>(dims.size());
  if (r < 1 || r > kUpdateSliceMaxRank) {
    range_error(a, "rank " + std::to_string(r) + " is outside 1.." + std::to_string(kUpdateSliceMaxRank));
    return nullptr;
  }
  if (upd.size() != dims.size()) {
    range_error(a, "'updateShape' has rank " + std::to_string(upd.size()) + ", 'shape' has rank " + std::to_string(r));
    return nullptr;
  }
  if (start == nullptr || ns != dims.size()) {
    range_error(a, "'start' must be an Int32Array of " + std::to_string(r) + " entries");
    return nullptr;
  }
  int64_t n = 1, m = 1;
  for (int i = 0; i < r; ++i) {
    if (dims[i] < 0 || upd[i] < 0 || upd[i] > dims[i]) {
      range_error(a, "update dim " + std::to_string(i) + " is " + std::to_string(upd[i]) + ", the tensor's is " +
                         std::to_string(dims[i]) + " (an update must fit)");
      return nullptr;
    }
    n *= dims[i];
    m *= upd[i];
  }
  if (static_cast<int64_t>(nx) != n || static_cast<int64_t>(no) != n || static_cast<int64_t>(nu) != m) {
    range_error(a, "lengths: x " + std::to_string(nx) + ", out " + std::to_string(no) + ", update " + std::to_string(nu) +
                       " do not match the shapes (" + std::to_string(n) + ", " + std::to_string(m) + ")");
    return nullptr;
  }
  if (out != x && overlaps(out, no, x, nx)) {
    range_error(a, "'out' must be 'x' itself or not overlap it");
    return nullptr;
  }
  if (overlaps(out, no, u, nu) || overlaps(start, ns, out, no)) {
    range_error(a, "'update' and 'start' must not overlap 'out'");
    return nullptr;
  }
  const int32_t* st = start;
  AB_CAPTURED(a, update_slice_4(x, dims.data(), r, u, upd.data(), st, out));
  return nullptr;
}

}  // namespace

AB_EXPORT("updateSlice", update_slice_fn);

}  // namespace ab

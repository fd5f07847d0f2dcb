// SPDX-License-Identifier: Apache-2.0
// N-API: the wide binary ops (native/ops/wide_binary.h). Every argument is checked (a bad one
// throws a JS error naming the function and argument, never a crash); the success path allocates
// nothing.
//
//   binaryWide(op, a, aShape, b, bShape, out, outShape)
//       op: a WideBinaryOp code; a, b: Float32Array, Int32Array or Uint8Array (any mix); out:
//       Float32Array or Int32Array; numpy/tfjs broadcasting, rank <= 8. out may be exactly a or b
//       (same memory, same element count, a 4-byte type), never a partial overlap.
#include <cstdint>
#include <string>

#include "arg_checks.h"
#include "capture.h"
#include "napi_util.h"
#include "shape_args.h"
#include "ops/elementwise.h"
#include "ops/op_codes.h"
#include "ops/wide_binary.h"
#include "runtime/memory.h"

namespace ab {
namespace {
using napi::Args;
using napi::str;
using napi::fail;
using napi::overlap_bytes;
using napi::read_shape;
using napi::shape_str;
using napi::type_fail;
using napi::type_name;

// A typed array argument: *type gets its WideType; `out` allows only the 4-byte output types.
bool wide_array(Args& a, size_t i, const char* name, bool out, int* type, void** data, size_t* len) {
  if (!a.ok) return false;
  const char* want = out ? "a Float32Array or an Int32Array" : "a Float32Array, an Int32Array or a Uint8Array";
  bool is_ta = false;
  napi_typedarray_type t;
  if (i >= a.argc || napi_is_typedarray(a.env, a.argv[i], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(a.env, a.argv[i], &t, len, data, nullptr, nullptr) != napi_ok)
    return type_fail(a, std::string("argument '") + name + "' must be " + want);
  if (t == napi_float32_array) *type = kWideF32;
  else if (t == napi_int32_array) *type = kWideI32;
  else if (t == napi_uint8_array && !out) *type = kWideU8;
  else return type_fail(a, std::string("argument '") + name + "' must be " + want + ", got " + type_name(t));
  return true;
}

napi_value binary_wide_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "binaryWide", 7);
  int32_t op;
  int ta, tb, to;
  void *pa, *pb, *po;
  size_t na, nb, no;
  int64_t as[kEwMaxRank], bs[kEwMaxRank], os[kEwMaxRank], sa, sb, so;
  int ar = 0, br = 0, orank = 0;
  if (!a.i32(0, "op", &op)) return nullptr;
  if (op < 0 || op >= kWideCount) {
    fail(a, "'op' " + str(op) + " is not a WideBinaryOp code (0.." + str(kWideCount - 1) + ")");
    return nullptr;
  }
  if (!wide_array(a, 1, "a", false, &ta, &pa, &na) || !read_shape(a, 2, "aShape", as, &ar, &sa) ||
      !wide_array(a, 3, "b", false, &tb, &pb, &nb) || !read_shape(a, 4, "bShape", bs, &br, &sb) ||
      !wide_array(a, 5, "out", true, &to, &po, &no) || !read_shape(a, 6, "outShape", os, &orank, &so))
    return nullptr;
  if (!napi::check_binary_shapes(a, na, as, ar, sa, nb, bs, br, sb, no, os, orank, so)) return nullptr;
  // out may be an input exactly (each chunk is read before it is written), never partly.
  const struct { const char* name; const void* p; size_t n; int t; } ins[2] = {{"a", pa, na, ta}, {"b", pb, nb, tb}};
  bool aliased = false;
  for (const auto& in : ins) {
    const size_t bytes = in.n * static_cast<size_t>(wide_type_size(in.t));
    if (!overlap_bytes(in.p, bytes, po, no * 4)) continue;
    if (in.p != po || in.n != no || wide_type_size(in.t) != 4) {
      fail(a, std::string("'out' overlaps '") + in.name + "' without being the same memory with as many 4-byte elements");
      return nullptr;
    }
    aliased = true;
  }
  if (so == 0) return nullptr;
  if (!aliased) hint_fresh_output(po, no * 4);
  AB_CAPTURED(a, ew_binary_wide(op, pa, ta, as, ar, pb, tb, bs, br, po, to, os, orank));
  return nullptr;  // undefined
}

AB_EXPORT("binaryWide", binary_wide_fn);

}  // namespace
}  // namespace ab

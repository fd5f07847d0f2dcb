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
#include "ops/elementwise.h"
#include "ops/op_codes.h"
#include "ops/wide_binary.h"
#include "runtime/memory.h"

namespace ab {
namespace {
using napi::Args;
using napi::str;

constexpr double kMaxDim = 9007199254740991.0;  // 2^53 - 1

bool fail(Args& a, const std::string& msg) {
  a.ok = false;
  return napi::throw_range_error(a.env, std::string(a.fn) + ": " + msg);
}
bool type_fail(Args& a, const std::string& msg) {
  a.ok = false;
  return napi::throw_type_error(a.env, std::string(a.fn) + ": " + msg);
}

const char* type_name(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_float64_array: return "Float64Array";
    default: return "another typed array";
  }
}

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

std::string shape_str(const int64_t* d, int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? "," : "") + str(d[i]);
  return s + "]";
}

// A shape: number[] of non-negative integers, rank <= kEwMaxRank; *size gets its product.
bool read_shape(Args& a, size_t i, const char* name, int64_t* dims, int* rank, int64_t* size) {
  if (!a.ok) return false;
  napi_env env = a.env;
  napi_value v = i < a.argc ? a.argv[i] : nullptr;
  uint32_t n = 0;
  if (!v || napi_get_array_length(env, v, &n) != napi_ok)
    return type_fail(a, std::string("argument '") + name + "' must be an array of integers");
  if (n > static_cast<uint32_t>(kEwMaxRank))
    return fail(a, std::string("'") + name + "' has rank " + str(n) + ", more than the supported " + str(kEwMaxRank));
  for (uint32_t k = 0; k < n; ++k) {
    napi_value e;
    double d = -1;
    if (napi_get_element(env, v, k, &e) != napi_ok || napi_get_value_double(env, e, &d) != napi_ok || !(d >= 0) ||
        d > kMaxDim || d != static_cast<double>(static_cast<int64_t>(d)))
      return fail(a, std::string("'") + name + "'[" + str(k) + "] must be a non-negative integer");
    dims[k] = static_cast<int64_t>(d);
  }
  *rank = static_cast<int>(n);
  *size = 1;
  for (uint32_t k = 0; k < n; ++k)
    if (dims[k] == 0) *size = 0;
  for (uint32_t k = 0; k < n && *size != 0; ++k)
    if (!napi::mul_checked(*size, dims[k], size))
      return fail(a, std::string("'") + name + "' " + shape_str(dims, *rank) + " is too large");
  return true;
}

bool overlap_bytes(const void* p, size_t pb, const void* q, size_t qb) {
  if (!p || !q || pb == 0 || qb == 0) return false;
  const uintptr_t x = reinterpret_cast<uintptr_t>(p), y = reinterpret_cast<uintptr_t>(q);
  return x < y + qb && y < x + pb;
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
  const struct { const char* arr; size_t len; const char* shape; const int64_t* d; int n; int64_t need; } lens[3] = {
      {"a", na, "aShape", as, ar, sa}, {"b", nb, "bShape", bs, br, sb}, {"out", no, "outShape", os, orank, so}};
  for (const auto& l : lens) {
    if (static_cast<int64_t>(l.len) != l.need) {
      fail(a, std::string("'") + l.arr + "' has " + str(static_cast<int64_t>(l.len)) + " elements but '" + l.shape + "' " +
                  shape_str(l.d, l.n) + " needs " + str(l.need));
      return nullptr;
    }
  }
  const int64_t* shapes[2] = {as, bs};
  const int ranks[2] = {ar, br};
  const char* names[2] = {"aShape", "bShape"};
  for (int t = 0; t < 2; ++t) {
    const std::string why = napi::broadcast_mismatch(shapes[t], ranks[t], os, orank);
    if (!why.empty()) {
      fail(a, std::string("'") + names[t] + "' " + shape_str(shapes[t], ranks[t]) + " does not broadcast to 'outShape' " +
                  shape_str(os, orank) + ": " + why);
      return nullptr;
    }
  }
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

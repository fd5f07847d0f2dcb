// SPDX-License-Identifier: Apache-2.0
// Argument readers shared by the N-API files that take typed arrays of several element types and
// shapes as number[] (select_api.cc, wide_api.cc, graph_api.cc): failures that mark the call
// failed, typed-array type names, shape arrays, byte-range overlap.
#pragma once
#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "arg_checks.h"
#include "napi_util.h"
#include "ops/elementwise.h"

namespace ab::napi {

constexpr double kMaxDim = 9007199254740991.0;  // 2^53 - 1

// Throw a RangeError (fail) or TypeError (type_fail) "<fn>: <msg>", mark the call failed, return false.
inline bool fail(Args& a, const std::string& msg) {
  a.ok = false;
  return throw_range_error(a.env, std::string(a.fn) + ": " + msg);
}
inline bool type_fail(Args& a, const std::string& msg) {
  a.ok = false;
  return throw_type_error(a.env, std::string(a.fn) + ": " + msg);
}

inline const char* type_name(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_float64_array: return "Float64Array";
    default: return "another typed array";
  }
}

inline std::string shape_str(const int64_t* d, int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? "," : "") + str(d[i]);
  return s + "]";
}

// A shape: number[] of non-negative integers, rank <= kEwMaxRank; *size gets its product
// (checked against overflow).
inline bool read_shape(Args& a, size_t i, const char* name, int64_t* dims, int* rank, int64_t* size) {
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
    if (!mul_checked(*size, dims[k], size)) return fail(a, std::string("'") + name + "' " + shape_str(dims, *rank) + " is too large");
  return true;
}

// Whether byte ranges [p, p + pb) and [q, q + qb) share a byte (empty or null ranges never do).
inline bool overlap_bytes(const void* p, size_t pb, const void* q, size_t qb) {
  if (!p || !q || pb == 0 || qb == 0) return false;
  const uintptr_t x = reinterpret_cast<uintptr_t>(p), y = reinterpret_cast<uintptr_t>(q);
  return x < y + qb && y < x + pb;
}

// A broadcasting binary op's operands: each array holds exactly its shape's elements, and aShape
// and bShape broadcast to outShape. Throws (and returns false) naming the argument otherwise.
inline bool check_binary_shapes(Args& a, size_t na, const int64_t* as, int ar, int64_t sa, size_t nb, const int64_t* bs,
                                int br, int64_t sb, size_t no, const int64_t* os, int orank, int64_t so) {
  const struct { const char* arr; size_t len; const char* shape; const int64_t* d; int n; int64_t need; } lens[3] = {
      {"a", na, "aShape", as, ar, sa}, {"b", nb, "bShape", bs, br, sb}, {"out", no, "outShape", os, orank, so}};
  for (const auto& l : lens) {
    if (static_cast<int64_t>(l.len) != l.need)
      return fail(a, std::string("'") + l.arr + "' has " + str(static_cast<int64_t>(l.len)) + " elements but '" + l.shape +
                         "' " + shape_str(l.d, l.n) + " needs " + str(l.need));
  }
  const int64_t* shapes[2] = {as, bs};
  const int ranks[2] = {ar, br};
  const char* names[2] = {"aShape", "bShape"};
  for (int t = 0; t < 2; ++t) {
    const std::string why = broadcast_mismatch(shapes[t], ranks[t], os, orank);
    if (!why.empty())
      return fail(a, std::string("'") + names[t] + "' " + shape_str(shapes[t], ranks[t]) + " does not broadcast to 'outShape' " +
                         shape_str(os, orank) + ": " + why);
  }
  return true;
}

}  // namespace ab::napi

// SPDX-License-Identifier: Apache-2.0
// N-API: binary, unary, softmax, reduce. Every argument is checked (a bad one throws a JS
// error, never crashes); the success path allocates nothing (shapes live in fixed arrays).
//
//   binary(op, a, aShape, b, bShape, out, outShape)   numpy/tfjs broadcasting, rank <= 8
//   unary(op, x, out, alpha)                           out may be x
//   softmax(x, out, rows, cols)                        out may be x
//   reduce(op, x, out, outer, r, inner)                out must not overlap x
#include <cstdint>
#include <string>

#include "../ops/elementwise.h"
#include "../ops/op_codes.h"
#include "arg_checks.h"
#include "capture.h"
#include "napi_util.h"
#include "runtime/memory.h"

namespace ab {
namespace {
using napi::Args;

constexpr double kMaxDim = 9007199254740991.0;  // 2^53 - 1

std::string shape_str(const int64_t* d, int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(d[i]);
  return s + "]";
}

// Float32Array argument with one N-API call on the success path (falls back to Args::f32 for
// the error message).
bool f32(Args& a, size_t i, const char* name, float** data, size_t* len) {
  if (!a.ok) return false;
  napi_typedarray_type type;
  void* ptr = nullptr;
  if (i < a.argc && napi_get_typedarray_info(a.env, a.argv[i], &type, len, &ptr, nullptr, nullptr) == napi_ok &&
      type == napi_float32_array) {
    *data = static_cast<float*>(ptr);
    return true;
  }
  return a.f32(i, name, data, len);
}

bool arg_error(Args& a, const std::string& msg) {
  a.ok = false;
  return napi::throw_range_error(a.env, std::string(a.fn) + ": " + msg);
}

// A shape: number[] (or Int32Array) of non-negative integers, rank <= kEwMaxRank.
bool read_shape(Args& a, size_t i, const char* name, int64_t* dims, int* rank) {
  if (!a.ok) return false;
  napi_env env = a.env;
  napi_value v = i < a.argc ? a.argv[i] : nullptr;
  uint32_t n = 0;
  // napi_get_array_length fails (napi_array_expected) for anything but an Array.
  bool is_arr = v && napi_get_array_length(env, v, &n) == napi_ok, is_ta = false;
  if (v && !is_arr) napi_is_typedarray(env, v, &is_ta);
  if (is_ta) {
    napi_typedarray_type type;
    void* ptr = nullptr;
    size_t n = 0;  // shadows the array length above
    if (napi_get_typedarray_info(env, v, &type, &n, &ptr, nullptr, nullptr) != napi_ok ||
        type != napi_int32_array) {
      a.ok = false;
      return napi::throw_type_error(env, std::string(a.fn) + ": argument '" + name +
                                             "' must be an array of integers or an Int32Array");
    }
    if (n > static_cast<size_t>(kEwMaxRank))
      return arg_error(a, std::string("'") + name + "' has rank " + std::to_string(n) +
                              ", more than the supported " + std::to_string(kEwMaxRank));
    const int32_t* p = static_cast<const int32_t*>(ptr);
    for (size_t k = 0; k < n; ++k) {
      if (p[k] < 0)
        return arg_error(a, std::string("'") + name + "'[" + std::to_string(k) + "] is " +
                                std::to_string(p[k]) + ": dims must be non-negative integers");
      dims[k] = p[k];
    }
    *rank = static_cast<int>(n);
    return true;
  }
  if (!is_arr) {
    a.ok = false;
    return napi::throw_type_error(env, std::string(a.fn) + ": argument '" + name +
                                           "' must be an array of integers or an Int32Array");
  }
  if (n > static_cast<uint32_t>(kEwMaxRank))
    return arg_error(a, std::string("'") + name + "' has rank " + std::to_string(n) +
                            ", more than the supported " + std::to_string(kEwMaxRank));
  for (uint32_t k = 0; k < n; ++k) {
    napi_value e;
    double d = -1;
    // napi_get_value_double fails (napi_number_expected) for anything but a number.
    if (napi_get_element(env, v, k, &e) != napi_ok || napi_get_value_double(env, e, &d) != napi_ok || !(d >= 0) ||
        d > kMaxDim || d != static_cast<double>(static_cast<int64_t>(d))) {
      return arg_error(a, std::string("'") + name + "'[" + std::to_string(k) +
                              "] must be a non-negative integer");
    }
    dims[k] = static_cast<int64_t>(d);
  }
  *rank = static_cast<int>(n);
  return true;
}

// Product of dims, or -1 if it overflows 2^53.
int64_t shape_size(const int64_t* d, int n) {
  int64_t s = 1;
  for (int i = 0; i < n; ++i)
    if (d[i] == 0) return 0;
  for (int i = 0; i < n; ++i) {
    if (__builtin_mul_overflow(s, d[i], &s) || s > static_cast<int64_t>(kMaxDim)) return -1;
  }
  return s;
}

bool check_len(Args& a, const char* arr, size_t len, const char* shape_name, const int64_t* d, int n) {
  const int64_t s = shape_size(d, n);
  if (s < 0) return arg_error(a, std::string("'") + shape_name + "' " + shape_str(d, n) + " is too large");
  if (static_cast<uint64_t>(s) != len)
    return arg_error(a, std::string("'") + arr + "' has " + std::to_string(len) + " elements but '" +
                            shape_name + "' " + shape_str(d, n) + " needs " + std::to_string(s));
  return true;
}

using napi::overlaps;

// out may be exactly `in` (same start, same length) but must not partly overlap it.
bool check_alias(Args& a, const char* in_name, const float* in, size_t nin, const float* out, size_t nout) {
  if (overlaps(in, nin, out, nout) && !(in == out && nin == nout))
    return arg_error(a, std::string("'out' overlaps '") + in_name +
                            "' without being the same array of the same length");
  return true;
}

bool read_op(Args& a, int count, const char* what, int32_t* op) {
  if (!a.i32(0, "op", op)) return false;
  if (*op < 0 || *op >= count)
    return arg_error(a, std::string("'op' ") + std::to_string(*op) + " is not a " + what +
                            " code (0.." + std::to_string(count - 1) + ")");
  return true;
}

bool read_count(Args& a, size_t i, const char* name, int64_t* v) {
  if (!a.i64(i, name, v)) return false;
  if (*v < 0) return arg_error(a, std::string("'") + name + "' must be >= 0, got " + std::to_string(*v));
  return true;
}

napi_value binary_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "binary", 7);
  int32_t op;
  float *pa, *pb, *po;
  size_t na, nb, no;
  int64_t as[kEwMaxRank], bs[kEwMaxRank], os[kEwMaxRank];
  int ar = 0, br = 0, orank = 0;
  if (!read_op(a, kBinCount, "BinaryOp", &op) || !f32(a, 1, "a", &pa, &na) ||
      !read_shape(a, 2, "aShape", as, &ar) || !f32(a, 3, "b", &pb, &nb) ||
      !read_shape(a, 4, "bShape", bs, &br) || !f32(a, 5, "out", &po, &no) ||
      !read_shape(a, 6, "outShape", os, &orank))
    return nullptr;
  if (!check_len(a, "a", na, "aShape", as, ar) || !check_len(a, "b", nb, "bShape", bs, br) ||
      !check_len(a, "out", no, "outShape", os, orank))
    return nullptr;
  const int64_t* shapes[2] = {as, bs};
  const int ranks[2] = {ar, br};
  const char* names[2] = {"aShape", "bShape"};
  for (int t = 0; t < 2; ++t) {
    const std::string why = napi::broadcast_mismatch(shapes[t], ranks[t], os, orank);
    if (!why.empty()) {
      arg_error(a, std::string("'") + names[t] + "' " + shape_str(shapes[t], ranks[t]) + " does not broadcast to 'outShape' " +
                  shape_str(os, orank) + ": " + why);
      return nullptr;
    }
  }
  if (!check_alias(a, "a", pa, na, po, no) || !check_alias(a, "b", pb, nb, po, no)) return nullptr;
  if (po != pa && po != pb) hint_fresh_output(po, no * sizeof(float));
  AB_CAPTURED(a, ew_binary(op, pa, as, ar, pb, bs, br, po, os, orank));
  return nullptr;  // undefined
}

napi_value unary_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "unary", 4);
  int32_t op;
  float *px, *po;
  size_t nx, no;
  double alpha;
  if (!read_op(a, kUnCount, "UnaryOp", &op) || !f32(a, 1, "x", &px, &nx) || !f32(a, 2, "out", &po, &no) ||
      !a.f64(3, "alpha", &alpha))
    return nullptr;
  if (nx != no) {
    arg_error(a, "'out' has " + std::to_string(no) + " elements but 'x' has " + std::to_string(nx));
    return nullptr;
  }
  if (!check_alias(a, "x", px, nx, po, no)) return nullptr;
  if (po != px) hint_fresh_output(po, no * sizeof(float));
  AB_CAPTURED(a, ew_unary(op, px, po, static_cast<int64_t>(nx), static_cast<float>(alpha)));
  return nullptr;
}

//   clip(x, out, lo, hi)                               tfjs ClipByValue; out may be x
napi_value clip_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "clip", 4);
  float *px, *po;
  size_t nx, no;
  double lo, hi;
  if (!f32(a, 0, "x", &px, &nx) || !f32(a, 1, "out", &po, &no) || !a.f64(2, "lo", &lo) || !a.f64(3, "hi", &hi))
    return nullptr;
  if (nx != no) {
    arg_error(a, "'out' has " + std::to_string(no) + " elements but 'x' has " + std::to_string(nx));
    return nullptr;
  }
  if (!(lo <= hi)) {
    arg_error(a, "'lo' (" + std::to_string(lo) + ") must not be above 'hi' (" + std::to_string(hi) + ")");
    return nullptr;
  }
  if (!check_alias(a, "x", px, nx, po, no)) return nullptr;
  if (po != px) hint_fresh_output(po, no * sizeof(float));
  AB_CAPTURED(a, ew_clip(px, po, static_cast<int64_t>(nx), static_cast<float>(lo), static_cast<float>(hi)));
  return nullptr;
}

napi_value softmax_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "softmax", 4);
  float *px, *po;
  size_t nx, no;
  int64_t rows, cols;
  if (!f32(a, 0, "x", &px, &nx) || !f32(a, 1, "out", &po, &no) || !read_count(a, 2, "rows", &rows) ||
      !read_count(a, 3, "cols", &cols))
    return nullptr;
  const int64_t d[2] = {rows, cols};
  if (!check_len(a, "x", nx, "[rows, cols]", d, 2) || !check_len(a, "out", no, "[rows, cols]", d, 2) ||
      !check_alias(a, "x", px, nx, po, no))
    return nullptr;
  if (po != px) hint_fresh_output(po, no * sizeof(float));
  AB_CAPTURED(a, ew_softmax(px, po, rows, cols));
  return nullptr;
}

// argReduce(isMin, x, out: Int32Array, outer, r, inner)
napi_value arg_reduce_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "argReduce", 6);
  bool is_min;
  float* px;
  int32_t* po;
  size_t nx, no;
  int64_t outer, r, inner;
  if (!a.boolean(0, "isMin", &is_min) || !f32(a, 1, "x", &px, &nx) || !a.i32_array_or_null(2, "out", &po, &no) ||
      !read_count(a, 3, "outer", &outer) || !read_count(a, 4, "r", &r) || !read_count(a, 5, "inner", &inner))
    return nullptr;
  const int64_t dx[3] = {outer, r, inner}, dout[2] = {outer, inner};
  if (po == nullptr && no == 0 && (outer == 0 || inner == 0)) return nullptr;  // an empty output (null data)
  if (po == nullptr) {
    arg_error(a, "'out' must be an Int32Array");
    return nullptr;
  }
  if (!check_len(a, "x", nx, "[outer, r, inner]", dx, 3) || !check_len(a, "out", no, "[outer, inner]", dout, 2))
    return nullptr;
  if (overlaps(px, nx, reinterpret_cast<float*>(po), no)) {
    arg_error(a, "'out' must not overlap 'x'");
    return nullptr;
  }
  AB_CAPTURED(a, ew_argreduce(is_min ? 1 : 0, px, po, outer, r, inner));
  return nullptr;
}

napi_value reduce_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "reduce", 6);
  int32_t op;
  float *px, *po;
  size_t nx, no;
  int64_t outer, r, inner;
  if (!read_op(a, kRedCount, "ReduceOp", &op) || !f32(a, 1, "x", &px, &nx) || !f32(a, 2, "out", &po, &no) ||
      !read_count(a, 3, "outer", &outer) || !read_count(a, 4, "r", &r) || !read_count(a, 5, "inner", &inner))
    return nullptr;
  const int64_t dx[3] = {outer, r, inner}, dout[2] = {outer, inner};
  if (!check_len(a, "x", nx, "[outer, r, inner]", dx, 3) || !check_len(a, "out", no, "[outer, inner]", dout, 2))
    return nullptr;
  if (overlaps(px, nx, po, no)) {
    arg_error(a, "'out' must not overlap 'x'");
    return nullptr;
  }
  AB_CAPTURED(a, ew_reduce(op, px, po, outer, r, inner));
  return nullptr;
}

AB_EXPORT("binary", binary_fn);
AB_EXPORT("unary", unary_fn);
AB_EXPORT("clip", clip_fn);
AB_EXPORT("softmax", softmax_fn);
AB_EXPORT("reduce", reduce_fn);
AB_EXPORT("argReduce", arg_reduce_fn);

}  // namespace
}  // namespace ab

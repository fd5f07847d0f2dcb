// SPDX-License-Identifier: Apache-2.0
// N-API: comparisons, TopK, AddN, GatherNd (native/ops/select.h). Every argument is checked (a bad
// one throws a JS error naming the function and argument); the success paths of compare and
// addN allocate nothing.
//
//   compare(op, a, aShape, b, bShape, out: Uint8Array, outShape)   a, b: both Float32Array or
//                                                          both Int32Array; broadcasting, rank <= 8
//   topK(x, rows, n, k, sorted, vals, idx: Int32Array) -> boolean   x, vals: both Float32Array or
//                                                          both Int32Array; false: x holds NaN/Inf
//   addN(xs: Float32Array[], out)                           every xs[i] as long as out
//   toF32(x: Uint8Array | Int32Array, out: Float32Array)   JavaScript's Float32Array.from(x)
//   gatherNd(params, indices: Int32Array, out, sliceSize, strides: number[]) -> boolean
//                                                          params, out: 4-byte arrays; false: an
//                                                          index is out of range
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "arg_checks.h"
#include "capture.h"
#include "napi_util.h"
#include "shape_args.h"
#include "ops/elementwise.h"
#include "ops/op_codes.h"
#include "ops/select.h"
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

// A typed array argument of one of the types in `ok_types` (want: their names, for the message).
bool typed(Args& a, size_t i, const char* name, std::initializer_list<napi_typedarray_type> ok_types, const char* want,
           napi_typedarray_type* type, void** data, size_t* len) {
  if (!a.ok) return false;
  bool is_ta = false;
  if (i >= a.argc || napi_is_typedarray(a.env, a.argv[i], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(a.env, a.argv[i], type, len, data, nullptr, nullptr) != napi_ok)
    return type_fail(a, std::string("argument '") + name + "' must be " + want);
  for (napi_typedarray_type t : ok_types)
    if (t == *type) return true;
  return type_fail(a, std::string("argument '") + name + "' must be " + want + ", got " + type_name(*type));
}

napi_value compare_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "compare", 7);
  int32_t op;
  napi_typedarray_type ta, tb, to;
  void *pa, *pb, *po;
  size_t na, nb, no;
  int64_t as[kEwMaxRank], bs[kEwMaxRank], os[kEwMaxRank], sa, sb, so;
  int ar = 0, br = 0, orank = 0;
  const char* ab_types = "a Float32Array or an Int32Array";
  if (!a.i32(0, "op", &op)) return nullptr;
  if (op < 0 || op >= kCmpCount) {
    fail(a, "'op' " + str(op) + " is not a CompareOp code (0.." + str(kCmpCount - 1) + ")");
    return nullptr;
  }
  if (!typed(a, 1, "a", {napi_float32_array, napi_int32_array}, ab_types, &ta, &pa, &na) ||
      !read_shape(a, 2, "aShape", as, &ar, &sa) ||
      !typed(a, 3, "b", {napi_float32_array, napi_int32_array}, ab_types, &tb, &pb, &nb) ||
      !read_shape(a, 4, "bShape", bs, &br, &sb) || !typed(a, 5, "out", {napi_uint8_array}, "a Uint8Array", &to, &po, &no) ||
      !read_shape(a, 6, "outShape", os, &orank, &so))
    return nullptr;
  if (ta != tb) {
    type_fail(a, std::string("'a' and 'b' must have the same type, got ") + type_name(ta) + " and " + type_name(tb));
    return nullptr;
  }
  if (!napi::check_binary_shapes(a, na, as, ar, sa, nb, bs, br, sb, no, os, orank, so)) return nullptr;
  if (overlap_bytes(pa, na * 4, po, no) || overlap_bytes(pb, nb * 4, po, no)) {
    fail(a, "'out' must not share memory with 'a' or 'b'");
    return nullptr;
  }
  if (so == 0) return nullptr;
  hint_fresh_output(po, no);
  AB_CAPTURED(a, if (ta == napi_float32_array)
                   compare_f32(op, static_cast<const float*>(pa), as, ar, static_cast<const float*>(pb), bs, br,
                               static_cast<uint8_t*>(po), os, orank);
                 else
                   compare_i32(op, static_cast<const int32_t*>(pa), as, ar, static_cast<const int32_t*>(pb), bs, br,
                               static_cast<uint8_t*>(po), os, orank));
  return nullptr;
}

napi_value topk_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "topK", 7);
  napi_typedarray_type tx, tv, ti;
  void *px, *pv, *pi;
  size_t nx, nv, ni;
  int64_t rows, n, k;
  bool sorted;
  const char* xv_types = "a Float32Array or an Int32Array";
  if (!typed(a, 0, "x", {napi_float32_array, napi_int32_array}, xv_types, &tx, &px, &nx) || !a.i64(1, "rows", &rows) ||
      !a.i64(2, "n", &n) || !a.i64(3, "k", &k) || !a.boolean(4, "sorted", &sorted) ||
      !typed(a, 5, "vals", {napi_float32_array, napi_int32_array}, xv_types, &tv, &pv, &nv) ||
      !typed(a, 6, "idx", {napi_int32_array}, "an Int32Array", &ti, &pi, &ni))
    return nullptr;
  if (tx != tv) {
    type_fail(a, std::string("'vals' must have the type of 'x' (") + type_name(tx) + "), got " + type_name(tv));
    return nullptr;
  }
  if (rows < 0 || n < 0 || k < 0) {
    fail(a, "'rows', 'n' and 'k' must be >= 0, got " + str(rows) + ", " + str(n) + ", " + str(k));
    return nullptr;
  }
  if (k > n) {
    fail(a, "'k' (" + str(k) + ") must be at most 'n' (" + str(n) + ")");
    return nullptr;
  }
  if (n > INT32_MAX) {
    fail(a, "'n' (" + str(n) + ") must be below 2^31 (indices are int32)");
    return nullptr;
  }
  if (!sorted && k != n) {
    fail(a, "sorted = false needs k == n (tfjs-cpu's unsorted order of a partial selection is its own)");
    return nullptr;
  }
  int64_t need_x, need_out;
  if (!napi::mul_checked(rows, n, &need_x) || !napi::mul_checked(rows, k, &need_out)) {
    fail(a, "[rows, n] overflows");
    return nullptr;
  }
  if (static_cast<int64_t>(nx) != need_x || static_cast<int64_t>(nv) != need_out ||
      static_cast<int64_t>(ni) != need_out) {
    fail(a, "'x' must hold rows*n = " + str(need_x) + " elements and 'vals', 'idx' rows*k = " + str(need_out) +
                " (got " + str(static_cast<int64_t>(nx)) + ", " + str(static_cast<int64_t>(nv)) + ", " +
                str(static_cast<int64_t>(ni)) + ")");
    return nullptr;
  }
  if (overlap_bytes(px, nx * 4, pv, nv * 4) || overlap_bytes(px, nx * 4, pi, ni * 4) ||
      overlap_bytes(pv, nv * 4, pi, ni * 4)) {
    fail(a, "'x', 'vals' and 'idx' must not share memory");
    return nullptr;
  }
  // A float row with NaN or +-Inf is not done here (the TS kernel then runs tfjs-cpu's): such a call
  // is not captured, and a replay that meets one asks for its node to run in JS (kRunInJs: the
  // native executor runs the TopK kernel, which runs tfjs-cpu's, and resumes after it).
  const char* why = capture::run(a, [=]() -> const char* {
    if (tx == napi_float32_array)
      return topk_f32(static_cast<const float*>(px), rows, n, k, sorted, static_cast<float*>(pv), static_cast<int32_t*>(pi))
                 ? nullptr : capture::kRunInJs;
    topk_i32(static_cast<const int32_t*>(px), rows, n, k, sorted, static_cast<int32_t*>(pv), static_cast<int32_t*>(pi));
    return nullptr;
  });
  return napi::make_bool(env, why == nullptr);
}

napi_value addn_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "addN", 2);
  float* po;
  size_t no;
  if (!a.ok) return nullptr;
  uint32_t m = 0;
  if (napi_get_array_length(env, a.argv[0], &m) != napi_ok) {
    type_fail(a, "argument 'xs' must be an array of Float32Arrays");
    return nullptr;
  }
  if (!a.f32(1, "out", &po, &no)) return nullptr;
  if (m == 0) {
    fail(a, "'xs' must hold at least one array");
    return nullptr;
  }
  constexpr uint32_t kMaxInputs = 1024;
  if (m > kMaxInputs) {
    fail(a, "'xs' holds " + str(m) + " arrays, more than the supported " + str(kMaxInputs));
    return nullptr;
  }
  const float* local[16];
  std::vector<const float*> many;
  const float** xs = local;
  if (m > 16) {
    many.resize(m);
    xs = many.data();
  }
  for (uint32_t j = 0; j < m; ++j) {
    napi_value e;
    napi_typedarray_type t;
    void* p = nullptr;
    size_t n = 0;
    bool is_ta = false;
    if (napi_get_element(env, a.argv[0], j, &e) != napi_ok || napi_is_typedarray(env, e, &is_ta) != napi_ok || !is_ta ||
        napi_get_typedarray_info(env, e, &t, &n, &p, nullptr, nullptr) != napi_ok || t != napi_float32_array) {
      type_fail(a, "'xs'[" + str(j) + "] must be a Float32Array");
      return nullptr;
    }
    if (n != no) {
      fail(a, "'xs'[" + str(j) + "] has " + str(static_cast<int64_t>(n)) + " elements, 'out' " +
                  str(static_cast<int64_t>(no)));
      return nullptr;
    }
    if (napi::overlaps(static_cast<const float*>(p), n, po, no)) {
      fail(a, "'out' must not share memory with 'xs'[" + str(j) + "]");
      return nullptr;
    }
    xs[j] = static_cast<const float*>(p);
  }
  if (no == 0) return nullptr;
  hint_fresh_output(po, no * sizeof(float));
  // The closure keeps its own copy of the input pointers (xs may point at this frame's stack).
  const std::vector<const float*> ins(xs, xs + m);
  AB_CAPTURED(a, add_n_f32(ins.data(), m, po, static_cast<int64_t>(no)));
  return nullptr;
}

napi_value gather_nd_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "gatherNd", 5);
  const char* d4 = "a Float32Array, Int32Array or Uint32Array";
  napi_typedarray_type tp, tix, to;
  void *pp, *pix, *po;
  size_t np, nix, no;
  int64_t slice_size;
  std::vector<int64_t> strides;
  if (!typed(a, 0, "params", {napi_float32_array, napi_int32_array, napi_uint32_array}, d4, &tp, &pp, &np) ||
      !typed(a, 1, "indices", {napi_int32_array}, "an Int32Array", &tix, &pix, &nix) ||
      !typed(a, 2, "out", {napi_float32_array, napi_int32_array, napi_uint32_array}, d4, &to, &po, &no) ||
      !a.i64(3, "sliceSize", &slice_size) || !a.i64_list(4, "strides", &strides))
    return nullptr;
  const int64_t rank = static_cast<int64_t>(strides.size());
  if (slice_size < 1) {
    fail(a, "'sliceSize' must be >= 1, got " + str(slice_size));
    return nullptr;
  }
  if (rank < 1 || rank > 64) {
    fail(a, "'strides' must hold 1 to 64 strides (one per index coordinate), got " + str(rank));
    return nullptr;
  }
  for (int64_t j = 0; j < rank; ++j) {
    if (strides[static_cast<size_t>(j)] < 0 || strides[static_cast<size_t>(j)] > INT32_MAX) {
      fail(a, "'strides'[" + str(j) + "] must be in [0, 2^31), got " + str(strides[static_cast<size_t>(j)]));
      return nullptr;
    }
  }
  if (static_cast<int64_t>(np) % slice_size != 0) {
    fail(a, "'params' (" + str(static_cast<int64_t>(np)) + " elements) is not a whole number of slices of " +
                str(slice_size));
    return nullptr;
  }
  if (static_cast<int64_t>(nix) % rank != 0) {
    fail(a, "'indices' (" + str(static_cast<int64_t>(nix)) + " elements) is not a whole number of " + str(rank) +
                "-coordinate indices");
    return nullptr;
  }
  const int64_t nslices = static_cast<int64_t>(nix) / rank;
  int64_t need;
  if (!napi::mul_checked(nslices, slice_size, &need) || static_cast<int64_t>(no) != need) {
    fail(a, "'out' has " + str(static_cast<int64_t>(no)) + " elements, needs slices * sliceSize = " + str(nslices) +
                " * " + str(slice_size));
    return nullptr;
  }
  if (overlap_bytes(po, no * 4, pp, np * 4) || overlap_bytes(po, no * 4, pix, nix * 4)) {
    fail(a, "'out' must not share memory with 'params' or 'indices'");
    return nullptr;
  }
  if (nslices == 0) return napi::make_bool(env, true);
  // Indices are data: a replay re-checks them (and fails on a bad one, as the cpu kernel throws).
  const char* why = capture::run(a, [=]() -> const char* {
    return gather_nd_4(static_cast<const uint32_t*>(pp), static_cast<int64_t>(np) / slice_size, slice_size,
                       static_cast<const int32_t*>(pix), nslices, static_cast<int>(rank), strides.data(),
                       static_cast<uint32_t*>(po))
               ? nullptr : "gatherNd: an index is out of range";
  });
  return napi::make_bool(env, why == nullptr);
}

//   toF32(x: Uint8Array | Int32Array, out: Float32Array)   out[i] = Math.fround(x[i])
napi_value to_f32_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "toF32", 2);
  napi_typedarray_type tx, to;
  void *px, *po;
  size_t nx, no;
  if (!typed(a, 0, "x", {napi_uint8_array, napi_int32_array}, "a Uint8Array or an Int32Array", &tx, &px, &nx) ||
      !typed(a, 1, "out", {napi_float32_array}, "a Float32Array", &to, &po, &no))
    return nullptr;
  if (nx != no) {
    fail(a, "'out' has " + str(static_cast<int64_t>(no)) + " elements, 'x' " + str(static_cast<int64_t>(nx)));
    return nullptr;
  }
  const size_t xbytes = nx * (tx == napi_int32_array ? 4 : 1);
  if (overlap_bytes(px, xbytes, po, no * 4)) {
    fail(a, "'out' must not share memory with 'x'");
    return nullptr;
  }
  if (no == 0) return nullptr;
  hint_fresh_output(po, no * sizeof(float));
  AB_CAPTURED(a, widen_to_f32(px, tx == napi_int32_array ? 1 : 0, static_cast<float*>(po), static_cast<int64_t>(no)));
  return nullptr;
}

AB_EXPORT("compare", compare_fn);
AB_EXPORT("toF32", to_f32_fn);
AB_EXPORT("topK", topk_fn);
AB_EXPORT("addN", addn_fn);
AB_EXPORT("gatherNd", gather_nd_fn);

}  // namespace
}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
// N-API: data movement (strided copy, pad, mirror pad, concat, gather), resize and cast. The
// movement functions take any arrays of 4-byte elements (Float32Array, Int32Array, Uint32Array)
// and move them bitwise. Every size and every index a call would touch is checked here first.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "arg_checks.h"
#include "capture.h"
#include "napi_util.h"
#include "ops/movement.h"
#include "runtime/memory.h"

namespace ab {
namespace {
using napi::Args;
using napi::mul_checked;
std::string s(int64_t v) { return napi::str(v); }
std::string s(size_t v) { return napi::str(static_cast<int64_t>(v)); }

constexpr size_t kMaxRank = 1024;

const char* type_name(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_uint8_array: return "Uint8Array";
    default: return "another typed array";
  }
}

// A typed array argument: its type, data and length. Throws unless it is a typed array.
bool typed(Args& a, size_t i, const char* name, const char* want, napi_typedarray_type* type, void** data, size_t* len) {
  if (!a.ok) return false;
  bool is_ta = false;
  if (i >= a.argc || napi_is_typedarray(a.env, a.argv[i], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(a.env, a.argv[i], type, len, data, nullptr, nullptr) != napi_ok)
    return a.ok = napi::throw_type_error(a.env, std::string(a.fn) + ": argument '" + name + "' must be " + want);
  return true;
}

const char* kData4 = "a Float32Array, Int32Array or Uint32Array";

// An array of 4-byte elements, moved bitwise.
bool data4(Args& a, size_t i, const char* name, uint32_t** data, size_t* len, napi_typedarray_type* type = nullptr) {
  napi_typedarray_type t;
  void* p;
  if (!typed(a, i, name, kData4, &t, &p, len)) return false;
  if (t != napi_float32_array && t != napi_int32_array && t != napi_uint32_array)
    return a.ok = napi::throw_type_error(a.env, std::string(a.fn) + ": argument '" + name + "' must be " + kData4 + ", got " +
                                                    type_name(t));
  *data = static_cast<uint32_t*>(p);
  if (type) *type = t;
  return true;
}

bool overlap_bytes(const void* p, size_t pb, const void* q, size_t qb) {
  if (!p || !q || pb == 0 || qb == 0) return false;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p), b = reinterpret_cast<uintptr_t>(q);
  return a < b + qb && b < a + pb;
}

bool fail(napi_env env, const std::string& msg) { return napi::throw_range_error(env, msg); }

// A list of `count` dims (or any length when count is 0), each in [0, 2^31), with their product.
bool read_shape(Args& a, size_t i, const char* name, const std::string& fn, std::vector<int64_t>* v, int64_t* prod) {
  if (!a.i64_list(i, name, v)) return false;
  if (v->size() > kMaxRank) return a.ok = fail(a.env, fn + "'" + name + "' has more than " + s(kMaxRank) + " dims");
  *prod = 1;
  for (size_t k = 0; k < v->size(); ++k) {
    if ((*v)[k] < 0 || (*v)[k] > INT32_MAX)
      return a.ok = fail(a.env, fn + name + "[" + s(k) + "] must be in [0, 2^31), got " + s((*v)[k]));
    if (!mul_checked(*prod, (*v)[k], prod)) return a.ok = fail(a.env, fn + "'" + name + "' overflows");
  }
  return true;
}

// stridedCopy(x, out, shape, offset, strides): out (dense over shape)[i] = x[offset + sum i_k strides_k].
napi_value strided_copy_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "stridedCopy", 5);
  const std::string fn = "stridedCopy: ";
  uint32_t *px, *py;
  size_t nx, ny;
  std::vector<int64_t> shape, strides;
  int64_t offset, n;
  if (!data4(a, 0, "x", &px, &nx) || !data4(a, 1, "out", &py, &ny) || !read_shape(a, 2, "shape", fn, &shape, &n) ||
      !a.i64(3, "offset", &offset) || !a.i64_list(4, "strides", &strides))
    return nullptr;
  if (strides.size() != shape.size()) {
    fail(env, fn + "'strides' must hold one stride per dim (" + s(shape.size()) + "), got " + s(strides.size()));
    return nullptr;
  }
  if (static_cast<int64_t>(ny) < n) {
    fail(env, fn + "'out' has " + s(ny) + " elements, the shape needs " + s(n));
    return nullptr;
  }
  if (n == 0) return napi::make_undefined(env);
  // The lowest and highest source index touched, in 128 bits (strides are below 2^53, dims 2^31).
  __int128 lo = offset, hi = offset;
  for (size_t k = 0; k < shape.size(); ++k) {
    const __int128 span = static_cast<__int128>(shape[k] - 1) * strides[k];
    (span < 0 ? lo : hi) += span;
  }
  if (lo < 0 || hi >= static_cast<__int128>(nx)) {
    fail(env, fn + "the offset and strides reach outside x (" + s(nx) + " elements)");
    return nullptr;
  }
  if (overlap_bytes(px, nx * 4, py, ny * 4)) {
    fail(env, fn + "'out' must not share memory with x");
    return nullptr;
  }
  hint_fresh_output(py, static_cast<size_t>(n) * 4);
  AB_CAPTURED(a, strided_copy_u32(px, offset, py, shape, strides));
  return napi::make_undefined(env);
}

// The pads: one `before` and one `after` per dim, each >= 0; optionally at most shape - 1 + offset
// (mirror padding). Returns the padded element count in *out_n.
bool read_pads(Args& a, const std::string& fn, const std::vector<int64_t>& shape, std::vector<int64_t>* before,
               std::vector<int64_t>* after, int mirror_offset, int64_t* out_n) {
  if (!a.i64_list(3, "before", before) || !a.i64_list(4, "after", after)) return false;
  if (before->size() != shape.size() || after->size() != shape.size())
    return a.ok = fail(a.env, fn + "'before' and 'after' must hold one value per dim (" + s(shape.size()) + ")");
  *out_n = 1;
  for (size_t k = 0; k < shape.size(); ++k) {
    const int64_t b = (*before)[k], e = (*after)[k];
    if (b < 0 || e < 0 || b > INT32_MAX || e > INT32_MAX)
      return a.ok = fail(a.env, fn + "pads must be in [0, 2^31), got " + s(b) + ", " + s(e) + " at dim " + s(k));
    if (mirror_offset >= 0 && (b > shape[k] - 1 + mirror_offset || e > shape[k] - 1 + mirror_offset))
      return a.ok = fail(a.env, fn + "pads at dim " + s(k) + " must be at most " + s(shape[k] - 1 + mirror_offset) +
                                    " for mode " + (mirror_offset ? "symmetric" : "reflect"));
    if (!mul_checked(*out_n, shape[k] + b + e, out_n)) return a.ok = fail(a.env, fn + "sizes overflow");
  }
  return true;
}

// JavaScript's ToInt32 (what an Int32Array store does with a number).
int32_t js_to_int32(double v) {
  if (!std::isfinite(v)) return 0;
  const double t = std::trunc(v);
  const double m = std::fmod(t, 4294967296.0);  // exact; same sign as t
  const int64_t i = static_cast<int64_t>(m < 0 ? m + 4294967296.0 : m);
  return static_cast<int32_t>(static_cast<uint32_t>(i));
}

// pad(x, out, shape, before, after, value): constant padding. value is stored as out's element
// type stores a number (Float32Array: rounded to float32; Int32Array / Uint32Array: ToInt32).
napi_value pad_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "pad", 6);
  const std::string fn = "pad: ";
  uint32_t *px, *py;
  size_t nx, ny;
  napi_typedarray_type ty;
  std::vector<int64_t> shape, before, after;
  int64_t n, out_n;
  double value;
  if (!data4(a, 0, "x", &px, &nx) || !data4(a, 1, "out", &py, &ny, &ty) || !read_shape(a, 2, "shape", fn, &shape, &n) ||
      !read_pads(a, fn, shape, &before, &after, -1, &out_n) || !a.f64(5, "value", &value))
    return nullptr;
  if (static_cast<int64_t>(nx) < n || static_cast<int64_t>(ny) < out_n) {
    fail(env, fn + "x or out is smaller than its shape (x " + s(nx) + "/" + s(n) + ", out " + s(ny) + "/" + s(out_n) + ")");
    return nullptr;
  }
  if (out_n > 0 && n > 0 && overlap_bytes(px, nx * 4, py, ny * 4)) {
    fail(env, fn + "'out' must not share memory with x");
    return nullptr;
  }
  uint32_t bits;
  if (ty == napi_float32_array) {
    const float f = static_cast<float>(value);
    std::memcpy(&bits, &f, 4);
  } else {
    bits = static_cast<uint32_t>(js_to_int32(value));
  }
  if (out_n == 0) return napi::make_undefined(env);
  hint_fresh_output(py, static_cast<size_t>(out_n) * 4);
  AB_CAPTURED(a, pad_u32(px, py, shape, before, after, bits));
  return napi::make_undefined(env);
}

// mirrorPad(x, out, shape, before, after, mode: 0 reflect | 1 symmetric)
napi_value mirror_pad_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "mirrorPad", 6);
  const std::string fn = "mirrorPad: ";
  uint32_t *px, *py;
  size_t nx, ny;
  std::vector<int64_t> shape, before, after;
  int64_t n, out_n;
  int32_t mode;
  if (!data4(a, 0, "x", &px, &nx) || !data4(a, 1, "out", &py, &ny) || !read_shape(a, 2, "shape", fn, &shape, &n) ||
      !a.i32(5, "mode", &mode))
    return nullptr;
  if (mode != 0 && mode != 1) {
    fail(env, fn + "'mode' must be 0 (reflect) or 1 (symmetric), got " + s(static_cast<int64_t>(mode)));
    return nullptr;
  }
  if (!read_pads(a, fn, shape, &before, &after, mode, &out_n)) return nullptr;
  if (static_cast<int64_t>(nx) < n || static_cast<int64_t>(ny) < out_n) {
    fail(env, fn + "x or out is smaller than its shape (x " + s(nx) + "/" + s(n) + ", out " + s(ny) + "/" + s(out_n) + ")");
    return nullptr;
  }
  if (out_n == 0) return napi::make_undefined(env);
  if (overlap_bytes(px, nx * 4, py, ny * 4)) {
    fail(env, fn + "'out' must not share memory with x");
    return nullptr;
  }
  hint_fresh_output(py, static_cast<size_t>(out_n) * 4);
  AB_CAPTURED(a, mirror_pad_u32(px, py, shape, before, after, mode));
  return napi::make_undefined(env);
}

// concat(inputs: TypedArray[], widths: number[], out, outer): input i viewed as [outer, widths[i]],
// joined along the second axis into out [outer, sum widths].
napi_value concat_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "concat", 4);
  const std::string fn = "concat: ";
  if (!a.ok) return nullptr;
  bool is_arr = false;
  napi_is_array(env, a.argv[0], &is_arr);
  if (!is_arr) {
    napi::throw_type_error(env, fn + "argument 'inputs' must be an array of typed arrays");
    return nullptr;
  }
  uint32_t count = 0;
  AB_NAPI_CALL(env, napi_get_array_length(env, a.argv[0], &count));
  std::vector<int64_t> widths;
  uint32_t* py;
  size_t ny;
  int64_t outer;
  if (!a.i64_list(1, "widths", &widths) || !data4(a, 2, "out", &py, &ny) || !a.i64(3, "outer", &outer)) return nullptr;
  if (widths.size() != count) {
    fail(env, fn + "'widths' must hold one width per input (" + s(static_cast<int64_t>(count)) + "), got " + s(widths.size()));
    return nullptr;
  }
  if (outer < 0 || outer > INT32_MAX) {
    fail(env, fn + "'outer' must be in [0, 2^31), got " + s(outer));
    return nullptr;
  }
  std::vector<const uint32_t*> srcs(count);
  std::vector<size_t> lens(count);
  int64_t row = 0;
  for (uint32_t i = 0; i < count; ++i) {
    napi_value v;
    AB_NAPI_CALL(env, napi_get_element(env, a.argv[0], i, &v));
    bool is_ta = false;
    napi_typedarray_type t;
    void* p = nullptr;
    size_t len = 0;
    if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
        napi_get_typedarray_info(env, v, &t, &len, &p, nullptr, nullptr) != napi_ok ||
        (t != napi_float32_array && t != napi_int32_array && t != napi_uint32_array)) {
      napi::throw_type_error(env, fn + "inputs[" + s(static_cast<int64_t>(i)) + "] must be " + kData4);
      return nullptr;
    }
    int64_t need;
    if (widths[i] < 0 || widths[i] > INT32_MAX || !mul_checked(outer, widths[i], &need) ||
        static_cast<int64_t>(len) < need) {
      fail(env, fn + "inputs[" + s(static_cast<int64_t>(i)) + "] has " + s(len) + " elements, needs outer * widths[" +
                    s(static_cast<int64_t>(i)) + "]");
      return nullptr;
    }
    srcs[i] = static_cast<const uint32_t*>(p);
    lens[i] = len;
    row += widths[i];
  }
  int64_t out_n;
  if (!mul_checked(outer, row, &out_n) || static_cast<int64_t>(ny) < out_n) {
    fail(env, fn + "'out' has " + s(ny) + " elements, needs outer * sum(widths)");
    return nullptr;
  }
  if (out_n == 0) return napi::make_undefined(env);
  for (uint32_t i = 0; i < count; ++i)
    if (widths[i] > 0 && overlap_bytes(srcs[i], lens[i] * 4, py, ny * 4)) {
      fail(env, fn + "'out' must not share memory with the inputs");
      return nullptr;
    }
  hint_fresh_output(py, static_cast<size_t>(out_n) * 4);
  AB_CAPTURED(a, concat_u32(srcs, widths, py, outer));
  return napi::make_undefined(env);
}

// gather(x, indices: Int32Array, out, dims: [batch, outer, dim, slice, n]): x [batch, outer, dim,
// slice], indices [batch, n] each in [0, dim), out [batch, outer, n, slice].
napi_value gather_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "gather", 4);
  const std::string fn = "gather: ";
  uint32_t *px, *py;
  size_t nx, ny, ni;
  napi_typedarray_type ti;
  void* pi;
  std::vector<int64_t> d;
  int64_t unused;
  if (!data4(a, 0, "x", &px, &nx) || !typed(a, 1, "indices", "an Int32Array", &ti, &pi, &ni) ||
      !data4(a, 2, "out", &py, &ny) || !read_shape(a, 3, "dims", fn, &d, &unused))
    return nullptr;
  if (ti != napi_int32_array) {
    napi::throw_type_error(env, fn + "argument 'indices' must be an Int32Array, got " + type_name(ti));
    return nullptr;
  }
  if (d.size() != 5) {
    fail(env, fn + "'dims' must hold 5 integers [batch, outer, dim, slice, n], got " + s(d.size()));
    return nullptr;
  }
  const int64_t batch = d[0], outer = d[1], dim = d[2], slice = d[3], n = d[4];
  int64_t xn, in, yn;
  if (!mul_checked(batch, outer, &xn) || !mul_checked(xn, dim, &xn) || !mul_checked(xn, slice, &xn) ||
      !mul_checked(batch, n, &in) || !mul_checked(batch, outer, &yn) || !mul_checked(yn, n, &yn) ||
      !mul_checked(yn, slice, &yn)) {
    fail(env, fn + "sizes overflow");
    return nullptr;
  }
  if (static_cast<int64_t>(nx) < xn || static_cast<int64_t>(ni) < in || static_cast<int64_t>(ny) < yn) {
    fail(env, fn + "x, indices or out is smaller than its shape (x " + s(nx) + "/" + s(xn) + ", indices " + s(ni) + "/" +
                  s(in) + ", out " + s(ny) + "/" + s(yn) + ")");
    return nullptr;
  }
  if (yn == 0) return napi::make_undefined(env);
  const int32_t* idx = static_cast<const int32_t*>(pi);
  for (int64_t i = 0; i < in; ++i)
    if (idx[i] < 0 || idx[i] >= dim) {
      fail(env, fn + "indices[" + s(i) + "] = " + s(static_cast<int64_t>(idx[i])) + " is not in [0, " + s(dim) + ")");
      return nullptr;
    }
  if (overlap_bytes(px, nx * 4, py, ny * 4) || overlap_bytes(pi, ni * 4, py, ny * 4)) {
    fail(env, fn + "'out' must not share memory with x or indices");
    return nullptr;
  }
  hint_fresh_output(py, static_cast<size_t>(yn) * 4);
  // The indices are data: a replay checks them again (a plan's indices change from run to run).
  capture::run(a, [=]() -> const char* {
    for (int64_t i = 0; i < in; ++i)
      if (idx[i] < 0 || idx[i] >= dim) return "gather: an index is out of range";
    gather_u32(px, idx, py, batch, outer, dim, slice, n);
    return nullptr;
  });
  return napi::make_undefined(env);
}

// resizeBilinear / resizeNearest(x: Float32Array | Int32Array, out: Float32Array, dims: [batch,
// inH, inW, channels, outH, outW], alignCorners, halfPixelCenters)
napi_value resize_common(napi_env env, napi_callback_info info, const char* name, bool bilinear) {
  Args a(env, info, name, 5);
  const std::string fn = std::string(name) + ": ";
  napi_typedarray_type tx;
  void* px;
  size_t nx, ny;
  float* py;
  std::vector<int64_t> d;
  int64_t unused;
  bool align, half;
  if (!typed(a, 0, "x", "a Float32Array or Int32Array", &tx, &px, &nx) || !a.f32(1, "out", &py, &ny) ||
      !read_shape(a, 2, "dims", fn, &d, &unused) || !a.boolean(3, "alignCorners", &align) ||
      !a.boolean(4, "halfPixelCenters", &half))
    return nullptr;
  if (tx != napi_float32_array && tx != napi_int32_array) {
    napi::throw_type_error(env, fn + "argument 'x' must be a Float32Array or Int32Array, got " + type_name(tx));
    return nullptr;
  }
  if (d.size() != 6) {
    fail(env, fn + "'dims' must hold 6 integers [batch, inH, inW, channels, outH, outW], got " + s(d.size()));
    return nullptr;
  }
  ResizeParams p{d[0], d[1], d[2], d[3], d[4], d[5], align, half};
  int64_t xn, yn;
  if (!mul_checked(p.batch, p.in_h, &xn) || !mul_checked(xn, p.in_w, &xn) || !mul_checked(xn, p.channels, &xn) ||
      !mul_checked(p.batch, p.out_h, &yn) || !mul_checked(yn, p.out_w, &yn) || !mul_checked(yn, p.channels, &yn)) {
    fail(env, fn + "sizes overflow");
    return nullptr;
  }
  if (static_cast<int64_t>(nx) < xn || static_cast<int64_t>(ny) < yn) {
    fail(env, fn + "x or out is smaller than its shape (x " + s(nx) + "/" + s(xn) + ", out " + s(ny) + "/" + s(yn) + ")");
    return nullptr;
  }
  if (yn == 0) return napi::make_undefined(env);
  if (p.in_h < 1 || p.in_w < 1) {
    fail(env, fn + "an empty image (inH or inW 0) cannot be resized to a non-empty one");
    return nullptr;
  }
  if (overlap_bytes(px, nx * 4, py, ny * 4)) {
    fail(env, fn + "'out' must not share memory with x");
    return nullptr;
  }
  hint_fresh_output(py, static_cast<size_t>(yn) * 4);
  const bool i32 = tx == napi_int32_array;
  if (bilinear) {
    if (capture::run(a, [=]() -> const char* { return resize_bilinear(px, i32, py, p) ? nullptr : "resizeBilinear: bad geometry"; })) {
      fail(env, fn + "alignCorners with halfPixelCenters puts source pixels outside the image for these sizes");
      return nullptr;
    }
  } else {
    AB_CAPTURED(a, resize_nearest(px, i32, py, p));
  }
  return napi::make_undefined(env);
}

napi_value resize_bilinear_fn(napi_env env, napi_callback_info info) { return resize_common(env, info, "resizeBilinear", true); }
napi_value resize_nearest_fn(napi_env env, napi_callback_info info) { return resize_common(env, info, "resizeNearest", false); }

// cast(x, out): Float32Array -> Int32Array (ToInt32), Float32Array | Int32Array -> Uint8Array (x != 0).
napi_value cast_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "cast", 2);
  const std::string fn = "cast: ";
  napi_typedarray_type tx, ty;
  void *px, *py;
  size_t nx, ny;
  if (!typed(a, 0, "x", "a Float32Array or Int32Array", &tx, &px, &nx) ||
      !typed(a, 1, "out", "an Int32Array or Uint8Array", &ty, &py, &ny))
    return nullptr;
  const bool f2i = tx == napi_float32_array && ty == napi_int32_array;
  const bool f2b = tx == napi_float32_array && ty == napi_uint8_array;
  const bool i2b = tx == napi_int32_array && ty == napi_uint8_array;
  if (!f2i && !f2b && !i2b) {
    napi::throw_type_error(env, fn + "casts Float32Array to Int32Array, or Float32Array / Int32Array to Uint8Array; got " +
                                    type_name(tx) + " to " + type_name(ty));
    return nullptr;
  }
  if (ny < nx) {
    fail(env, fn + "'out' has " + s(ny) + " elements, x has " + s(nx));
    return nullptr;
  }
  if (nx == 0) return napi::make_undefined(env);
  if (overlap_bytes(px, nx * 4, py, ny * (f2i ? 4 : 1))) {
    fail(env, fn + "'out' must not share memory with x");
    return nullptr;
  }
  const int64_t n = static_cast<int64_t>(nx);
  AB_CAPTURED(a, if (f2i) cast_f32_i32(static_cast<const float*>(px), static_cast<int32_t*>(py), n);
              else if (f2b) cast_f32_bool(static_cast<const float*>(px), static_cast<uint8_t*>(py), n);
              else cast_i32_bool(static_cast<const int32_t*>(px), static_cast<uint8_t*>(py), n));
  return napi::make_undefined(env);
}

AB_EXPORT("stridedCopy", strided_copy_fn);
AB_EXPORT("pad", pad_fn);
AB_EXPORT("mirrorPad", mirror_pad_fn);
AB_EXPORT("concat", concat_fn);
AB_EXPORT("gather", gather_fn);
AB_EXPORT("resizeBilinear", resize_bilinear_fn);
AB_EXPORT("resizeNearest", resize_nearest_fn);
AB_EXPORT("cast", cast_fn);

}  // namespace
}  // namespace ab

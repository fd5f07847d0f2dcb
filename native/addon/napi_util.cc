// SPDX-License-Identifier: Apache-2.0
#include "napi_util.h"

#include <cmath>
#include <utility>

namespace ab::napi {

std::vector<std::pair<const char*, Fn>>& registry() {
  static std::vector<std::pair<const char*, Fn>> r;
  return r;
}

Registrar::Registrar(const char* name, Fn fn) { registry().emplace_back(name, fn); }

bool throw_error(napi_env env, const char* code, const std::string& msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, code, msg.c_str());
  return false;
}
bool throw_type_error(napi_env env, const std::string& msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_type_error(env, "ERR_AFTERBURNER_ARG", msg.c_str());
  return false;
}
bool throw_range_error(napi_env env, const std::string& msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_range_error(env, "ERR_AFTERBURNER_ARG", msg.c_str());
  return false;
}

bool check_status(napi_env env, napi_status s, const char* file, int line, const char* expr) {
  if (s == napi_ok) return true;
  const napi_extended_error_info* info = nullptr;
  napi_get_last_error_info(env, &info);
  std::string msg = std::string("afterburner native: ") + expr + " failed at " + file + ":" +
                    std::to_string(line) + ": " +
                    (info && info->error_message ? info->error_message : "unknown N-API error");
  return throw_error(env, "ERR_AFTERBURNER_NAPI", msg);
}

Args::Args(napi_env e, napi_callback_info info, const char* name, size_t expected) : env(e), fn(name) {
  argc = sizeof(argv) / sizeof(argv[0]);
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) {
    ok = throw_error(env, "ERR_AFTERBURNER_NAPI", std::string(fn) + ": cannot read arguments");
    return;
  }
  if (argc < expected) {
    ok = throw_type_error(env, std::string(fn) + ": expected " + std::to_string(expected) +
                                   " arguments, got " + std::to_string(argc));
  }
}

static std::string where(const char* fn, const char* name) {
  return std::string(fn) + ": argument '" + name + "'";
}

bool Args::f32(size_t i, const char* name, float** data, size_t* len) {
  if (!ok) return false;
  bool is_ta = false;
  if (i >= argc || napi_is_typedarray(env, argv[i], &is_ta) != napi_ok || !is_ta)
    return ok = throw_type_error(env, where(fn, name) + " must be a Float32Array");
  napi_typedarray_type type;
  void* ptr = nullptr;
  size_t n = 0;
  if (napi_get_typedarray_info(env, argv[i], &type, &n, &ptr, nullptr, nullptr) != napi_ok ||
      type != napi_float32_array)
    return ok = throw_type_error(env, where(fn, name) + " must be a Float32Array (float32 data)");
  *data = static_cast<float*>(ptr);
  *len = n;
  return true;
}

bool Args::f32_or_null(size_t i, const char* name, float** data, size_t* len) {
  if (!ok) return false;
  napi_valuetype t = napi_undefined;
  if (i < argc) napi_typeof(env, argv[i], &t);
  if (i >= argc || t == napi_null || t == napi_undefined) {
    *data = nullptr;
    *len = 0;
    return true;
  }
  return f32(i, name, data, len);
}

bool Args::f64(size_t i, const char* name, double* out) {
  if (!ok) return false;
  napi_valuetype t;
  if (i >= argc || napi_typeof(env, argv[i], &t) != napi_ok || t != napi_number)
    return ok = throw_type_error(env, where(fn, name) + " must be a number");
  napi_get_value_double(env, argv[i], out);
  return true;
}

bool Args::i64(size_t i, const char* name, int64_t* out) {
  double d;
  if (!f64(i, name, &d)) return false;
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740991.0)
    return ok = throw_range_error(env, where(fn, name) + " must be an integer");
  *out = static_cast<int64_t>(d);
  return true;
}

bool Args::i32(size_t i, const char* name, int32_t* out) {
  int64_t v;
  if (!i64(i, name, &v)) return false;
  if (v < INT32_MIN || v > INT32_MAX) return ok = throw_range_error(env, where(fn, name) + " is out of int32 range");
  *out = static_cast<int32_t>(v);
  return true;
}

bool Args::boolean(size_t i, const char* name, bool* out) {
  if (!ok) return false;
  napi_valuetype t;
  if (i >= argc || napi_typeof(env, argv[i], &t) != napi_ok || t != napi_boolean)
    return ok = throw_type_error(env, where(fn, name) + " must be a boolean");
  napi_get_value_bool(env, argv[i], out);
  return true;
}

bool Args::str(size_t i, const char* name, std::string* out) {
  if (!ok) return false;
  napi_valuetype t;
  if (i >= argc || napi_typeof(env, argv[i], &t) != napi_ok || t != napi_string)
    return ok = throw_type_error(env, where(fn, name) + " must be a string");
  size_t n = 0;
  napi_get_value_string_utf8(env, argv[i], nullptr, 0, &n);
  out->resize(n);
  napi_get_value_string_utf8(env, argv[i], out->data(), n + 1, &n);
  return true;
}

bool Args::i64_list(size_t i, const char* name, std::vector<int64_t>* out) {
  if (!ok) return false;
  out->clear();
  bool is_arr = false, is_ta = false;
  if (i < argc) {
    napi_is_array(env, argv[i], &is_arr);
    napi_is_typedarray(env, argv[i], &is_ta);
  }
  if (is_ta) {
    napi_typedarray_type type;
    void* ptr;
    size_t n;
    napi_get_typedarray_info(env, argv[i], &type, &n, &ptr, nullptr, nullptr);
    if (type != napi_int32_array) return ok = throw_type_error(env, where(fn, name) + " must be an Int32Array or number[]");
    const int32_t* p = static_cast<const int32_t*>(ptr);
    out->assign(p, p + n);
    return true;
  }
  if (!is_arr) return ok = throw_type_error(env, where(fn, name) + " must be an array of integers");
  uint32_t n = 0;
  napi_get_array_length(env, argv[i], &n);
  out->reserve(n);
  for (uint32_t k = 0; k < n; ++k) {
    napi_value v;
    double d;
    napi_valuetype t;
    napi_get_element(env, argv[i], k, &v);
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_number)
      return ok = throw_type_error(env, where(fn, name) + " must hold only numbers");
    napi_get_value_double(env, v, &d);
    if (!std::isfinite(d) || d != std::floor(d)) return ok = throw_range_error(env, where(fn, name) + " must hold integers");
    out->push_back(static_cast<int64_t>(d));
  }
  return true;
}

bool Args::i32_array_or_null(size_t i, const char* name, int32_t** data, size_t* len) {
  if (!ok) return false;
  napi_valuetype t = napi_undefined;
  if (i < argc) napi_typeof(env, argv[i], &t);
  if (i >= argc || t == napi_null || t == napi_undefined) {
    *data = nullptr;
    *len = 0;
    return true;
  }
  bool is_ta = false;
  napi_typedarray_type type;
  void* ptr;
  size_t n;
  if (napi_is_typedarray(env, argv[i], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[i], &type, &n, &ptr, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array)
    return ok = throw_type_error(env, where(fn, name) + " must be an Int32Array or null");
  *data = static_cast<int32_t*>(ptr);
  *len = n;
  return true;
}

napi_value make_undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}
napi_value make_string(napi_env env, const char* s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}
napi_value make_int(napi_env env, int64_t x) {
  napi_value v;
  napi_create_int64(env, x, &v);
  return v;
}
napi_value make_bool(napi_env env, bool x) {
  napi_value v;
  napi_get_boolean(env, x, &v);
  return v;
}
napi_value make_string_array(napi_env env, const std::vector<std::string>& xs) {
  napi_value arr;
  napi_create_array_with_length(env, xs.size(), &arr);
  for (size_t i = 0; i < xs.size(); ++i) napi_set_element(env, arr, static_cast<uint32_t>(i), make_string(env, xs[i].c_str()));
  return arr;
}

}  // namespace ab::napi

// Module init: export every registered function.
static napi_value ab_init(napi_env env, napi_value exports) {
  for (auto& [name, fn] : ab::napi::registry()) {
    napi_value f;
    if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, nullptr, &f) != napi_ok) return nullptr;
    if (napi_set_named_property(env, exports, name, f) != napi_ok) return nullptr;
  }
  return exports;
}
NAPI_MODULE(NODE_GYP_MODULE_NAME, ab_init)

// SPDX-License-Identifier: Apache-2.0
// Checked N-API helpers. Every N-API call goes through AB_NAPI_CALL, which throws a JS error
// naming the file and line on failure. Argument getters validate type and report the function
// and argument name ("BatchMatMul: argument 'a' must be a Float32Array").
#pragma once
#include <node_api.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ab::napi {

// Throws (as a pending JS exception) and returns false.
bool throw_error(napi_env env, const char* code, const std::string& msg);
bool throw_type_error(napi_env env, const std::string& msg);
bool throw_range_error(napi_env env, const std::string& msg);
bool check_status(napi_env env, napi_status s, const char* file, int line, const char* expr);

#define AB_NAPI_CALL(env, call)                                                         \
  do {                                                                                  \
    if (!::ab::napi::check_status((env), (call), __FILE__, __LINE__, #call)) return nullptr; \
  } while (0)

// Call frame: holds argv and the function name for error messages.
struct Args {
  napi_env env;
  const char* fn;
  size_t argc = 0;
  napi_value argv[24];
  bool ok = true;
  Args(napi_env e, napi_callback_info info, const char* name, size_t expected);

  bool f32(size_t i, const char* name, float** data, size_t* len);            // Float32Array
  bool f32_or_null(size_t i, const char* name, float** data, size_t* len);    // null -> nullptr
  bool i32(size_t i, const char* name, int32_t* out);
  bool i64(size_t i, const char* name, int64_t* out);
  bool f64(size_t i, const char* name, double* out);
  bool boolean(size_t i, const char* name, bool* out);
  bool str(size_t i, const char* name, std::string* out);
  bool i64_list(size_t i, const char* name, std::vector<int64_t>* out);      // number[] or Int32Array
  bool i32_array_or_null(size_t i, const char* name, int32_t** data, size_t* len);
};

napi_value make_undefined(napi_env env);
napi_value make_string(napi_env env, const char* s);
napi_value make_int(napi_env env, int64_t v);
napi_value make_bool(napi_env env, bool v);
napi_value make_string_array(napi_env env, const std::vector<std::string>& v);

// Static registration: each area file adds its functions with AB_EXPORT(name, fn).
using Fn = napi_value (*)(napi_env, napi_callback_info);
struct Registrar {
  Registrar(const char* name, Fn fn);
};
#define AB_EXPORT_CAT2(a, b) a##b
#define AB_EXPORT_CAT(a, b) AB_EXPORT_CAT2(a, b)
#define AB_EXPORT(name, fn) static ::ab::napi::Registrar AB_EXPORT_CAT(ab_reg_, __LINE__)(name, fn)

}  // namespace ab::napi

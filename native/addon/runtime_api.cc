// SPDX-License-Identifier: Apache-2.0
// N-API: ISA levels and threads.
#include <string>
#include <vector>

#include "../dispatch/isa.h"
#include "../runtime/thread_pool.h"
#include "napi_util.h"

namespace ab {
namespace {
using napi::Args;

napi_value isa_current_fn(napi_env env, napi_callback_info info) {
  return napi::make_string(env, isa_name(isa_current()));
}

napi_value isa_cpu_fn(napi_env env, napi_callback_info info) {
  return napi::make_string(env, isa_name(isa_cpu_max()));
}

napi_value isa_built_fn(napi_env env, napi_callback_info info) {
  return napi::make_string(env, isa_name(isa_built_max()));
}

// The levels with a kernel library of their own, lowest first (isa.built()).
napi_value isa_built_levels_fn(napi_env env, napi_callback_info info) {
  std::vector<std::string> out;
  for (int l = 0; l < kIsaCount; ++l)
    if (isa_built_has(static_cast<Isa>(l))) out.push_back(isa_name(static_cast<Isa>(l)));
  return napi::make_string_array(env, out);
}

napi_value isa_env_error_fn(napi_env env, napi_callback_info info) {
  const char* e = isa_env_error();
  if (!e) {
    napi_value v;
    napi_get_null(env, &v);
    return v;
  }
  return napi::make_string(env, e);
}

// "available", or why the amx level does not run here (isa_amx_status()).
napi_value isa_amx_status_fn(napi_env env, napi_callback_info info) {
  return napi::make_string(env, isa_amx_status());
}

napi_value isa_set_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "isaSet", 1);
  std::string name;
  if (!a.str(0, "level", &name)) return nullptr;
  Isa level;
  if (!isa_from_name(name.c_str(), &level)) {
    napi::throw_range_error(env, "isa.set: '" + name +
                                     "' is not an ISA level (expected one of scalar, avx2, avx512, "
                                     "avx512_vnni, avx512_bf16, amx)");
    return nullptr;
  }
  if (const char* err = isa_set(level)) {
    napi::throw_error(env, "ERR_AFTERBURNER_ISA",
                      std::string("isa.set('") + name + "'): " + err + " (this CPU supports up to " +
                          isa_name(isa_cpu_max()) + ")");
    return nullptr;
  }
  return napi::make_string(env, isa_name(isa_current()));
}

napi_value set_num_threads_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "setNumThreads", 1);
  int32_t n;
  if (!a.i32(0, "n", &n)) return nullptr;
  if (n < 1 || n > 1024) {
    napi::throw_range_error(env, "setNumThreads: n must be in [1, 1024], got " + std::to_string(n));
    return nullptr;
  }
  set_num_threads(n);
  return napi::make_undefined(env);
}

napi_value get_num_threads_fn(napi_env env, napi_callback_info info) {
  return napi::make_int(env, get_num_threads());
}

napi_value physical_cores_fn(napi_env env, napi_callback_info info) {
  return napi::make_int(env, physical_cores());
}

AB_EXPORT("isaCurrent", isa_current_fn);
AB_EXPORT("isaCpu", isa_cpu_fn);
AB_EXPORT("isaBuilt", isa_built_fn);
AB_EXPORT("isaBuiltLevels", isa_built_levels_fn);
AB_EXPORT("isaEnvError", isa_env_error_fn);
AB_EXPORT("isaSet", isa_set_fn);
AB_EXPORT("isaAmxStatus", isa_amx_status_fn);
AB_EXPORT("setNumThreads", set_num_threads_fn);
AB_EXPORT("getNumThreads", get_num_threads_fn);
AB_EXPORT("physicalCores", physical_cores_fn);

}  // namespace
}  // namespace ab

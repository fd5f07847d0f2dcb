// SPDX-License-Identifier: Apache-2.0
// N-API: ISA levels, threads, and 64-byte aligned float32 arrays (graph plans' arenas).
#include <atomic>
#include <cstdlib>
#include <cstring>
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

// poolStress(jobs, maxThreads): `jobs` parallel jobs back to back whose thread counts alternate
// between maxThreads and fewer (a wide job, then a narrow one: the pattern in which a worker late
// from the wide job could take part in the narrow one). Every task call checks that it belongs to
// its job (nthreads as asked, each thread index run once). Returns how many calls or indices were
// wrong (0). For the pool's tests; a hang here is the pool's bug.
napi_value pool_stress_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "poolStress", 2);
  int32_t jobs, max_threads;
  if (!a.i32(0, "jobs", &jobs) || !a.i32(1, "maxThreads", &max_threads)) return nullptr;
  if (jobs < 0 || max_threads < 2 || max_threads > 64) {
    napi::throw_range_error(env, "poolStress: jobs must be >= 0 and maxThreads in [2, 64]");
    return nullptr;
  }
  int64_t bad = 0;
  std::vector<std::atomic<int>> runs(static_cast<size_t>(max_threads));
  for (int j = 0; j < jobs; ++j) {
    const int n = j % 2 == 0 ? max_threads : 2 + (j / 2) % (max_threads - 1);
    for (int t = 0; t < n; ++t) runs[static_cast<size_t>(t)].store(0);
    std::atomic<int64_t> wrong{0};
    parallel_run(n, [&](int tid, int nt) {
      if (nt != n || tid < 0 || tid >= n) {
        wrong.fetch_add(1);
        return;
      }
      runs[static_cast<size_t>(tid)].fetch_add(1);
    });
    bad += wrong.load();
    for (int t = 0; t < n; ++t) bad += runs[static_cast<size_t>(t)].load() != 1;
  }
  return napi::make_int(env, bad);
}

// alignedF32(n): a zeroed Float32Array of n elements whose data starts on a 64-byte boundary (a
// cache line: 16-float vector loads and stores never straddle two lines; V8 places its large
// arrays 16 bytes into a line), over memory the addon allocates, with V8 told its size
// (napi_adjust_external_memory). Its finalizer runs only after a garbage collection, when the
// event loop turns, so this is for long-lived arrays (a compiled plan's arena), not per-call
// outputs. null where the runtime forbids external buffers (the caller makes a plain array).
void free_aligned(napi_env env, void* data, void* hint) {
  std::free(data);
  int64_t ignored;
  napi_adjust_external_memory(env, -static_cast<int64_t>(reinterpret_cast<uintptr_t>(hint)), &ignored);
}

napi_value aligned_f32_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "alignedF32", 1);
  int64_t n;
  if (!a.ok || !a.i64(0, "n", &n)) return nullptr;
  if (n < 0 || n > (int64_t{1} << 40)) {
    napi::throw_range_error(env, "alignedF32: 'n' must be in [0, 2^40], got " + std::to_string(n));
    return nullptr;
  }
  const size_t bytes = static_cast<size_t>(n) * sizeof(float), padded = (bytes + 63) / 64 * 64 + 64;
  void* p = std::aligned_alloc(64, padded);
  if (!p) {
    napi::throw_error(env, "ERR_AFTERBURNER_OOM", "alignedF32: cannot allocate " + std::to_string(bytes) + " bytes");
    return nullptr;
  }
  std::memset(p, 0, padded);
  napi_value ab, arr;
  if (napi_create_external_arraybuffer(env, p, bytes, free_aligned, reinterpret_cast<void*>(uintptr_t{padded}), &ab) != napi_ok) {
    std::free(p);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value ex;
      napi_get_and_clear_last_exception(env, &ex);
    }
    napi_value nul;
    napi_get_null(env, &nul);
    return nul;
  }
  int64_t ignored;
  napi_adjust_external_memory(env, static_cast<int64_t>(padded), &ignored);
  if (napi_create_typedarray(env, napi_float32_array, static_cast<size_t>(n), ab, 0, &arr) != napi_ok) return nullptr;
  return arr;
}

// isAligned64(typedArray): whether its data starts on a 64-byte boundary (tests).
napi_value is_aligned64_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "isAligned64", 1);
  float* p;
  size_t n;
  if (!a.ok || !a.f32(0, "x", &p, &n)) return nullptr;
  napi_value v;
  napi_get_boolean(env, reinterpret_cast<uintptr_t>(p) % 64 == 0, &v);
  return v;
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
AB_EXPORT("poolStress", pool_stress_fn);
AB_EXPORT("alignedF32", aligned_f32_fn);
AB_EXPORT("isAligned64", is_aligned64_fn);

}  // namespace
}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
// N-API: prepacked weights (the GEMM's B panels for a whole K x N weight, packed once).
//
// packWeight(b: Float32Array, K, N, transB): External   op(B) (K x N; stored N x K if transB)
// packedFree(handle): boolean                            frees it now (true if it was live)
// packedStats(): {count, bytes}                          live packed weights in this process
// matmul / conv2d take a handle as an optional last argument (see gemm_api.cc, conv_api.cc).
#include <cstdint>
#include <mutex>
#include <new>
#include <string>
#include <unordered_set>
#include <vector>

#include "arg_checks.h"
#include "capture.h"
#include "packed_handle.h"

namespace ab::napi {
namespace {

// The external's data: a holder that outlives packedFree (the GC deletes it), so a freed
// handle is recognised as such instead of pointing at freed memory.
struct Holder {
  gemm::PackedB* pb;
};

std::mutex g_mu;
std::unordered_set<const Holder*> g_holders;  // every holder whose external is alive
int64_t g_live_count = 0, g_live_bytes = 0;

// Packed weights freed while an async plan run was in flight (it may be reading them): freed
// when the last such run completes.
std::vector<gemm::PackedB*> g_deferred;

void free_deferred() {
  std::lock_guard<std::mutex> lock(g_mu);
  for (gemm::PackedB* pb : g_deferred) gemm::free_packed_b(pb);
  g_deferred.clear();
}

void release_locked(Holder* h) {
  if (!h->pb) return;
  g_live_count -= 1;
  g_live_bytes -= static_cast<int64_t>(gemm::packed_b_bytes(h->pb));
  gemm::PackedB* pb = h->pb;
  __atomic_store_n(&h->pb, nullptr, __ATOMIC_RELEASE);  // a captured call reads it at every run
  if (capture::async_in_flight()) {
    static const bool hooked = (capture::set_deferred_free_hook(free_deferred), true);
    (void)hooked;
    g_deferred.push_back(pb);
  } else {
    gemm::free_packed_b(pb);
  }
}

void finalize(napi_env, void* data, void*) {
  Holder* h = static_cast<Holder*>(data);
  std::lock_guard<std::mutex> lock(g_mu);
  release_locked(h);
  g_holders.erase(h);
  delete h;
}

// The live holder behind argument i, or null after throwing.
Holder* holder_arg(Args& a, size_t i, const char* name) {
  napi_valuetype t;
  void* data = nullptr;
  if (i >= a.argc || napi_typeof(a.env, a.argv[i], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(a.env, a.argv[i], &data) != napi_ok) {
    throw_type_error(a.env, std::string(a.fn) + ": argument '" + name + "' must be a packed-weight handle (from packWeight)");
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_holders.count(static_cast<Holder*>(data))) {
    throw_type_error(a.env, std::string(a.fn) + ": argument '" + name + "' is not a packed-weight handle");
    return nullptr;
  }
  return static_cast<Holder*>(data);
}

napi_value pack_weight_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "packWeight", 4);
  PackArgs pa;
  if (!read_pack_args(a, &pa)) return nullptr;
  float* pb = pa.b;
  const size_t nb = pa.nb;
  const int64_t K = pa.K, N = pa.N;
  const bool tb = pa.trans_b;
  const std::string fn = "packWeight: ";
  if (K < 1 || N < 1 || K > INT32_MAX || N > INT32_MAX) {
    throw_range_error(env, fn + "K and N must be in [1, 2^31), got K=" + str(K) + " N=" + str(N));
    return nullptr;
  }
  int64_t KN;
  if (!mul_checked(K, N, &KN)) {
    throw_range_error(env, fn + "sizes overflow");
    return nullptr;
  }
  if (!check_length(env, fn, "b", nb, KN, "K*N")) return nullptr;
  Holder* h = new (std::nothrow) Holder{nullptr};
  if (!h) {
    throw_error(env, "ERR_AFTERBURNER_OOM", fn + "out of memory");
    return nullptr;
  }
  try {
    h->pb = gemm::pack_b(tb, K, N, pb, tb ? K : N);
  } catch (const std::bad_alloc&) {
    delete h;
    throw_error(env, "ERR_AFTERBURNER_OOM", fn + "out of memory for the packed weight");
    return nullptr;
  }
  napi_value ext;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_holders.insert(h);
    g_live_count += 1;
    g_live_bytes += static_cast<int64_t>(gemm::packed_b_bytes(h->pb));
  }
  if (napi_create_external(env, h, finalize, nullptr, &ext) != napi_ok) {
    finalize(env, h, nullptr);
    throw_error(env, "ERR_AFTERBURNER_NAPI", fn + "cannot create the handle");
    return nullptr;
  }
  return ext;
}

napi_value packed_free_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "packedFree", 1);
  if (!a.ok) return nullptr;
  Holder* h = holder_arg(a, 0, "handle");
  if (!h) return nullptr;
  std::lock_guard<std::mutex> lock(g_mu);
  const bool was_live = h->pb != nullptr;
  release_locked(h);
  return make_bool(env, was_live);
}

napi_value packed_stats_fn(napi_env env, napi_callback_info) {
  napi_value obj;
  int64_t count, bytes;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    count = g_live_count;
    bytes = g_live_bytes;
  }
  if (napi_create_object(env, &obj) != napi_ok ||
      napi_set_named_property(env, obj, "count", make_int(env, count)) != napi_ok ||
      napi_set_named_property(env, obj, "bytes", make_int(env, bytes)) != napi_ok) {
    throw_error(env, "ERR_AFTERBURNER_NAPI", "packedStats: cannot build the result");
    return nullptr;
  }
  return obj;
}

AB_EXPORT("packWeight", pack_weight_fn);
AB_EXPORT("packedFree", packed_free_fn);
AB_EXPORT("packedStats", packed_stats_fn);

}  // namespace

bool packed_or_null(Args& a, size_t i, const char* name, const gemm::PackedB** out, gemm::PackedB* const** slot) {
  static gemm::PackedB* const kNone = nullptr;
  *out = nullptr;
  if (slot) *slot = &kNone;
  if (!a.ok) return false;
  if (i >= a.argc) return true;
  napi_valuetype t;
  if (napi_typeof(a.env, a.argv[i], &t) != napi_ok) return a.ok = throw_type_error(a.env, std::string(a.fn) + ": cannot read '" + name + "'");
  if (t == napi_undefined || t == napi_null) return true;
  Holder* h = holder_arg(a, i, name);
  if (!h) return a.ok = false;
  // Only the JS thread that owns the handle frees it, and it is running this call: no race.
  *out = h->pb;
  if (slot) *slot = &h->pb;  // the holder outlives a plan's call: the plan references the handle
  return true;
}

}  // namespace ab::napi

// SPDX-License-Identifier: Apache-2.0
// N-API of the native executor's plans (see capture.h):
//   planNew(): External                      an empty plan
//   captureBegin(plan) / captureEnd()        compute calls in between are appended to the plan
//   planSize(plan): number                   captured calls so far
//   planTruncate(plan, n)                    drops calls [n, size) and their references
//   planRun(plan, begin, end): number        replays calls [begin, end) in one native call; returns
//                                            end, or the index of a call that asked for its node to
//                                            run in JS (kRunInJs: calls before it have run, it and
//                                            those after it have not)
//   planRunAsync(plan, begin, end): Promise  the same on a libuv worker (the event loop stays free),
//                                            resolving to the same number
//   planFree(plan): boolean                  releases calls and references now (after an in-flight
//                                            async run, if any); the GC does it otherwise
//   planStats(): {plans, ops, refs}          live plans, calls and references in this process
//   planProfile(plan, on)                    starts (zeroing the counters) or stops timing each replayed
//                                            call (steady clock, sync and async runs)
//   planProfileRead(plan): Float64Array      nanoseconds spent in each call since planProfile(plan, true)
#include "capture.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

namespace ab::capture {

Plan* g_capturing = nullptr;
const char kRunInJs[] = "a call asked to run its node in JS";

struct Plan {
  napi_env env;
  std::vector<Op*> ops;
  // The references each call holds: refs[i] belongs to the call whose index is ref_op[i].
  std::vector<napi_ref> refs;
  std::vector<size_t> ref_op;
  std::vector<double> prof;  // ns per call while profiling (planProfile), else empty
  bool profiling = false;
  bool busy = false;         // an async run is in flight
  bool free_pending = false;  // planFree while busy: released when the run completes
  bool released = false;
};

namespace {

int64_t g_live_plans = 0, g_live_ops = 0, g_live_refs = 0;
std::atomic<int> g_async_runs{0};
void (*g_deferred_hook)() = nullptr;

void truncate(Plan* p, size_t n) {
  while (!p->refs.empty() && p->ref_op.back() >= n) {
    napi_delete_reference(p->env, p->refs.back());
    p->refs.pop_back();
    p->ref_op.pop_back();
    --g_live_refs;
  }
  while (p->ops.size() > n) {
    delete p->ops.back();
    p->ops.pop_back();
    --g_live_ops;
  }
}

void release(Plan* p) {
  if (p->released) return;
  if (g_capturing == p) g_capturing = nullptr;
  truncate(p, 0);
  p->released = true;
  --g_live_plans;
}

void finalize(napi_env, void* data, void*) {
  Plan* p = static_cast<Plan*>(data);
  release(p);  // an async run holds a reference to the external: never busy here
  delete p;
}

using napi::Args;

Plan* plan_arg(Args& a, size_t i) {
  if (!a.ok) return nullptr;
  napi_valuetype t;
  void* data = nullptr;
  if (i >= a.argc || napi_typeof(a.env, a.argv[i], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(a.env, a.argv[i], &data) != napi_ok || data == nullptr) {
    napi::throw_type_error(a.env, std::string(a.fn) + ": argument 'plan' must be a plan (from planNew)");
    a.ok = false;
    return nullptr;
  }
  Plan* p = static_cast<Plan*>(data);
  if (p->released) {
    napi::throw_error(a.env, "ERR_AFTERBURNER_ARG", std::string(a.fn) + ": the plan was freed");
    a.ok = false;
    return nullptr;
  }
  return p;
}

// [begin, end) as op indices of p; throws and returns false when out of range.
bool range_args(Args& a, Plan* p, int64_t* b, int64_t* e) {
  if (!a.i64(1, "begin", b) || !a.i64(2, "end", e)) return false;
  if (*b < 0 || *b > *e || *e > static_cast<int64_t>(p->ops.size())) {
    napi::throw_range_error(a.env, std::string(a.fn) + ": [" + std::to_string(*b) + ", " + std::to_string(*e) +
                                       ") is not a range of the plan's " + std::to_string(p->ops.size()) + " calls");
    return a.ok = false;
  }
  return true;
}

// Runs ops [b, e); an error message (empty on success). *stop gets e, or the index of an op that
// returned kRunInJs.
std::string replay(Plan* p, int64_t b, int64_t e, int64_t* stop) {
  *stop = e;
  const bool timed = p->profiling && p->prof.size() == p->ops.size();
  try {
    for (int64_t i = b; i < e; ++i) {
      const auto t0 = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
      const char* err = p->ops[i]->run();
      if (timed) p->prof[i] += std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
      if (err) {
        if (err == kRunInJs) {
          *stop = i;
          return std::string();
        }
        return err;
      }
    }
  } catch (const std::bad_alloc&) {
    return "out of memory";
  } catch (const std::exception& x) {
    return x.what();
  }
  return std::string();
}

napi_value plan_new_fn(napi_env env, napi_callback_info) {
  Plan* p = new (std::nothrow) Plan();
  if (!p) {
    napi::throw_error(env, "ERR_AFTERBURNER_OOM", "planNew: out of memory");
    return nullptr;
  }
  p->env = env;
  napi_value ext;
  if (napi_create_external(env, p, finalize, nullptr, &ext) != napi_ok) {
    delete p;
    napi::throw_error(env, "ERR_AFTERBURNER_NAPI", "planNew: cannot create the plan");
    return nullptr;
  }
  ++g_live_plans;
  return ext;
}

napi_value capture_begin_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "captureBegin", 1);
  Plan* p = plan_arg(a, 0);
  if (!p) return nullptr;
  if (g_capturing != nullptr) {
    napi::throw_error(env, "ERR_AFTERBURNER_ARG", "captureBegin: a plan is already capturing");
    return nullptr;
  }
  if (p->busy) {
    napi::throw_error(env, "ERR_AFTERBURNER_ARG", "captureBegin: the plan has a run in flight");
    return nullptr;
  }
  g_capturing = p;
  return napi::make_undefined(env);
}

napi_value capture_end_fn(napi_env env, napi_callback_info) {
  g_capturing = nullptr;
  return napi::make_undefined(env);
}

napi_value plan_size_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "planSize", 1);
  Plan* p = plan_arg(a, 0);
  if (!p) return nullptr;
  return napi::make_int(env, static_cast<int64_t>(p->ops.size()));
}

napi_value plan_truncate_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "planTruncate", 2);
  Plan* p = plan_arg(a, 0);
  int64_t n;
  if (!p || !a.i64(1, "n", &n)) return nullptr;
  if (n < 0 || n > static_cast<int64_t>(p->ops.size())) {
    napi::throw_range_error(env, "planTruncate: 'n' must be in [0, " + std::to_string(p->ops.size()) + "]");
    return nullptr;
  }
  if (p->busy) {
    napi::throw_error(env, "ERR_AFTERBURNER_ARG", "planTruncate: the plan has a run in flight");
    return nullptr;
  }
  truncate(p, static_cast<size_t>(n));
  return napi::make_undefined(env);
}

napi_value plan_run_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "planRun", 3);
  Plan* p = plan_arg(a, 0);
  int64_t b, e;
  if (!p || !range_args(a, p, &b, &e)) return nullptr;
  if (p->busy) {
    napi::throw_error(env, "ERR_AFTERBURNER_BUSY", "planRun: the plan has an async run in flight");
    return nullptr;
  }
  int64_t stop;
  const std::string err = replay(p, b, e, &stop);
  if (!err.empty()) {
    napi::throw_error(env, "ERR_AFTERBURNER_RUN", "compiled plan: " + err);
    return nullptr;
  }
  return napi::make_int(env, stop);
}

struct AsyncRun {
  Plan* plan;
  int64_t b, e, stop;
  std::string err;
  napi_ref plan_ref;
  napi_deferred deferred;
  napi_async_work work;
};

void async_execute(napi_env, void* data) {
  AsyncRun* r = static_cast<AsyncRun*>(data);
  r->err = replay(r->plan, r->b, r->e, &r->stop);
}

void async_complete(napi_env env, napi_status status, void* data) {
  AsyncRun* r = static_cast<AsyncRun*>(data);
  Plan* p = r->plan;
  p->busy = false;
  if (g_async_runs.fetch_sub(1) == 1 && g_deferred_hook) g_deferred_hook();
  if (p->free_pending) release(p);
  napi_value v;
  if (status == napi_ok && r->err.empty()) {
    napi_resolve_deferred(env, r->deferred, napi::make_int(env, r->stop));
  } else {
    const std::string msg = "compiled plan: " + (status != napi_ok ? std::string("the async run was cancelled") : r->err);
    napi_value m, code;
    napi_create_string_utf8(env, msg.c_str(), NAPI_AUTO_LENGTH, &m);
    napi_create_string_utf8(env, "ERR_AFTERBURNER_RUN", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, m, &v);
    napi_reject_deferred(env, r->deferred, v);
  }
  napi_delete_async_work(env, r->work);
  napi_delete_reference(env, r->plan_ref);
  delete r;
}

napi_value plan_run_async_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "planRunAsync", 3);
  Plan* p = plan_arg(a, 0);
  int64_t b, e;
  if (!p || !range_args(a, p, &b, &e)) return nullptr;
  if (p->busy) {
    napi::throw_error(env, "ERR_AFTERBURNER_BUSY", "planRunAsync: the plan has an async run in flight");
    return nullptr;
  }
  if (g_capturing == p) {
    napi::throw_error(env, "ERR_AFTERBURNER_ARG", "planRunAsync: the plan is capturing");
    return nullptr;
  }
  AsyncRun* r = new (std::nothrow) AsyncRun{p, b, e, e, std::string(), nullptr, nullptr, nullptr};
  if (!r) {
    napi::throw_error(env, "ERR_AFTERBURNER_OOM", "planRunAsync: out of memory");
    return nullptr;
  }
  napi_value promise, name;
  AB_NAPI_CALL(env, napi_create_promise(env, &r->deferred, &promise));
  AB_NAPI_CALL(env, napi_create_reference(env, a.argv[0], 1, &r->plan_ref));
  AB_NAPI_CALL(env, napi_create_string_utf8(env, "afterburner.planRunAsync", NAPI_AUTO_LENGTH, &name));
  AB_NAPI_CALL(env, napi_create_async_work(env, nullptr, name, async_execute, async_complete, r, &r->work));
  p->busy = true;
  g_async_runs.fetch_add(1);
  if (napi_queue_async_work(env, r->work) != napi_ok) {
    p->busy = false;
    g_async_runs.fetch_sub(1);
    napi_delete_async_work(env, r->work);
    napi_delete_reference(env, r->plan_ref);
    delete r;
    napi::throw_error(env, "ERR_AFTERBURNER_NAPI", "planRunAsync: cannot queue the run");
    return nullptr;
  }
  return promise;
}

napi_value plan_free_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "planFree", 1);
  if (!a.ok) return nullptr;
  napi_valuetype t;
  void* data = nullptr;
  if (napi_typeof(env, a.argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, a.argv[0], &data) != napi_ok || data == nullptr) {
    napi::throw_type_error(env, "planFree: argument 'plan' must be a plan (from planNew)");
    return nullptr;
  }
  Plan* p = static_cast<Plan*>(data);
  const bool was_live = !p->released && !p->free_pending;
  if (p->busy) p->free_pending = true;
  else release(p);
  return napi::make_bool(env, was_live);
}

napi_value plan_stats_fn(napi_env env, napi_callback_info) {
  napi_value obj;
  AB_NAPI_CALL(env, napi_create_object(env, &obj));
  AB_NAPI_CALL(env, napi_set_named_property(env, obj, "plans", napi::make_int(env, g_live_plans)));
  AB_NAPI_CALL(env, napi_set_named_property(env, obj, "ops", napi::make_int(env, g_live_ops)));
  AB_NAPI_CALL(env, napi_set_named_property(env, obj, "refs", napi::make_int(env, g_live_refs)));
  return obj;
}

napi_value plan_profile_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "planProfile", 2);
  Plan* p = plan_arg(a, 0);
  bool on;
  if (!p || !a.boolean(1, "on", &on)) return nullptr;
  if (p->busy) {
    napi::throw_error(env, "ERR_AFTERBURNER_BUSY", "planProfile: the plan has an async run in flight");
    return nullptr;
  }
  p->profiling = on;
  if (on) p->prof.assign(p->ops.size(), 0.0);
  return napi::make_undefined(env);
}

napi_value plan_profile_read_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "planProfileRead", 1);
  Plan* p = plan_arg(a, 0);
  if (!p) return nullptr;
  if (p->busy) {
    napi::throw_error(env, "ERR_AFTERBURNER_BUSY", "planProfileRead: the plan has an async run in flight");
    return nullptr;
  }
  const size_t n = p->prof.size();
  void* data = nullptr;
  napi_value buf, arr;
  AB_NAPI_CALL(env, napi_create_arraybuffer(env, n * sizeof(double), &data, &buf));
  if (n > 0) std::memcpy(data, p->prof.data(), n * sizeof(double));
  AB_NAPI_CALL(env, napi_create_typedarray(env, napi_float64_array, n, buf, 0, &arr));
  return arr;
}

AB_EXPORT("planNew", plan_new_fn);
AB_EXPORT("planProfile", plan_profile_fn);
AB_EXPORT("planProfileRead", plan_profile_read_fn);
AB_EXPORT("captureBegin", capture_begin_fn);
AB_EXPORT("captureEnd", capture_end_fn);
AB_EXPORT("planSize", plan_size_fn);
AB_EXPORT("planTruncate", plan_truncate_fn);
AB_EXPORT("planRun", plan_run_fn);
AB_EXPORT("planRunAsync", plan_run_async_fn);
AB_EXPORT("planFree", plan_free_fn);
AB_EXPORT("planStats", plan_stats_fn);

}  // namespace

void record(napi::Args& a, Op* op) {
  Plan* p = g_capturing;
  const size_t idx = p->ops.size();
  try {
    p->ops.push_back(op);
  } catch (...) {
    delete op;
    throw;
  }
  ++g_live_ops;
  for (size_t i = 0; i < a.argc; ++i) {
    napi_valuetype t;
    if (napi_typeof(a.env, a.argv[i], &t) != napi_ok || (t != napi_object && t != napi_external)) continue;
    napi_ref ref;
    if (napi_create_reference(a.env, a.argv[i], 1, &ref) != napi_ok) continue;
    p->refs.push_back(ref);
    p->ref_op.push_back(idx);
    ++g_live_refs;
  }
}

bool async_in_flight() { return g_async_runs.load() > 0; }

void set_deferred_free_hook(void (*hook)()) { g_deferred_hook = hook; }

}  // namespace ab::capture

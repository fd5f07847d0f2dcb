// SPDX-License-Identifier: Apache-2.0
// Capture mode: the native executor's plans (src/graph/native-plan.ts).
//
// Every compute N-API function (one that writes into caller-given output arrays) validates its
// arguments as before and then runs its op through AB_CAPTURED(args, call): the op runs now, and
// while a plan is capturing (captureBegin(plan)) a copy of the call with its validated arguments
// is appended to the plan, and every object argument (typed arrays, packed-weight externals,
// arrays of arrays) gets a napi reference, so the pointers the call holds stay valid for the
// plan's life. planRun(plan, begin, end) replays calls [begin, end) back to back (no JS between
// them); planRunAsync does so on a libuv worker. The captured calls are the ISA-neutral op entry
// points, so a replay dispatches at the current ISA level and uses the current thread pool.
#pragma once
#include <node_api.h>

#include <type_traits>
#include <utility>

#include "napi_util.h"

namespace ab::capture {

// One captured call. run() returns nullptr, or a message when the call cannot run (a data check
// that must be redone at every run, e.g. gather's indices), or kRunInJs: this run's data is a case
// the native op leaves to the cpu kernel (TopK over NaN/Inf); the replay stops before the call and
// reports its index, and the executor runs the call's node from JS and resumes after it.
extern const char kRunInJs[];

struct Op {
  virtual ~Op() = default;
  virtual const char* run() = 0;
};

template <typename F>
struct OpOf final : Op {
  F f;
  explicit OpOf(const F& g) : f(g) {}
  const char* run() override {
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      return nullptr;
    } else {
      return f();
    }
  }
};

struct Plan;
extern Plan* g_capturing;  // the plan being captured into (main thread only), or null

// Appends op to the capturing plan and references a's object arguments (takes op).
void record(napi::Args& a, Op* op);
// Whether an async plan run is in flight (packedFree defers freeing while one is).
bool async_in_flight();
// Frees what packedFree deferred (called when the last async run completes).
void set_deferred_free_hook(void (*hook)());

// Runs f now; while capturing, keeps a copy of it in the plan. Returns f's message (or nullptr).
template <typename F>
inline const char* run(napi::Args& a, const F& f) {
  const char* err;
  if constexpr (std::is_void_v<decltype(f())>) {
    f();
    err = nullptr;
  } else {
    err = f();
  }
  if (g_capturing != nullptr && err == nullptr) record(a, new OpOf<F>(f));
  return err;
}

}  // namespace ab::capture

// The one-line wrap of an op call in a compute N-API function: the arguments the call names are
// copied into the closure (C arrays and vectors included), so it stays valid after the function
// returns.
#define AB_CAPTURED(args, ...) ::ab::capture::run((args), [=]() { __VA_ARGS__; })

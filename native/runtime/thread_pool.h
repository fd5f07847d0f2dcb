// SPDX-License-Identifier: Apache-2.0
// The native thread pool: one process-wide pool, workers pinned to cores, no OpenMP.
//
// parallel_run(n, fn) runs fn(tid, n) for tid < n on up to n threads and returns when all
// are done. The caller and the pool's workers claim the indices as they arrive, so one thread may
// run several (in any order) when another is late: fn must not wait for other indices. parallel_for
// splits [0, total) statically into contiguous chunks. Calls from inside a parallel region run
// serially on the calling thread (no nested parallelism).
#pragma once
#include <cstdint>

namespace ab {

// Number of physical cores available to this process (affinity mask, SMT siblings counted once).
int physical_cores();
// Threads used by parallel regions (>= 1). Default: physical_cores(), or AFTERBURNER_NUM_THREADS.
int get_num_threads();
// Sets the pool size (clamped to [1, 1024]); workers are created or retired lazily.
void set_num_threads(int n);

// Type-erased callable, so the pool is not a template and kernels need no <functional>.
struct TaskRef {
  void (*call)(void* ctx, int tid, int nthreads);
  void* ctx;
};
void parallel_run_raw(int nthreads, TaskRef task);

template <typename F>
void parallel_run(int nthreads, F&& fn) {
  TaskRef t{[](void* c, int tid, int n) { (*static_cast<F*>(c))(tid, n); }, static_cast<void*>(&fn)};
  parallel_run_raw(nthreads, t);
}

// Splits [0, total) into at most get_num_threads() chunks of at least `grain` items;
// fn(begin, end) for each.
template <typename F>
void parallel_for(int64_t total, int64_t grain, F&& fn) {
  if (total <= 0) return;
  if (grain < 1) grain = 1;
  int64_t chunks = (total + grain - 1) / grain;
  int nt = get_num_threads();
  if (chunks < nt) nt = static_cast<int>(chunks);
  if (nt <= 1) {
    fn(int64_t{0}, total);
    return;
  }
  parallel_run(nt, [&](int tid, int n) {
    int64_t b = total * tid / n, e = total * (tid + 1) / n;
    if (b < e) fn(b, e);
  });
}

}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
// A small spin-then-sleep pool. Worker i (i >= 1) is pinned to the i-th core of the process's
// affinity mask (on shared VMs the scheduler may otherwise stack threads on one vCPU, which made an
// unpinned two-thread GEMM ~10x slower on this project's machines); set AFTERBURNER_PIN=0 to
// disable. The calling thread (tid 0; usually Node's main thread) is never pinned: threads it
// creates later (libuv's pool, worker_threads, other libraries' pools) would inherit a one-core
// mask. Core 0 of the mask is left free of workers for it.
#include "thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#define AB_PAUSE() _mm_pause()
#else
#define AB_PAUSE() std::this_thread::yield()
#endif

namespace ab {
extern thread_local bool t_in_parallel;
namespace {

std::vector<int> allowed_cpus_by_core(int* n_physical) {
  // One logical CPU per physical core, in order; SMT siblings appended after.
  std::vector<int> primary, siblings;
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    std::set<std::pair<int, int>> seen;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (!CPU_ISSET(c, &set)) continue;
      int core = c, pkg = 0;
      char path[128];
      std::snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/core_id", c);
      if (FILE* f = std::fopen(path, "r")) {
        if (std::fscanf(f, "%d", &core) != 1) core = c;
        std::fclose(f);
      }
      std::snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", c);
      if (FILE* f = std::fopen(path, "r")) {
        if (std::fscanf(f, "%d", &pkg) != 1) pkg = 0;
        std::fclose(f);
      }
      if (seen.insert({pkg, core}).second) primary.push_back(c);
      else siblings.push_back(c);
    }
  }
#endif
  if (primary.empty()) {
    unsigned n = std::thread::hardware_concurrency();
    for (unsigned i = 0; i < (n ? n : 1); ++i) primary.push_back(static_cast<int>(i));
  }
  *n_physical = static_cast<int>(primary.size());
  primary.insert(primary.end(), siblings.begin(), siblings.end());
  return primary;
}

struct Pool {
  std::vector<int> cpus;  // pinning order
  int n_physical = 1;
  std::atomic<int> num_threads{1};
  bool pin = true;

  std::mutex mu;  // guards workers creation and parallel_run entry
  std::vector<std::thread> workers;
  // Job state. generation = (sequence << 16) | threads of the job. The job's thread indices are
  // claimed from next_tid by whoever comes first, the caller included: a worker that is late (its
  // core busy with another process) does not hold the region up, the caller runs its share. task is
  // read only after a successful claim, and the caller returns once every claimed index is done
  // (remaining == 0). `inside` counts workers between seeing a generation and their last claim; the
  // next job is published only when it is 0, so a straggler never claims from the next job.
  std::atomic<uint64_t> generation{0};
  std::atomic<int> remaining{0};
  std::atomic<int> next_tid{0};
  std::atomic<int> inside{0};
  static constexpr uint64_t kThreadsMask = 0xffff;
  TaskRef task{nullptr, nullptr};
  std::atomic<bool> stop{false};
  std::mutex sleep_mu;
  std::condition_variable sleep_cv;
  std::atomic<int> sleepers{0};

  Pool() {
    cpus = allowed_cpus_by_core(&n_physical);
    if (n_physical < 1) n_physical = 1;
    int n = n_physical;
    if (const char* e = std::getenv("AFTERBURNER_NUM_THREADS")) {
      int v = std::atoi(e);
      if (v >= 1 && v <= 1024) n = v;
    }
    num_threads.store(n);
    if (const char* e = std::getenv("AFTERBURNER_PIN")) pin = std::strcmp(e, "0") != 0;
  }

  ~Pool() {
    stop.store(true);
    {
      std::lock_guard<std::mutex> g(sleep_mu);
      generation.fetch_add(1u << 16);  // a new sequence with 0 threads: wakes every worker to exit
    }
    sleep_cv.notify_all();
    for (auto& t : workers) t.join();
  }

  void pin_to(int slot) {
#if defined(__linux__)
    if (!pin || cpus.empty()) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus[slot % cpus.size()], &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
#else
    (void)slot;
#endif
  }

  // `seen` is the generation at the worker's creation, read by the creating thread before the job
  // that needed the worker is published: a worker that read it itself could miss that job.
  void worker_main(int id, uint64_t seen) {  // id >= 1
    pin_to(id);
    t_in_parallel = true;  // a task running here never re-enters the pool
    for (;;) {
      // Spin a while, then sleep.
      uint64_t g;
      int spins = 0;
      while ((g = generation.load(std::memory_order_acquire)) == seen) {
        if (++spins < 200000) {
          AB_PAUSE();
        } else {
          std::unique_lock<std::mutex> lk(sleep_mu);
          sleepers.fetch_add(1);
          sleep_cv.wait(lk, [&] { return generation.load(std::memory_order_acquire) != seen; });
          sleepers.fetch_sub(1);
        }
      }
      seen = g;
      if (stop.load()) return;
      // The job's thread count travels in the generation word itself: a worker that is not part
      // of a job never reads job state that the next job may be writing.
      const int nt = static_cast<int>(g & kThreadsMask);
      if (id >= nt) continue;
      // seq_cst with the caller's close-then-wait (parallel_run_raw): either the caller sees this
      // worker inside and waits for it, or the worker sees the job closed and stays out.
      inside.fetch_add(1, std::memory_order_seq_cst);
      if (generation.load(std::memory_order_seq_cst) == g) run_claims(nt);
      inside.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  // Runs thread indices of the current job until none is left.
  void run_claims(int nt) {
    for (;;) {
      const int t = next_tid.fetch_add(1, std::memory_order_acq_rel);
      if (t >= nt) return;
      task.call(task.ctx, t, nt);
      remaining.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void ensure_workers(int n) {
    while (static_cast<int>(workers.size()) < n - 1) {
      int id = static_cast<int>(workers.size()) + 1;
      const uint64_t g0 = generation.load(std::memory_order_acquire);
      workers.emplace_back([this, id, g0] { worker_main(id, g0); });
    }
  }
};

}  // namespace
thread_local bool t_in_parallel = false;
namespace {
Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers may outlive static destructors' order
  return *p;
}

}  // namespace

int physical_cores() { return pool().n_physical; }
int get_num_threads() { return pool().num_threads.load(std::memory_order_relaxed); }
void set_num_threads(int n) {
  if (n < 1) n = 1;
  if (n > 1024) n = 1024;
  pool().num_threads.store(n);
}

void parallel_run_raw(int nthreads, TaskRef task) {
  if (nthreads <= 1 || t_in_parallel) {
    for (int t = 0; t < (nthreads < 1 ? 1 : nthreads); ++t) task.call(task.ctx, t, nthreads < 1 ? 1 : nthreads);
    return;
  }
  Pool& p = pool();
  std::lock_guard<std::mutex> entry(p.mu);  // one parallel region at a time
  p.ensure_workers(nthreads);
  // Close the previous job before touching the job state: a worker that saw its generation but
  // has not entered yet (inside) now sees a generation of 0 threads and stays out; the ones inside
  // leave as soon as their claim fails. Waiting on `inside` alone was not enough: a late worker
  // could enter after the wait, still see the old generation, and claim indices of the next job
  // with the old job's thread count (with a wider old job, more claims than the new job's
  // `remaining`, which then never returned to 0: a hang, seen on the 16-core Xeon).
  const uint64_t seq = (p.generation.load(std::memory_order_relaxed) >> 16) + 1;
  p.generation.store(seq << 16, std::memory_order_seq_cst);
  while (p.inside.load(std::memory_order_seq_cst) != 0) AB_PAUSE();
  p.task = task;
  p.remaining.store(nthreads, std::memory_order_relaxed);
  p.next_tid.store(0, std::memory_order_release);
  {
    // Publishing under sleep_mu closes the race with a worker that is about to sleep.
    std::lock_guard<std::mutex> g(p.sleep_mu);
    p.generation.store(((seq + 1) << 16) | static_cast<uint64_t>(nthreads), std::memory_order_release);
    if (p.sleepers.load() > 0) p.sleep_cv.notify_all();
  }
  t_in_parallel = true;
  p.run_claims(nthreads);
  t_in_parallel = false;
  while (p.remaining.load(std::memory_order_acquire) != 0) AB_PAUSE();
}

}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
// Driver pieces shared by the f32 (gemm.cc) and bf16 (gemm_bf16.cc) GEMM drivers: picking a
// level's kernel from a DispatchStub, block arithmetic, the tuning override of the cache blocks,
// grow-only thread-local scratch, the thread count for a problem, and the dynamic split of C into
// a grid of blocks that threads take from a shared counter.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "dispatch/dispatch.h"
#include "runtime/thread_pool.h"

namespace ab::gemm::driver {

// All stubs are filled alike, so picking by one resolved level keeps them consistent even if
// the ISA cap changes during a call.
template <typename Fn>
Fn pick(const DispatchStub<Fn>& s, int level) {
  for (int l = level; l >= 0; --l)
    if (s.slots[l]) return s.slots[l];
  return s.slots[0];
}

inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t rup(int64_t a, int64_t b) { return cdiv(a, b) * b; }
inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// A balanced block of at most `cap` (rounded to `unit`) covering `len`.
inline int64_t balanced(int64_t len, int64_t cap, int64_t unit) {
  if (len <= 0) return unit;
  const int64_t nb = cdiv(len, cap);
  return rup(cdiv(len, nb), unit);
}

// Tuning aid: the environment variable `name` = "kc,mc,nc" overrides the cache blocks (all three
// >= 1, else ignored: all zero). Read once, by the driver's static instance.
struct BlockOverride {
  long kc = 0, mc = 0, nc = 0;
  explicit BlockOverride(const char* name) {
    if (const char* e = std::getenv(name)) {
      if (std::sscanf(e, "%ld,%ld,%ld", &kc, &mc, &nc) != 3 || kc < 1 || mc < 1 || nc < 1) kc = mc = nc = 0;
    }
  }
};

// Grow-only, 64-byte aligned scratch owned by the calling thread; throws std::bad_alloc.
template <typename T>
struct Scratch {
  T* p = nullptr;
  size_t cap = 0;
  ~Scratch() { std::free(p); }
  T* get(size_t n) {
    if (n > cap) {
      std::free(p);
      p = nullptr;
      cap = 0;
      const size_t bytes = (n * sizeof(T) + 63) & ~size_t{63};
      p = static_cast<T*>(std::aligned_alloc(64, bytes));
      if (!p) throw std::bad_alloc();
      cap = n;
    }
    return p;
  }
};

// Threads worth using for `macs` multiply-adds.
inline int threads_for(int64_t macs, int nt_max) {
  constexpr int64_t kMinPerThread = int64_t{1} << 18;
  if (nt_max <= 1 || macs < 2 * kMinPerThread) return 1;
  const int64_t t = macs / kMinPerThread;
  return t < nt_max ? static_cast<int>(t) : nt_max;
}

// C cut into tm x tn blocks on register-tile boundaries.
struct Grid {
  int tm, tn;
};

// Blocks wanted for n threads: kItemsPerThread per thread when the problem is big enough (threads
// take blocks from a shared counter: on a shared machine a thread whose core is busy takes fewer
// blocks instead of holding everyone up), else one per thread (each block packs its own panels).
inline int grid_items_wanted(int64_t macs, int n) {
  constexpr int kItemsPerThread = 4;
  return macs >= int64_t{64} << 20 ? n * kItemsPerThread : n;
}

// Runs body(tid, m0, m1, n0, n1) for every non-empty block of grid g over an M x N C (tiles of
// mr rows and nr columns), on min(blocks, n) threads taking blocks from a shared counter.
template <typename Body>
void run_grid(const Grid& g, int n, int64_t M, int64_t N, int64_t mr, int64_t nr, Body&& body) {
  const int items = g.tm * g.tn;
  const int used = items < n ? items : n;
  const int64_t mtiles = cdiv(M, mr), ntiles = cdiv(N, nr);
  std::atomic<int> next{0};
  parallel_run(used, [&](int tid, int) {
    for (int it = next.fetch_add(1, std::memory_order_relaxed); it < items;
         it = next.fetch_add(1, std::memory_order_relaxed)) {
      const int im = it / g.tn, in = it % g.tn;
      const int64_t m0 = mtiles * im / g.tm * mr, m1 = min64(mtiles * (im + 1) / g.tm * mr, M);
      const int64_t n0 = ntiles * in / g.tn * nr, n1 = min64(ntiles * (in + 1) / g.tn * nr, N);
      if (m0 < m1 && n0 < n1) body(tid, m0, m1, n0, n1);
    }
  });
}

}  // namespace ab::gemm::driver

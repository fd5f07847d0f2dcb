// SPDX-License-Identifier: Apache-2.0
// Comparisons, TopK, AddN, GatherNd: dispatch, threading, and TopK's selection (see select.h).
#include "ops/select.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

#include "ops/broadcast.h"
#include "ops/select_kernels.h"
#include "runtime/thread_pool.h"

namespace ab {
namespace {

const DispatchStub<CmpF32Fn (*)(int, int)> cmp_f32_stub = {AB_STUB_SLOTS(cmp_f32_fn)};
const DispatchStub<CmpI32Fn (*)(int, int)> cmp_i32_stub = {AB_STUB_SLOTS(cmp_i32_fn)};
const DispatchStub<int64_t (*)(const float*, int64_t, float, int64_t, int32_t*, int*)> above_f32_stub = {
    AB_STUB_SLOTS(topk_above_f32)};
const DispatchStub<int64_t (*)(const int32_t*, int64_t, int32_t, int64_t, int32_t*)> above_i32_stub = {
    AB_STUB_SLOTS(topk_above_i32)};
const DispatchStub<void (*)(const float* const*, int64_t, float*, int64_t)> addn_stub = {AB_STUB_SLOTS(addn_f32)};
const DispatchStub<void (*)(const uint8_t*, float*, int64_t)> widen_u8_stub = {AB_STUB_SLOTS(widen_u8_f32)};
const DispatchStub<void (*)(const int32_t*, float*, int64_t)> widen_i32_stub = {AB_STUB_SLOTS(widen_i32_f32)};

constexpr int64_t kGrain = int64_t{1} << 15;  // elements below which work stays on one thread

template <class T, class Fn, class Stub>
void compare(int op, const T* a, const int64_t* as, int ar, const T* b, const int64_t* bs, int br, uint8_t* out,
             const int64_t* os, int orank, const Stub& stub) {
  BroadcastPlan p;
  if (!plan_broadcast(as, ar, bs, br, os, orank, &p)) return;
  const auto get = stub.get();
  const Fn vv = get(op, kBcVV);
  const Fn fn = p.form == kBcSS ? vv : get(op, p.form);
  broadcast_for(p, kGrain, [&](int64_t oa, int64_t ob, int64_t oo, int64_t len) {
    if (p.form != kBcSS) {
      fn(a + oa, b + ob, out + oo, len);
      return;
    }
    uint8_t v;
    vv(a + oa, b + ob, &v, 1);
    std::memset(out + oo, v, static_cast<size_t>(len));
  });
}

// ---- TopK ----------------------------------------------------------------------------------
// An element is ranked by a 64-bit key: its value mapped to an order-preserving unsigned 32-bit
// code (-0 as +0: tfjs's comparator sees them equal) above the complement of its index, so a
// larger key comes first (greater value, then lower index): tfjs's comparePair as a total order.
inline uint32_t ord(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  if (v == 0.0f) b = 0;
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
inline uint32_t ord(int32_t v) { return static_cast<uint32_t>(v) ^ 0x80000000u; }
template <class T> inline uint64_t key_of(T v, int64_t i) {
  return (static_cast<uint64_t>(ord(v)) << 32) | static_cast<uint32_t>(~static_cast<uint32_t>(i));
}
inline int32_t index_of(uint64_t key) { return static_cast<int32_t>(~static_cast<uint32_t>(key)); }

inline bool finite_all(const float* x, int64_t n) {
  uint32_t worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, x + i, 4);
    b &= 0x7fffffffu;
    worst = b > worst ? b : worst;
  }
  return worst < 0x7f800000u;
}
inline bool finite_all(const int32_t*, int64_t) { return true; }

inline int64_t above(const float* x, int64_t n, float thr, int64_t base, int32_t* idx, bool* finite) {
  int nf = 0;
  const int64_t c = above_f32_stub.get()(x, n, thr, base, idx, &nf);
  if (nf) *finite = false;
  return c;
}
inline int64_t above(const int32_t* x, int64_t n, int32_t thr, int64_t base, int32_t* idx, bool*) {
  return above_i32_stub.get()(x, n, thr, base, idx);
}

// The best min(k, e - b) keys of x[b, e) (indices relative to x), unordered, into *keys; clears
// *finite if the range holds NaN or +-Inf (float32).
template <class T>
void best_of_range(const T* x, int64_t b, int64_t e, int64_t k, std::vector<uint64_t>* keys, bool* finite) {
  const int64_t len = e - b;
  keys->clear();
  if (k <= 0 || len <= 0) return;
  if (k * 8 >= len) {  // a large share of the range: select on all keys
    if (!finite_all(x + b, len)) *finite = false;
    keys->resize(static_cast<size_t>(len));
    for (int64_t i = 0; i < len; ++i) (*keys)[static_cast<size_t>(i)] = key_of(x[b + i], b + i);
    if (k < len) {
      std::nth_element(keys->begin(), keys->begin() + (k - 1), keys->end(), std::greater<uint64_t>());
      keys->resize(static_cast<size_t>(k));
    }
    return;
  }
  // A min-heap of the best k keys so far; its root's value is the bar a later element must
  // strictly clear (an equal value comes later, so it ranks lower). The kernel finds the few
  // elements above the bar in blocks; the bar rises as they enter.
  if (!finite_all(x + b, k)) *finite = false;
  keys->resize(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) (*keys)[static_cast<size_t>(i)] = key_of(x[b + i], b + i);
  auto& h = *keys;
  std::make_heap(h.begin(), h.end(), std::greater<uint64_t>());
  T bar = x[index_of(h.front())];
  constexpr int64_t kBlock = 4096;
  int32_t cand[kBlock];
  for (int64_t s = b + k; s < e; s += kBlock) {
    const int64_t n = e - s < kBlock ? e - s : kBlock;
    const int64_t c = above(x + s, n, bar, s, cand, finite);
    for (int64_t q = 0; q < c; ++q) {
      const int32_t i = cand[q];
      if (!(x[i] > bar)) continue;
      std::pop_heap(h.begin(), h.end(), std::greater<uint64_t>());
      h.back() = key_of(x[i], i);
      std::push_heap(h.begin(), h.end(), std::greater<uint64_t>());
      bar = x[index_of(h.front())];
    }
  }
}

// Rows are split into pieces of at least this many elements for the threads.
constexpr int64_t kTopkPiece = int64_t{1} << 16;

template <class T>
bool topk(const T* x, int64_t rows, int64_t n, int64_t k, bool sorted, T* vals, int32_t* idx) {
  if (rows == 0 || k == 0) return true;
  if (!sorted) {  // k == n (checked by the addon): tfjs leaves the row as it is
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(vals + r * k, x + r * n, static_cast<size_t>(k) * sizeof(T));
      for (int64_t i = 0; i < k; ++i) idx[r * k + i] = static_cast<int32_t>(i);
    }
    return true;
  }
  auto emit = [&](int64_t r, std::vector<uint64_t>& keys) {
    // keys holds at least k keys: the best k, in order.
    if (static_cast<int64_t>(keys.size()) > k) {
      std::nth_element(keys.begin(), keys.begin() + (k - 1), keys.end(), std::greater<uint64_t>());
      keys.resize(static_cast<size_t>(k));
    }
    std::sort(keys.begin(), keys.end(), std::greater<uint64_t>());
    const T* xr = x + r * n;
    for (int64_t i = 0; i < k; ++i) {
      const int32_t j = index_of(keys[static_cast<size_t>(i)]);
      idx[r * k + i] = j;
      vals[r * k + i] = xr[j];
    }
  };
  const int nt = get_num_threads();
  std::atomic<bool> ok{true};
  if (rows >= nt || n < 2 * kTopkPiece || nt <= 1) {
    // Whole rows per thread.
    const int64_t grain = n >= kGrain ? 1 : kGrain / (n > 0 ? n : 1);
    parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
      std::vector<uint64_t> keys;
      bool finite = true;
      for (int64_t r = r0; r < r1; ++r) {
        best_of_range(x + r * n, 0, n, k, &keys, &finite);
        if (!finite) break;
        emit(r, keys);
      }
      if (!finite) ok.store(false, std::memory_order_relaxed);
    });
    return ok.load();
  }
  // Few long rows: each row's pieces go to the threads, then the pieces' best keys are merged.
  const int64_t pieces = std::min<int64_t>(nt, n / kTopkPiece);
  std::vector<std::vector<uint64_t>> part(static_cast<size_t>(pieces));
  std::vector<uint64_t> all;
  for (int64_t r = 0; r < rows && ok.load(); ++r) {
    const T* xr = x + r * n;
    parallel_run(static_cast<int>(pieces), [&](int tid, int np) {
      const int64_t b = n * tid / np, e = n * (tid + 1) / np;
      bool finite = true;
      best_of_range(xr, b, e, k, &part[static_cast<size_t>(tid)], &finite);
      if (!finite) ok.store(false, std::memory_order_relaxed);
    });
    if (!ok.load()) break;
    all.clear();
    for (auto& p : part) all.insert(all.end(), p.begin(), p.end());
    emit(r, all);
  }
  return ok.load();
}

}  // namespace

void compare_f32(int op, const float* a, const int64_t* as, int ar, const float* b, const int64_t* bs, int br,
                 uint8_t* out, const int64_t* os, int orank) {
  compare<float, CmpF32Fn>(op, a, as, ar, b, bs, br, out, os, orank, cmp_f32_stub);
}

void compare_i32(int op, const int32_t* a, const int64_t* as, int ar, const int32_t* b, const int64_t* bs, int br,
                 uint8_t* out, const int64_t* os, int orank) {
  compare<int32_t, CmpI32Fn>(op, a, as, ar, b, bs, br, out, os, orank, cmp_i32_stub);
}

bool topk_f32(const float* x, int64_t rows, int64_t n, int64_t k, bool sorted, float* vals, int32_t* idx) {
  return topk(x, rows, n, k, sorted, vals, idx);
}

void topk_i32(const int32_t* x, int64_t rows, int64_t n, int64_t k, bool sorted, int32_t* vals, int32_t* idx) {
  topk(x, rows, n, k, sorted, vals, idx);
}

void add_n_f32(const float* const* xs, int64_t m, float* out, int64_t len) {
  if (len <= 0 || m <= 0) return;
  const auto fn = addn_stub.get();
  // Grain in output elements, so that each task reads about kGrain * 2 inputs' worth.
  const int64_t grain = std::max<int64_t>(1024, 2 * kGrain / m) & ~int64_t{15};
  if (len < 2 * grain || get_num_threads() <= 1) {
    fn(xs, m, out, len);
    return;
  }
  parallel_for((len + 15) / 16, grain / 16, [&](int64_t b, int64_t e) {
    const int64_t lo = b * 16, hi = std::min(e * 16, len);
    // Offsets of each input for this range (at most a small stack array; more inputs are rare).
    constexpr int64_t kMaxOnStack = 64;
    const float* local[kMaxOnStack];
    std::vector<const float*> heap;
    const float** ps = local;
    if (m > kMaxOnStack) {
      heap.resize(static_cast<size_t>(m));
      ps = heap.data();
    }
    for (int64_t j = 0; j < m; ++j) ps[j] = xs[j] + lo;
    fn(ps, m, out + lo, hi - lo);
  });
}

void widen_to_f32(const void* x, int is_i32, float* out, int64_t n) {
  if (n <= 0) return;
  auto run = [&](int64_t b, int64_t e) {
    if (is_i32) widen_i32_stub.get()(static_cast<const int32_t*>(x) + b, out + b, e - b);
    else widen_u8_stub.get()(static_cast<const uint8_t*>(x) + b, out + b, e - b);
  };
  if (n < 4 * kGrain || get_num_threads() <= 1) run(0, n);
  else parallel_for(n, 2 * kGrain, run);
}

bool gather_nd_4(const uint32_t* params, int64_t param_slices, int64_t slice_size, const int32_t* idx,
                 int64_t nslices, int rank, const int64_t* strides, uint32_t* out) {
  std::atomic<bool> ok{true};
  auto run = [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      __int128 f = 0;  // |terms| < 2^62 each: no overflow in 128 bits
      for (int j = 0; j < rank; ++j) f += static_cast<__int128>(idx[s * rank + j]) * strides[j];
      if (f < 0 || f >= param_slices) {
        ok.store(false, std::memory_order_relaxed);
        return;
      }
      const int64_t flat = static_cast<int64_t>(f);
      std::memcpy(out + s * slice_size, params + flat * slice_size, static_cast<size_t>(slice_size) * 4);
    }
  };
  const int64_t per = slice_size + rank;
  const int64_t grain = per >= kGrain ? 1 : kGrain / per;
  if (nslices < 2 * grain || get_num_threads() <= 1) run(0, nslices);
  else parallel_for(nslices, grain, run);
  return ok.load();
}

}  // namespace ab

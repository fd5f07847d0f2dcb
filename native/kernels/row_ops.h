// SPDX-License-Identifier: Apache-2.0
// Row reductions shared by the reduce and softmax kernels (per-level namespace, kernels only).
//
// Sums are blocked: 4 vector accumulators (4*W lanes) each add at most 32 consecutive
// elements of a block, the block is folded by a tree (log2(4*W) levels) and added into the
// running total with Neumaier compensation. Worst case |error| <= (32 + log2(4W) + 2) u sum|x|
// (u = 2^-24) independent of the length, so about 40 u sum|x| at AVX-512; for random signs the
// error behaves like a handful of ulp of sum|x|. Overflow follows float32 (a partial sum past
// FLT_MAX is +-Inf; tfjs sums in float64 and only rounds the result).
#pragma once
#include "kernels/vec_math.h"

namespace ab { namespace AB_ISA_NS { namespace vm {

constexpr int64_t kSumRun = 32;  // elements per accumulator lane per block

template <class V> inline void neu_add(V& s, V& c, V v) {
  V t = vadd(s, v);
  V big = vadd(vsub(s, t), v);
  V small = vadd(vsub(v, t), s);
  c = vadd(c, sel(ge(vabs(s), vabs(v)), big, small));
  s = t;
}
// s + c when s is finite (Inf/NaN totals make the compensation NaN: keep s then).
template <class V> inline V neu_result(V s, V c) {
  return sel(eq(vsub(s, s), splat(s, 0.0f)), vadd(s, c), s);
}

// Blocked sum of x[0..n). If E is non-null each element is first mapped through
// f (used by softmax: e = exp(x - m), stored to E).
template <class F>
inline float row_sum_map(const float* x, float* E, int64_t n, F f) {
  constexpr int64_t G = 4 * kW, kBlock = kSumRun * G;
  float s = 0.0f, c = 0.0f;
  int64_t i = 0;
  while (i + G <= n) {
    const int64_t end = i + kBlock < n ? i + kBlock : n;
    VF a0 = vbcast(0.0f), a1 = a0, a2 = a0, a3 = a0;
    for (; i + G <= end; i += G) {
      VF v0 = f(loadu(x + i)), v1 = f(loadu(x + i + kW));
      VF v2 = f(loadu(x + i + 2 * kW)), v3 = f(loadu(x + i + 3 * kW));
      if (E) {
        storeu(E + i, v0); storeu(E + i + kW, v1);
        storeu(E + i + 2 * kW, v2); storeu(E + i + 3 * kW, v3);
      }
      a0 = vadd(a0, v0); a1 = vadd(a1, v1); a2 = vadd(a2, v2); a3 = vadd(a3, v3);
    }
    neu_add(s, c, hsum(vadd(vadd(a0, a1), vadd(a2, a3))));
  }
  VF a0 = vbcast(0.0f);
  for (; i + kW <= n; i += kW) {
    VF v = f(loadu(x + i));
    if (E) storeu(E + i, v);
    a0 = vadd(a0, v);
  }
  float t = hsum(a0);
  for (; i < n; ++i) {
    float v = f(x[i]);
    if (E) E[i] = v;
    t += v;
  }
  neu_add(s, c, t);
  return neu_result(s, c);
}

inline float row_sum(const float* x, int64_t n) {
  return row_sum_map(x, nullptr, n, [](auto v) { return v; });
}

// tfjs max/min of a row (n >= 1): NaN if any element is NaN; otherwise the extreme value, and
// when that is a zero (ZSIGN), the first zero of the row, as tfjs's "replace only if strictly
// greater" scan keeps it (so [-0, +0] -> -0).
template <bool MAX, bool ZSIGN>
inline float row_extreme(const float* x, int64_t n) {
  const float init = MAX ? -__builtin_inff() : __builtin_inff();
  VF a0 = vbcast(init), a1 = a0;
  auto nm = isnan_(a0);
  int64_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    VF v0 = loadu(x + i), v1 = loadu(x + i + kW);
    a0 = MAX ? vmax(a0, v0) : vmin(a0, v0);
    a1 = MAX ? vmax(a1, v1) : vmin(a1, v1);
    nm = mor(nm, unord(v0, v1));
  }
  float m = MAX ? hmax(vmax(a0, a1)) : hmin(vmin(a0, a1));
  bool nan = any_(nm);
  for (; i < n; ++i) {
    const float v = x[i];
    if (v != v) nan = true;
    else if (MAX ? v > m : v < m) m = v;
  }
  if (nan) return __builtin_nanf("");
  if (ZSIGN && m == 0.0f) {
    for (int64_t j = 0; j < n; ++j)
      if (x[j] == 0.0f) return x[j];
  }
  return m;
}

} } }  // namespace ab::AB_ISA_NS::vm

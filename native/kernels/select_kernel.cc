// SPDX-License-Identifier: Apache-2.0
// Comparisons, the TopK scan and AddN (one copy per ISA level); semantics of tfjs-backend-cpu 4.22:
//   Equal a === b, NotEqual a !== b, Less a < b, ... on the values (NaN: only NotEqual is 1;
//     -0 equals +0), stored as bool bytes 0/1. Written as plain loops: -O3 vectorizes the
//     compare-and-narrow at each level (vcmpps into k masks + vpmovdb at avx512, vcmpps + packs
//     at avx2); the C comparison operators are IEEE's, so every level gives the same bytes.
//   TopK scan: the indices of the elements strictly above a threshold (a later equal value has a
//     higher index, so it never beats the kept one), and whether any element is NaN or +-Inf.
//   widen: uint8 / int32 -> float32 (JavaScript's Float32Array.from: exact, or round to nearest
//     even past 2^24), plain loops vectorized by -O3.
//   AddN: out = ((0 + x0) + x1) + ..., each step rounded to float32 (tfjs adds into a zeroed
//     Float32Array; 0 + -0 = +0), one pass over the inputs.
#include <cstdint>
#include <cstring>

#include "kernels/vec_math.h"
#include "ops/select_kernels.h"

namespace ab { namespace AB_ISA_NS {
namespace {

template <int OP, class T> inline bool cmp(T a, T b) {
  if (OP == kCmpEqual) return a == b;
  if (OP == kCmpNotEqual) return a != b;
  if (OP == kCmpLess) return a < b;
  if (OP == kCmpLessEqual) return a <= b;
  if (OP == kCmpGreater) return a > b;
  return a >= b;
}

template <int OP, class T> void cmp_vv(const T* a, const T* b, uint8_t* o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] = cmp<OP>(a[i], b[i]) ? 1 : 0;
}
template <int OP, class T> void cmp_vs(const T* a, const T* b, uint8_t* o, int64_t n) {
  const T s = *b;
  for (int64_t i = 0; i < n; ++i) o[i] = cmp<OP>(a[i], s) ? 1 : 0;
}
template <int OP, class T> void cmp_sv(const T* a, const T* b, uint8_t* o, int64_t n) {
  const T s = *a;
  for (int64_t i = 0; i < n; ++i) o[i] = cmp<OP>(s, b[i]) ? 1 : 0;
}

#define AB_CMP_ROW(OP, T) {&cmp_vv<OP, T>, &cmp_vs<OP, T>, &cmp_sv<OP, T>}
const CmpF32Fn kCmpF32[kCmpCount][3] = {
    AB_CMP_ROW(kCmpEqual, float), AB_CMP_ROW(kCmpNotEqual, float), AB_CMP_ROW(kCmpLess, float),
    AB_CMP_ROW(kCmpLessEqual, float), AB_CMP_ROW(kCmpGreater, float), AB_CMP_ROW(kCmpGreaterEqual, float),
};
const CmpI32Fn kCmpI32[kCmpCount][3] = {
    AB_CMP_ROW(kCmpEqual, int32_t), AB_CMP_ROW(kCmpNotEqual, int32_t), AB_CMP_ROW(kCmpLess, int32_t),
    AB_CMP_ROW(kCmpLessEqual, int32_t), AB_CMP_ROW(kCmpGreater, int32_t), AB_CMP_ROW(kCmpGreaterEqual, int32_t),
};
#undef AB_CMP_ROW

// Appends base + j for every set bit j of `mask` (lowest first) to idx[*cnt].
inline void push_bits(uint64_t mask, int64_t base, int32_t* idx, int64_t* cnt) {
  while (mask) {
    idx[(*cnt)++] = static_cast<int32_t>(base + __builtin_ctzll(mask));
    mask &= mask - 1;
  }
}

}  // namespace

CmpF32Fn cmp_f32_fn(int op, int form) { return kCmpF32[op][form]; }
CmpI32Fn cmp_i32_fn(int op, int form) { return kCmpI32[op][form]; }

int64_t topk_above_f32(const float* x, int64_t n, float thr, int64_t base, int32_t* idx, int* nonfinite) {
  int64_t cnt = 0, i = 0;
  uint32_t worst = 0;  // max over |x| bit patterns: >= 0x7f800000 means NaN or Inf
#if AB_ISA_LEVEL >= 2
  const __m512 t = _mm512_set1_ps(thr);
  const __m512i absm = _mm512_set1_epi32(0x7fffffff);
  __m512i w = _mm512_setzero_si512();
  for (; i + 64 <= n; i += 64) {
    const __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
    const __m512 v2 = _mm512_loadu_ps(x + i + 32), v3 = _mm512_loadu_ps(x + i + 48);
    w = _mm512_max_epu32(w, _mm512_and_si512(_mm512_castps_si512(v0), absm));
    w = _mm512_max_epu32(w, _mm512_and_si512(_mm512_castps_si512(v1), absm));
    w = _mm512_max_epu32(w, _mm512_and_si512(_mm512_castps_si512(v2), absm));
    w = _mm512_max_epu32(w, _mm512_and_si512(_mm512_castps_si512(v3), absm));
    const uint64_t m0 = _mm512_cmp_ps_mask(v0, t, _CMP_GT_OQ), m1 = _mm512_cmp_ps_mask(v1, t, _CMP_GT_OQ);
    const uint64_t m2 = _mm512_cmp_ps_mask(v2, t, _CMP_GT_OQ), m3 = _mm512_cmp_ps_mask(v3, t, _CMP_GT_OQ);
    const uint64_t m = m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
    if (m) push_bits(m, base + i, idx, &cnt);
  }
  uint32_t lanes[16];  // (not _mm512_reduce_max_epu32: GCC 12's header warns on it)
  _mm512_storeu_si512(lanes, w);
  for (int l = 0; l < 16; ++l) worst = lanes[l] > worst ? lanes[l] : worst;
#elif AB_ISA_LEVEL == 1
  const __m256 t = _mm256_set1_ps(thr);
  const __m256i absm = _mm256_set1_epi32(0x7fffffff);
  __m256i w = _mm256_setzero_si256();
  for (; i + 32 <= n; i += 32) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    const __m256 v2 = _mm256_loadu_ps(x + i + 16), v3 = _mm256_loadu_ps(x + i + 24);
    w = _mm256_max_epu32(w, _mm256_and_si256(_mm256_castps_si256(v0), absm));
    w = _mm256_max_epu32(w, _mm256_and_si256(_mm256_castps_si256(v1), absm));
    w = _mm256_max_epu32(w, _mm256_and_si256(_mm256_castps_si256(v2), absm));
    w = _mm256_max_epu32(w, _mm256_and_si256(_mm256_castps_si256(v3), absm));
    const uint64_t m0 = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v0, t, _CMP_GT_OQ)));
    const uint64_t m1 = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v1, t, _CMP_GT_OQ)));
    const uint64_t m2 = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v2, t, _CMP_GT_OQ)));
    const uint64_t m3 = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v3, t, _CMP_GT_OQ)));
    const uint64_t m = m0 | (m1 << 8) | (m2 << 16) | (m3 << 24);
    if (m) push_bits(m, base + i, idx, &cnt);
  }
  uint32_t lanes[8];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), w);
  for (int l = 0; l < 8; ++l) worst = lanes[l] > worst ? lanes[l] : worst;
#endif
  for (; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, 4);
    bits &= 0x7fffffffu;
    worst = bits > worst ? bits : worst;
    if (x[i] > thr) idx[cnt++] = static_cast<int32_t>(base + i);
  }
  *nonfinite = worst >= 0x7f800000u ? 1 : 0;
  return cnt;
}

int64_t topk_above_i32(const int32_t* x, int64_t n, int32_t thr, int64_t base, int32_t* idx) {
  int64_t cnt = 0, i = 0;
#if AB_ISA_LEVEL >= 2
  const __m512i t = _mm512_set1_epi32(thr);
  for (; i + 64 <= n; i += 64) {
    const uint64_t m0 = _mm512_cmpgt_epi32_mask(_mm512_loadu_si512(x + i), t);
    const uint64_t m1 = _mm512_cmpgt_epi32_mask(_mm512_loadu_si512(x + i + 16), t);
    const uint64_t m2 = _mm512_cmpgt_epi32_mask(_mm512_loadu_si512(x + i + 32), t);
    const uint64_t m3 = _mm512_cmpgt_epi32_mask(_mm512_loadu_si512(x + i + 48), t);
    const uint64_t m = m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
    if (m) push_bits(m, base + i, idx, &cnt);
  }
#elif AB_ISA_LEVEL == 1
  const __m256i t = _mm256_set1_epi32(thr);
  for (; i + 32 <= n; i += 32) {
    uint64_t m = 0;
    for (int q = 0; q < 4; ++q) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i + 8 * q));
      const uint64_t mq = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(v, t))));
      m |= mq << (8 * q);
    }
    if (m) push_bits(m, base + i, idx, &cnt);
  }
#endif
  for (; i < n; ++i)
    if (x[i] > thr) idx[cnt++] = static_cast<int32_t>(base + i);
  return cnt;
}

void addn_f32(const float* const* xs, int64_t m, float* out, int64_t len) {
  using namespace vm;
  int64_t i = 0;
  for (; i + 2 * kW <= len; i += 2 * kW) {
    VF a0 = vadd(vbcast(0.0f), loadu(xs[0] + i)), a1 = vadd(vbcast(0.0f), loadu(xs[0] + i + kW));
    for (int64_t j = 1; j < m; ++j) {
      a0 = vadd(a0, loadu(xs[j] + i));
      a1 = vadd(a1, loadu(xs[j] + i + kW));
    }
    storeu(out + i, a0);
    storeu(out + i + kW, a1);
  }
#if AB_ISA_LEVEL == 2
  for (; i < len; i += kW) {
    const int64_t r = len - i < kW ? len - i : kW;
    VF a = vadd(vbcast(0.0f), load_tail(xs[0] + i, r));
    for (int64_t j = 1; j < m; ++j) a = vadd(a, load_tail(xs[j] + i, r));
    store_tail(out + i, a, r);
  }
#else
  for (; i < len; ++i) {
    float a = 0.0f + xs[0][i];
    for (int64_t j = 1; j < m; ++j) a += xs[j][i];
    out[i] = a;
  }
#endif
}

void widen_u8_f32(const uint8_t* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(x[i]);
}

void widen_i32_f32(const int32_t* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(x[i]);  // round to nearest even, as JS
}

} }  // namespace ab::AB_ISA_NS

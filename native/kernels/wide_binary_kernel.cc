// SPDX-License-Identifier: Apache-2.0
// Wide binary kernels (one copy per ISA level): tfjs-cpu's binary ops computed as its JavaScript
// computes them (native/ops/wide_binary.h). A run is done in chunks: the operands are widened to
// float64 buffers (exact for float32, int32 and uint8 values), the op runs on the buffers, and
// the results are stored as the output's typed array stores a JS number.
//   Add, Sub, Mul, Div, SquaredDiff ((a-b)*(a-b)): IEEE float64 operations, as JS's.
//   Max / Min: Math.max / Math.min (NaN if either is NaN; max(+0,-0) = +0, min(+0,-0) = -0).
//   FloorDiv: Math.floor(a / b).
//   Mod (tfjs-cpu): r = a % b; a, b of one sign class (both < 0, or both >= 0): r, else
//     (r + b) % b; JS % is C's fmod (exact). When both operands hold integers (int32 or uint8
//     storage) the same values come from q = floor(a / b), r = a - q*b with a zero given b's sign:
//     for |a|, |b| < 2^32 the rounded quotient never crosses an integer (|a/b - n| >= 1/|b| while
//     the rounding error is below |n| 2^-53, |n b| <= |a| + |b|), so q is the exact floor, q*b is
//     exact (|q b| <= |a| + |b|), and the result has the divisor's sign (tfjs-cpu's zero is -0
//     exactly when b < 0); b = 0 gives NaN either way.
//   Stores: Float32Array: float64 -> float32 round to nearest even (cvtpd2ps). Int32Array: ToInt32:
//     t = trunc(x); y = t - floor(t / 2^32) * 2^32 (exact, in [0, 2^32)); y's low 32 bits; NaN and
//     +-Inf give 0.
#pragma GCC optimize("fp-contract=off")
#include <cmath>
#include <cstdint>
#include <cstring>

#if AB_ISA_LEVEL >= 1
#include <immintrin.h>
#endif
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports the intrinsics' internal "undefined" pass-through operand as uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "ops/wide_binary.h"

namespace ab { namespace AB_ISA_NS {
namespace {

constexpr int64_t kChunk = 256;

// ---- the scalar twins (every level's tails; all of level 0) -------------------------------------
inline double as_d(uint64_t u) { double d; std::memcpy(&d, &u, 8); return d; }
inline uint64_t as_u(double d) { uint64_t u; std::memcpy(&u, &d, 8); return u; }

inline double vadd(double a, double b) { return a + b; }
inline double vsub(double a, double b) { return a - b; }
inline double vmul(double a, double b) { return a * b; }
inline double vdiv(double a, double b) { return a / b; }
inline double vsqdiff(double a, double b) { const double d = a - b; return d * d; }
inline double vfloordiv(double a, double b) { return __builtin_floor(a / b); }
inline double vmax_js(double a, double b) {
  if (a != a || b != b) return a + b;           // NaN
  if (a == b) return as_d(as_u(a) & as_u(b));   // +0 wins over -0
  return a > b ? a : b;
}
inline double vmin_js(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b) return as_d(as_u(a) | as_u(b));   // -0 wins over +0
  return a < b ? a : b;
}
inline double vmod_int(double a, double b) {
  const double r = a - __builtin_floor(a / b) * b;
  return r == 0 ? as_d(as_u(b) & 0x8000000000000000ull) : r;
}
inline double mod_js(double a, double b) {
  const double r = std::fmod(a, b);
  if ((a < 0 && b < 0) || (a >= 0 && b >= 0)) return r;
  return std::fmod(r + b, b);
}
inline int32_t to_int32(double x) {
  const double t = __builtin_trunc(x);
  if (!(t - t == 0)) return 0;  // NaN, +-Inf
  const double y = t - __builtin_floor(t * 0x1p-32) * 0x1p32;  // [0, 2^32), exact
  return static_cast<int32_t>(static_cast<uint32_t>(y));
}

// ---- vectors ---------------------------------------------------------------------------------
#if AB_ISA_LEVEL == 2
using VD = __m512d;
constexpr int kW = 8;
inline VD ld(const double* p) { return _mm512_loadu_pd(p); }
inline void st(double* p, VD v) { _mm512_storeu_pd(p, v); }
inline VD vadd(VD a, VD b) { return _mm512_add_pd(a, b); }
inline VD vsub(VD a, VD b) { return _mm512_sub_pd(a, b); }
inline VD vmul(VD a, VD b) { return _mm512_mul_pd(a, b); }
inline VD vdiv(VD a, VD b) { return _mm512_div_pd(a, b); }
inline VD vfloor(VD v) { return _mm512_roundscale_pd(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
inline VD vsqdiff(VD a, VD b) { const VD d = vsub(a, b); return vmul(d, d); }
inline VD vfloordiv(VD a, VD b) { return vfloor(vdiv(a, b)); }
inline VD vmax_js(VD a, VD b) {
  VD r = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, _CMP_GT_OQ), b, a);
  r = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ), r, _mm512_and_pd(a, b));
  return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, _CMP_UNORD_Q), r, vadd(a, b));
}
inline VD vmin_js(VD a, VD b) {
  VD r = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, _CMP_LT_OQ), b, a);
  r = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ), r, _mm512_or_pd(a, b));
  return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, _CMP_UNORD_Q), r, vadd(a, b));
}
inline VD vmod_int(VD a, VD b) {
  const VD r = vsub(a, vmul(vfloor(vdiv(a, b)), b));
  const __mmask8 z = _mm512_cmp_pd_mask(r, _mm512_setzero_pd(), _CMP_EQ_OQ);
  return _mm512_mask_blend_pd(z, r, _mm512_and_pd(b, _mm512_set1_pd(-0.0)));
}
inline void st_i32(int32_t* p, VD x) {
  const VD t = _mm512_roundscale_pd(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const VD f = vfloor(vmul(t, _mm512_set1_pd(0x1p-32)));
  const VD y = vsub(t, vmul(f, _mm512_set1_pd(0x1p32)));  // [0, 2^32); NaN for NaN and +-Inf
  // cvttpd2qq gives y exactly (and 0x8000000000000000 for NaN, whose low half is 0); vpmovqd keeps
  // the low 32 bits.
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi64_epi32(_mm512_cvttpd_epi64(y)));
}
#elif AB_ISA_LEVEL == 1
using VD = __m256d;
constexpr int kW = 4;
inline VD ld(const double* p) { return _mm256_loadu_pd(p); }
inline void st(double* p, VD v) { _mm256_storeu_pd(p, v); }
inline VD vadd(VD a, VD b) { return _mm256_add_pd(a, b); }
inline VD vsub(VD a, VD b) { return _mm256_sub_pd(a, b); }
inline VD vmul(VD a, VD b) { return _mm256_mul_pd(a, b); }
inline VD vdiv(VD a, VD b) { return _mm256_div_pd(a, b); }
inline VD vfloor(VD v) { return _mm256_round_pd(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
inline VD vsqdiff(VD a, VD b) { const VD d = vsub(a, b); return vmul(d, d); }
inline VD vfloordiv(VD a, VD b) { return vfloor(vdiv(a, b)); }
inline VD vmax_js(VD a, VD b) {
  VD r = _mm256_blendv_pd(b, a, _mm256_cmp_pd(a, b, _CMP_GT_OQ));
  r = _mm256_blendv_pd(r, _mm256_and_pd(a, b), _mm256_cmp_pd(a, b, _CMP_EQ_OQ));
  return _mm256_blendv_pd(r, vadd(a, b), _mm256_cmp_pd(a, b, _CMP_UNORD_Q));
}
inline VD vmin_js(VD a, VD b) {
  VD r = _mm256_blendv_pd(b, a, _mm256_cmp_pd(a, b, _CMP_LT_OQ));
  r = _mm256_blendv_pd(r, _mm256_or_pd(a, b), _mm256_cmp_pd(a, b, _CMP_EQ_OQ));
  return _mm256_blendv_pd(r, vadd(a, b), _mm256_cmp_pd(a, b, _CMP_UNORD_Q));
}
inline VD vmod_int(VD a, VD b) {
  const VD r = vsub(a, vmul(vfloor(vdiv(a, b)), b));
  return _mm256_blendv_pd(r, _mm256_and_pd(b, _mm256_set1_pd(-0.0)),
                          _mm256_cmp_pd(r, _mm256_setzero_pd(), _CMP_EQ_OQ));
}
inline void st_i32(int32_t* p, VD x) {
  const VD t = _mm256_round_pd(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const VD f = vfloor(vmul(t, _mm256_set1_pd(0x1p-32)));
  VD y = vsub(t, vmul(f, _mm256_set1_pd(0x1p32)));  // [0, 2^32); NaN for NaN and +-Inf
  y = vsub(y, _mm256_and_pd(_mm256_cmp_pd(y, _mm256_set1_pd(0x1p31), _CMP_GE_OQ), _mm256_set1_pd(0x1p32)));
  y = _mm256_and_pd(y, _mm256_cmp_pd(y, y, _CMP_ORD_Q));  // NaN -> 0
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvttpd_epi32(y));  // [-2^31, 2^31): exact
}
#endif

// r[i] = f(a[i], b[i]) over a chunk: vectors, then the scalar twin.
template <class F>
inline void map_op(const double* a, const double* b, double* r, int64_t n, F f) {
  int64_t i = 0;
#if AB_ISA_LEVEL >= 1
  for (; i + kW <= n; i += kW) st(r + i, f(ld(a + i), ld(b + i)));
#endif
  for (; i < n; ++i) r[i] = f(a[i], b[i]);
}

void op_chunk(int op, bool ints, const double* a, const double* b, double* r, int64_t n) {
  switch (op) {
    case kWideAdd: return map_op(a, b, r, n, [](auto x, auto y) { return vadd(x, y); });
    case kWideSub: return map_op(a, b, r, n, [](auto x, auto y) { return vsub(x, y); });
    case kWideMul: return map_op(a, b, r, n, [](auto x, auto y) { return vmul(x, y); });
    case kWideDiv: return map_op(a, b, r, n, [](auto x, auto y) { return vdiv(x, y); });
    case kWideMax: return map_op(a, b, r, n, [](auto x, auto y) { return vmax_js(x, y); });
    case kWideMin: return map_op(a, b, r, n, [](auto x, auto y) { return vmin_js(x, y); });
    case kWideSquaredDiff: return map_op(a, b, r, n, [](auto x, auto y) { return vsqdiff(x, y); });
    case kWideFloorDiv: return map_op(a, b, r, n, [](auto x, auto y) { return vfloordiv(x, y); });
    case kWideMod:
      if (ints) return map_op(a, b, r, n, [](auto x, auto y) { return vmod_int(x, y); });
      for (int64_t i = 0; i < n; ++i) r[i] = mod_js(a[i], b[i]);
      return;
  }
}

// d[j] = p[i + j] as float64 (exact), j < n.
void widen(const void* p, int t, int64_t i, int64_t n, double* d) {
  if (t == kWideF32) {
    const float* x = static_cast<const float*>(p) + i;
    for (int64_t j = 0; j < n; ++j) d[j] = static_cast<double>(x[j]);
  } else if (t == kWideI32) {
    const int32_t* x = static_cast<const int32_t*>(p) + i;
    for (int64_t j = 0; j < n; ++j) d[j] = static_cast<double>(x[j]);
  } else {
    const uint8_t* x = static_cast<const uint8_t*>(p) + i;
    for (int64_t j = 0; j < n; ++j) d[j] = static_cast<double>(x[j]);
  }
}

// out[i + j] = r[j] as the output's typed array stores a number, j < n.
void store(const double* r, void* out, int to, int64_t i, int64_t n) {
  if (to == kWideF32) {
    float* y = static_cast<float*>(out) + i;
    for (int64_t j = 0; j < n; ++j) y[j] = static_cast<float>(r[j]);
    return;
  }
  int32_t* y = static_cast<int32_t*>(out) + i;
  int64_t j = 0;
#if AB_ISA_LEVEL >= 1
  for (; j + kW <= n; j += kW) st_i32(y + j, ld(r + j));
#endif
  for (; j < n; ++j) y[j] = to_int32(r[j]);
}

}  // namespace

void wide_binary_run(int op, const void* a, int ta, int64_t pa, const void* b, int tb, int64_t pb, void* out, int to,
                     int64_t n) {
  if (n <= 0) return;
  alignas(64) double da[kChunk], db[kChunk], dr[kChunk];
  // A periodic operand's buffer holds its pattern repeated, and every chunk is a whole number of
  // periods, so the buffer is filled once.
  const int64_t period = pa > 1 ? pa : pb > 1 ? pb : 1;
  const int64_t chunk = (kChunk / period) * period;
  const int64_t first = n < chunk ? n : chunk;
  auto pattern = [&](const void* x, int t, int64_t per, double* d) {
    widen(x, t, 0, per, d);
    for (int64_t j = per; j < first; ++j) d[j] = d[j - per];
  };
  if (pa >= 1) pattern(a, ta, pa, da);
  if (pb >= 1) pattern(b, tb, pb, db);
  const bool ints = ta != kWideF32 && tb != kWideF32;
  for (int64_t i = 0; i < n; i += chunk) {
    const int64_t m = n - i < chunk ? n - i : chunk;
    if (pa == 0) widen(a, ta, i, m, da);
    if (pb == 0) widen(b, tb, i, m, db);
    op_chunk(op, ints, da, db, dr, m);
    store(dr, out, to, i, m);
  }
}

} }  // namespace ab::AB_ISA_NS

// SPDX-License-Identifier: Apache-2.0
// Per-level vector math for the elementwise, softmax, reduction and activation kernels.
// Included only by kernel files (native/kernels/*.cc): everything is in ab::AB_ISA_NS::vm.
//
// Every routine is written once, as a template over the "vector" type, against a small set of
// overloaded primitives defined for
//   float   (all levels: the scalar twin),
//   __m256  (AB_ISA_LEVEL == 1, AVX2 + FMA),
//   __m512  (AB_ISA_LEVEL == 2, AVX-512 F/BW/VL/DQ).
// At levels >= 1 the scalar twin's fused multiply-adds are real FMAs (__builtin_fmaf compiled
// with -mfma), min/max use the SSE operand rule (a < b ? a : b), rounding uses the same
// magic-number trick, so a tail element computed by the float twin has exactly the bits the
// vector lane would give it. At level 0 the twin uses a*b+c (no FMA on the baseline).
//
// Accuracy (measured against float64/mpmath over the full float range, see
// test/native-elementwise.test.mjs; "ulp" of the correctly rounded float result):
//   exp      <= 1 ulp (Cody-Waite reduction, degree-6 polynomial); +Inf above 88.7228,
//            correctly rounded subnormals down to 2^-149, 0 below -103.97, NaN -> NaN.
//   log      <= 1 ulp; subnormal inputs rescaled by 2^23; log(+-0) = -Inf, log(x<0) = NaN,
//            log(+Inf) = +Inf, NaN -> NaN.
//   tanh     <= 2 ulp (measured 1.33); odd polynomial for |x| < 0.625 (no cancellation near 0, tanh(-0) = -0),
//            1 - 2/(e^{2|x|}+1) above, saturates to +-1.
//   sigmoid  <= 2.5 ulp (measured 2.35); e = exp(-|x|), x >= 0: 1/(1+e), x < 0: e/(1+e): never overflows, gives
//            correct subnormals for x < -87.
//   erf      <= 1e-7 absolute and <= 2 ulp (measured 1.4 ulp, 8.3e-8); x + x*P(x^2) for |x| < 0.921875, 1 - exp(-x^2) * G(t),
//            t = 1/(1+|x|/2), above (both fitted here to < 5e-9 relative), saturates at 4.
//   expm1    (for ELU, x <= 0 only) <= 1 ulp; 2^n * expm1(r) + (2^n - 1).
#pragma once
#include <cstdint>
#include <cstring>

#if AB_ISA_LEVEL >= 1
#include <immintrin.h>
#endif
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports the intrinsics' internal "undefined" pass-through operand as maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace ab { namespace AB_ISA_NS { namespace vm {

// ------------------------------------------------------------------------------------------
// Scalar primitives (the twin).
inline float splat(float, float c) { return c; }
inline int32_t isplat(int32_t, int32_t c) { return c; }
inline float vadd(float a, float b) { return a + b; }
inline float vsub(float a, float b) { return a - b; }
inline float vmul(float a, float b) { return a * b; }
inline float vdiv(float a, float b) { return a / b; }
inline float vfma(float a, float b, float c) {  // a*b + c
#if AB_ISA_LEVEL >= 1
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}
inline float vfnma(float a, float b, float c) {  // c - a*b
#if AB_ISA_LEVEL >= 1
  return __builtin_fmaf(-a, b, c);
#else
  return c - a * b;
#endif
}
// SSE operand rule: the second operand wins when unordered (or equal).
inline float vmin(float a, float b) { return a < b ? a : b; }
inline float vmax(float a, float b) { return a > b ? a : b; }
inline float vsqrt(float a) { return __builtin_sqrtf(a); }
inline int32_t as_i(float a) { int32_t i; std::memcpy(&i, &a, 4); return i; }
inline float as_f(int32_t i) { float a; std::memcpy(&a, &i, 4); return a; }
inline float vand(float a, float b) { return as_f(as_i(a) & as_i(b)); }
inline float vor(float a, float b) { return as_f(as_i(a) | as_i(b)); }
inline float vxor(float a, float b) { return as_f(as_i(a) ^ as_i(b)); }
inline float vabs(float a) { return as_f(as_i(a) & 0x7fffffff); }
inline float i2f(int32_t i) { return static_cast<float>(i); }
inline int32_t iadd(int32_t a, int32_t b) { return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b)); }
inline int32_t isub(int32_t a, int32_t b) { return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b)); }
template <int S> inline int32_t isll(int32_t a) { return static_cast<int32_t>(static_cast<uint32_t>(a) << S); }
template <int S> inline int32_t isra(int32_t a) { return a >> S; }  // arithmetic on gcc/clang
inline bool lt(float a, float b) { return a < b; }
inline bool le(float a, float b) { return a <= b; }
inline bool gt(float a, float b) { return a > b; }
inline bool ge(float a, float b) { return a >= b; }
inline bool eq(float a, float b) { return a == b; }
inline bool isnan_(float a) { return a != a; }
inline bool unord(float a, float b) { return a != a || b != b; }
inline bool mor(bool a, bool b) { return a || b; }
inline bool mand(bool a, bool b) { return a && b; }
inline float sel(bool m, float t, float f) { return m ? t : f; }

// ------------------------------------------------------------------------------------------
#if AB_ISA_LEVEL == 1
inline __m256 splat(__m256, float c) { return _mm256_set1_ps(c); }
inline __m256i isplat(__m256i, int32_t c) { return _mm256_set1_epi32(c); }
inline __m256 vadd(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
inline __m256 vsub(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
inline __m256 vmul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
inline __m256 vdiv(__m256 a, __m256 b) { return _mm256_div_ps(a, b); }
inline __m256 vfma(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
inline __m256 vfnma(__m256 a, __m256 b, __m256 c) { return _mm256_fnmadd_ps(a, b, c); }
inline __m256 vmin(__m256 a, __m256 b) { return _mm256_min_ps(a, b); }
inline __m256 vmax(__m256 a, __m256 b) { return _mm256_max_ps(a, b); }
inline __m256 vsqrt(__m256 a) { return _mm256_sqrt_ps(a); }
inline __m256i as_i(__m256 a) { return _mm256_castps_si256(a); }
inline __m256 as_f(__m256i a) { return _mm256_castsi256_ps(a); }
inline __m256 vand(__m256 a, __m256 b) { return _mm256_and_ps(a, b); }
inline __m256 vor(__m256 a, __m256 b) { return _mm256_or_ps(a, b); }
inline __m256 vxor(__m256 a, __m256 b) { return _mm256_xor_ps(a, b); }
inline __m256 vabs(__m256 a) { return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
inline __m256 i2f(__m256i i) { return _mm256_cvtepi32_ps(i); }
inline __m256i iadd(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }
inline __m256i isub(__m256i a, __m256i b) { return _mm256_sub_epi32(a, b); }
template <int S> inline __m256i isll(__m256i a) { return _mm256_slli_epi32(a, S); }
template <int S> inline __m256i isra(__m256i a) { return _mm256_srai_epi32(a, S); }
inline __m256 lt(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
inline __m256 le(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
inline __m256 gt(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
inline __m256 ge(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
inline __m256 eq(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
inline __m256 isnan_(__m256 a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
inline __m256 unord(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
inline __m256 mor(__m256 a, __m256 b) { return _mm256_or_ps(a, b); }
inline __m256 mand(__m256 a, __m256 b) { return _mm256_and_ps(a, b); }
inline __m256 sel(__m256 m, __m256 t, __m256 f) { return _mm256_blendv_ps(f, t, m); }
#endif

#if AB_ISA_LEVEL == 2
inline __m512 splat(__m512, float c) { return _mm512_set1_ps(c); }
inline __m512i isplat(__m512i, int32_t c) { return _mm512_set1_epi32(c); }
inline __m512 vadd(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
inline __m512 vsub(__m512 a, __m512 b) { return _mm512_sub_ps(a, b); }
inline __m512 vmul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }
inline __m512 vdiv(__m512 a, __m512 b) { return _mm512_div_ps(a, b); }
inline __m512 vfma(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
inline __m512 vfnma(__m512 a, __m512 b, __m512 c) { return _mm512_fnmadd_ps(a, b, c); }
inline __m512 vmin(__m512 a, __m512 b) { return _mm512_min_ps(a, b); }
inline __m512 vmax(__m512 a, __m512 b) { return _mm512_max_ps(a, b); }
inline __m512 vsqrt(__m512 a) { return _mm512_sqrt_ps(a); }
inline __m512i as_i(__m512 a) { return _mm512_castps_si512(a); }
inline __m512 as_f(__m512i a) { return _mm512_castsi512_ps(a); }
inline __m512 vand(__m512 a, __m512 b) { return _mm512_and_ps(a, b); }
inline __m512 vor(__m512 a, __m512 b) { return _mm512_or_ps(a, b); }
inline __m512 vxor(__m512 a, __m512 b) { return _mm512_xor_ps(a, b); }
inline __m512 vabs(__m512 a) { return _mm512_abs_ps(a); }
inline __m512 i2f(__m512i i) { return _mm512_cvtepi32_ps(i); }
inline __m512i iadd(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }
inline __m512i isub(__m512i a, __m512i b) { return _mm512_sub_epi32(a, b); }
template <int S> inline __m512i isll(__m512i a) { return _mm512_slli_epi32(a, S); }
template <int S> inline __m512i isra(__m512i a) { return _mm512_srai_epi32(a, S); }
inline __mmask16 lt(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
inline __mmask16 le(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
inline __mmask16 gt(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
inline __mmask16 ge(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
inline __mmask16 eq(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
inline __mmask16 isnan_(__m512 a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
inline __mmask16 unord(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); }
inline __mmask16 mor(__mmask16 a, __mmask16 b) { return _kor_mask16(a, b); }
inline __mmask16 mand(__mmask16 a, __mmask16 b) { return _kand_mask16(a, b); }
inline __m512 sel(__mmask16 m, __m512 t, __m512 f) { return _mm512_mask_blend_ps(m, f, t); }
#endif

// ------------------------------------------------------------------------------------------
// Shared helpers.
template <class V> inline V copysign_(V mag, V sgn) {  // |mag| with the sign of sgn
  V sm = as_f(isplat(as_i(mag), static_cast<int32_t>(0x80000000u)));
  return vor(vabs(mag), vand(sgn, sm));
}
// Round to nearest even for |x| < 2^22; returns the float and the integer.
constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23

// 2^n for n in [-126, 127] as a float (no range check).
template <class I> inline I pow2i_bits(I n) { return isll<23>(iadd(n, isplat(n, 127))); }

// ---- exp ---------------------------------------------------------------------------------
template <class V> inline V exp_(V x) {
  // Clamp (NaN survives: the second operand of min/max wins when unordered).
  V xc = vmin(splat(x, 89.0f), x);
  xc = vmax(splat(x, -104.0f), xc);
  V t = vfma(xc, splat(x, 1.44269504088896341f), splat(x, kMagic));
  auto n = isub(as_i(t), as_i(splat(x, kMagic)));
  V nf = vsub(t, splat(x, kMagic));
  V r = vfnma(nf, splat(x, 0.693359375f), xc);
  r = vfnma(nf, splat(x, -2.12194440e-4f), r);
  V p = splat(x, 1.9875691500e-4f);
  p = vfma(p, r, splat(x, 1.3981999507e-3f));
  p = vfma(p, r, splat(x, 8.3334519073e-3f));
  p = vfma(p, r, splat(x, 4.1665795894e-2f));
  p = vfma(p, r, splat(x, 1.6666665459e-1f));
  p = vfma(p, r, splat(x, 5.0000001201e-1f));
  V y = vfma(p, vmul(r, r), r);
  y = vadd(y, splat(x, 1.0f));
  // y * 2^n in two exact-then-rounded steps: n in [-150, 129] is split as n1 + n2.
  auto n1 = isra<1>(n);
  auto n2 = isub(n, n1);
  return vmul(vmul(y, as_f(pow2i_bits(n1))), as_f(pow2i_bits(n2)));
}

// ---- expm1 for x <= 0 (ELU) ---------------------------------------------------------------
template <class V> inline V expm1_neg_(V x) {
  V xc = vmin(splat(x, 0.0f), x);
  xc = vmax(splat(x, -87.0f), xc);
  V t = vfma(xc, splat(x, 1.44269504088896341f), splat(x, kMagic));
  auto n = isub(as_i(t), as_i(splat(x, kMagic)));
  V nf = vsub(t, splat(x, kMagic));
  V r = vfnma(nf, splat(x, 0.693359375f), xc);
  r = vfnma(nf, splat(x, -2.12194440e-4f), r);
  V q = splat(x, 1.0f / 40320.0f);
  q = vfma(q, r, splat(x, 1.0f / 5040.0f));
  q = vfma(q, r, splat(x, 1.0f / 720.0f));
  q = vfma(q, r, splat(x, 1.0f / 120.0f));
  q = vfma(q, r, splat(x, 1.0f / 24.0f));
  q = vfma(q, r, splat(x, 1.0f / 6.0f));
  q = vfma(q, r, splat(x, 0.5f));
  V em = vfma(vmul(r, r), q, r);  // expm1(r)
  V s = as_f(pow2i_bits(n));       // 2^n, n in [-126, 0]
  return vfma(s, em, vsub(s, splat(x, 1.0f)));
}

// ---- log ---------------------------------------------------------------------------------
template <class V> inline V log_(V x) {
  auto tiny = lt(x, splat(x, 1.17549435e-38f));  // subnormal (and <= 0: fixed up below)
  V xs = sel(tiny, vmul(x, splat(x, 8388608.0f)), x);
  V kadj = sel(tiny, splat(x, -23.0f), splat(x, 0.0f));
  auto ix = as_i(xs);
  auto k = isra<23>(isub(ix, isplat(ix, 0x3f3504f3)));  // m in [sqrt(1/2), sqrt(2))
  V m = as_f(isub(ix, isll<23>(k)));
  V kf = vadd(i2f(k), kadj);
  V f = vsub(m, splat(x, 1.0f));
  V z = vmul(f, f);
  V p = splat(x, 7.0376836292e-2f);
  p = vfma(p, f, splat(x, -1.1514610310e-1f));
  p = vfma(p, f, splat(x, 1.1676998740e-1f));
  p = vfma(p, f, splat(x, -1.2420140846e-1f));
  p = vfma(p, f, splat(x, 1.4249322787e-1f));
  p = vfma(p, f, splat(x, -1.6668057665e-1f));
  p = vfma(p, f, splat(x, 2.0000714765e-1f));
  p = vfma(p, f, splat(x, -2.4999993993e-1f));
  p = vfma(p, f, splat(x, 3.3333331174e-1f));
  V y = vmul(vmul(p, f), z);
  y = vfma(kf, splat(x, -2.12194440e-4f), y);
  y = vfnma(splat(x, 0.5f), z, y);
  V r = vadd(f, y);
  r = vfma(kf, splat(x, 0.693359375f), r);
  const float inf = __builtin_inff();
  r = sel(eq(x, splat(x, inf)), x, r);
  r = sel(eq(x, splat(x, 0.0f)), splat(x, -inf), r);
  r = sel(lt(x, splat(x, 0.0f)), splat(x, __builtin_nanf("")), r);
  return sel(isnan_(x), x, r);
}

// ---- tanh --------------------------------------------------------------------------------
template <class V> inline V tanh_(V x) {
  V a = vabs(x);
  V z = vmul(x, x);
  V p = splat(x, -5.70498872745e-3f);
  p = vfma(p, z, splat(x, 2.06390887954e-2f));
  p = vfma(p, z, splat(x, -5.37397155531e-2f));
  p = vfma(p, z, splat(x, 1.33314422036e-1f));
  p = vfma(p, z, splat(x, -3.33332819422e-1f));
  V ys = vfma(vmul(p, z), x, x);
  V ac = vmin(splat(x, 9.0f), a);  // NaN survives
  V e = exp_(vadd(ac, ac));
  V yl = vsub(splat(x, 1.0f), vdiv(splat(x, 2.0f), vadd(e, splat(x, 1.0f))));
  yl = copysign_(yl, x);
  return sel(lt(a, splat(x, 0.625f)), ys, yl);
}

// ---- sigmoid -----------------------------------------------------------------------------
template <class V> inline V sigmoid_(V x) {
  V e = exp_(vxor(vabs(x), splat(x, -0.0f)));  // exp(-|x|) in (0, 1]
  V num = sel(lt(x, splat(x, 0.0f)), e, splat(x, 1.0f));
  return vdiv(num, vadd(splat(x, 1.0f), e));
}

// ---- erf ---------------------------------------------------------------------------------
template <class V> inline V erf_(V x) {
  V a = vabs(x);
  V z = vmul(x, x);
  V p = splat(x, 8.411056067e-05f);
  p = vfma(p, z, splat(x, -8.153788587e-04f));
  p = vfma(p, z, splat(x, 5.202176696e-03f));
  p = vfma(p, z, splat(x, -2.685995757e-02f));
  p = vfma(p, z, splat(x, 1.128370844e-01f));
  p = vfma(p, z, splat(x, -3.761263494e-01f));
  p = vfma(p, z, splat(x, 1.283791670955126e-01f));  // 2/sqrt(pi) - 1: erf = x + x*p
  V ra = vfma(x, p, x);
  V ac = vmin(splat(x, 4.0f), a);  // NaN survives
  V t = vdiv(splat(x, 1.0f), vfma(ac, splat(x, 0.5f), splat(x, 1.0f)));
  V g = splat(x, 1.197435051e-01f);
  g = vfma(g, t, splat(x, -4.726132010e-01f));
  g = vfma(g, t, splat(x, 5.654086011e-01f));
  g = vfma(g, t, splat(x, -1.053865800e-01f));
  g = vfma(g, t, splat(x, 3.486730639e-01f));
  g = vfma(g, t, splat(x, 2.594355747e-01f));
  g = vfma(g, t, splat(x, 2.849524573e-01f));
  g = vfma(g, t, splat(x, -1.568514577e-04f));
  V e = exp_(vxor(vmul(ac, ac), splat(x, -0.0f)));
  V rb = vfnma(e, g, splat(x, 1.0f));
  rb = copysign_(rb, x);
  return sel(lt(a, splat(x, 0.921875f)), ra, rb);
}

} } }  // namespace ab::AB_ISA_NS::vm

// ------------------------------------------------------------------------------------------
// Loads, stores and the map loops shared by the kernels. VF is this level's widest vector.
// Tails: AVX-512 runs the same vector code on a masked load/store; AVX2 and scalar run the
// float twin (bit-identical to a lane, see the top of this file).
namespace ab { namespace AB_ISA_NS { namespace vm {

#if AB_ISA_LEVEL == 2
using VF = __m512;
constexpr int64_t kW = 16;
inline VF loadu(const float* p) { return _mm512_loadu_ps(p); }
inline void storeu(float* p, VF v) { _mm512_storeu_ps(p, v); }
inline __mmask16 tail_mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
inline VF load_tail(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(tail_mask(n), p); }
inline void store_tail(float* p, VF v, int64_t n) { _mm512_mask_storeu_ps(p, tail_mask(n), v); }
inline float hsum(VF v) { return _mm512_reduce_add_ps(v); }
inline float hmax(VF v) { return _mm512_reduce_max_ps(v); }
inline float hmin(VF v) { return _mm512_reduce_min_ps(v); }
inline bool any_(__mmask16 m) { return m != 0; }
#elif AB_ISA_LEVEL == 1
using VF = __m256;
constexpr int64_t kW = 8;
inline VF loadu(const float* p) { return _mm256_loadu_ps(p); }
inline void storeu(float* p, VF v) { _mm256_storeu_ps(p, v); }
inline float hsum(VF v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
inline float hmax(VF v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}
inline float hmin(VF v) {
  __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_min_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_min_ss(s, _mm_movehdup_ps(s)));
}
inline bool any_(__m256 m) { return _mm256_movemask_ps(m) != 0; }
#else
using VF = float;
constexpr int64_t kW = 1;
inline VF loadu(const float* p) { return *p; }
inline void storeu(float* p, VF v) { *p = v; }
#endif
inline VF vbcast(float c) { return splat(VF(), c); }
// Scalar-twin versions (also this level's VF at level 0).
inline float ld(float, const float* p) { return *p; }
inline void st(float* p, float v) { *p = v; }
inline bool any_(bool m) { return m; }
inline float hsum(float v) { return v; }
inline float hmax(float v) { return v; }
inline float hmin(float v) { return v; }
#if AB_ISA_LEVEL >= 1
inline VF ld(VF, const float* p) { return loadu(p); }
inline void st(float* p, VF v) { storeu(p, v); }
#endif
template <class V> constexpr int64_t lanes() { return sizeof(V) / sizeof(float); }

// y[i] = f(x[i]); f is a generic lambda (called with VF and with float).
template <class F>
inline void map1(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    VF a0 = loadu(x + i), a1 = loadu(x + i + kW);
    storeu(y + i, f(a0));
    storeu(y + i + kW, f(a1));
  }
  for (; i + kW <= n; i += kW) storeu(y + i, f(loadu(x + i)));
#if AB_ISA_LEVEL == 2
  if (i < n) store_tail(y + i, f(load_tail(x + i, n - i)), n - i);
#else
  for (; i < n; ++i) y[i] = f(x[i]);
#endif
}

// z[i] = f(x[i], y[i]).
template <class F>
inline void map2(const float* x, const float* y, float* z, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    VF a0 = loadu(x + i), a1 = loadu(x + i + kW);
    VF b0 = loadu(y + i), b1 = loadu(y + i + kW);
    storeu(z + i, f(a0, b0));
    storeu(z + i + kW, f(a1, b1));
  }
  for (; i + kW <= n; i += kW) storeu(z + i, f(loadu(x + i), loadu(y + i)));
#if AB_ISA_LEVEL == 2
  if (i < n) store_tail(z + i, f(load_tail(x + i, n - i), load_tail(y + i, n - i)), n - i);
#else
  for (; i < n; ++i) z[i] = f(x[i], y[i]);
#endif
}

} } }  // namespace ab::AB_ISA_NS::vm

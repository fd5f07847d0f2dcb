// SPDX-License-Identifier: Apache-2.0
// The GEMM engines' fused epilogue (bias, then activation), shared by the f32 and bf16 kernel
// bodies: epilogue_ref() on a tile in memory (the scalar reference), and at avx2/avx512 the
// in-register versions epi8()/epi16() applied on the final store (elu and sigmoid run afterwards
// through activation_f32_inplace, act_is_heavy()). Included only by kernel files: everything is
// in the level's namespace, in an anonymous namespace (each file gets its own copy).
#pragma once
#include <cstdint>

#include "gemm/gemm.h"
#include "ops/op_codes.h"

#if AB_ISA_LEVEL >= 1
#include <immintrin.h>
#endif

#if AB_ISA_LEVEL > 2
// Levels above avx512 have no activation kernels of their own: they use the avx512 bodies.
namespace ab { namespace avx512 {
void activation_f32_inplace(float* x, int64_t n, int act, float alpha, const float* slope);
} }
namespace ab { namespace AB_ISA_NS { using ::ab::avx512::activation_f32_inplace; } }
#else
#include "kernels/activation.h"
#endif

namespace ab { namespace AB_ISA_NS {
namespace {
using ::ab::gemm::Epilogue;

#define AB_INLINE inline __attribute__((always_inline))

AB_INLINE float operand_at(const float* p, int mode, int64_t ld, int64_t m, int64_t n) {
  switch (mode) {
    case kOperandScalar: return p[0];
    case kOperandRow: return p[n];
    case kOperandMatrix: return p[m * ld + n];
    default: return 0.f;
  }
}

bool act_is_heavy(int act) { return act == kActElu || act == kActSigmoid; }

// Scalar epilogue on a tile in memory: the reference for the in-register versions.
void epilogue_ref(float* c, int64_t ldc, int64_t rows, int64_t cols, const Epilogue* ep, int64_t m0,
                  int64_t n0) {
  for (int64_t i = 0; i < rows; ++i) {
    float* row = c + i * ldc;
    const int64_t m = m0 + i;
    if (ep->bias_mode != kOperandNone)
      for (int64_t j = 0; j < cols; ++j) row[j] += operand_at(ep->bias, ep->bias_mode, ep->bias_ld, m, n0 + j);
    if (ep->addend)
      for (int64_t j = 0; j < cols; ++j) row[j] += ep->addend[m * ep->addend_ld + n0 + j];
    if (ep->act == kActPrelu) {
      switch (ep->slope_mode) {
        case kOperandScalar: activation_f32_inplace(row, cols, kActLeakyRelu, ep->slope[0], nullptr); break;
        case kOperandRow: activation_f32_inplace(row, cols, kActPrelu, 0.f, ep->slope + n0); break;
        case kOperandMatrix:
          activation_f32_inplace(row, cols, kActPrelu, 0.f, ep->slope + m * ep->slope_ld + n0);
          break;
        default: break;
      }
    } else if (ep->act != kActLinear) {
      activation_f32_inplace(row, cols, ep->act, ep->alpha, nullptr);
    }
  }
}

#if AB_ISA_LEVEL >= 2
AB_INLINE __m512 load_operand16(const float* p, int mode, int64_t ld, int64_t m, int64_t n, __mmask16 mk) {
  switch (mode) {
    case kOperandScalar: return _mm512_set1_ps(p[0]);
    case kOperandRow: return _mm512_maskz_loadu_ps(mk, p + n);
    default: return _mm512_maskz_loadu_ps(mk, p + m * ld + n);
  }
}

AB_INLINE __m512 epi16(__m512 x, const Epilogue* ep, int64_t m, int64_t n, __mmask16 mk) {
  if (ep->bias_mode != kOperandNone) x = _mm512_add_ps(x, load_operand16(ep->bias, ep->bias_mode, ep->bias_ld, m, n, mk));
  if (ep->addend) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk, ep->addend + m * ep->addend_ld + n));
  const __m512 zero = _mm512_setzero_ps();
  switch (ep->act) {
    // max(0, NaN) = NaN (second operand); + 0 turns -0 into +0 like Math.max(0, -0).
    case kActRelu: return _mm512_add_ps(_mm512_max_ps(zero, x), zero);
    case kActRelu6: return _mm512_min_ps(_mm512_set1_ps(6.f), _mm512_add_ps(_mm512_max_ps(zero, x), zero));
    case kActLeakyRelu:
      return _mm512_mask_mul_ps(x, _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), x, _mm512_set1_ps(ep->alpha));
    case kActPrelu:
      return _mm512_mask_mul_ps(x, _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), x,
                                load_operand16(ep->slope, ep->slope_mode, ep->slope_ld, m, n, mk));
    default: return x;
  }
}

// Tail masks: the first n lanes (n may be <= 0 or past the width).
AB_INLINE __mmask16 mask16(int n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : n <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << n) - 1u);
}
AB_INLINE __mmask8 mask8k(int n) {
  return n >= 8 ? static_cast<__mmask8>(0xFF) : n <= 0 ? static_cast<__mmask8>(0) : static_cast<__mmask8>((1u << n) - 1u);
}
AB_INLINE __m256 load_operand8m(const float* p, int mode, int64_t ld, int64_t m, int64_t n, __mmask8 mk) {
  switch (mode) {
    case kOperandScalar: return _mm256_set1_ps(p[0]);
    case kOperandRow: return _mm256_maskz_loadu_ps(mk, p + n);
    default: return _mm256_maskz_loadu_ps(mk, p + m * ld + n);
  }
}
// epi16's ymm twin (the same operations, so the same bits).
AB_INLINE __m256 epi8m(__m256 x, const Epilogue* ep, int64_t m, int64_t n, __mmask8 mk) {
  if (ep->bias_mode != kOperandNone) x = _mm256_add_ps(x, load_operand8m(ep->bias, ep->bias_mode, ep->bias_ld, m, n, mk));
  if (ep->addend) x = _mm256_add_ps(x, _mm256_maskz_loadu_ps(mk, ep->addend + m * ep->addend_ld + n));
  const __m256 zero = _mm256_setzero_ps();
  switch (ep->act) {
    case kActRelu: return _mm256_add_ps(_mm256_max_ps(zero, x), zero);
    case kActRelu6: return _mm256_min_ps(_mm256_set1_ps(6.f), _mm256_add_ps(_mm256_max_ps(zero, x), zero));
    case kActLeakyRelu:
      return _mm256_mask_mul_ps(x, _mm256_cmp_ps_mask(x, zero, _CMP_LT_OQ), x, _mm256_set1_ps(ep->alpha));
    case kActPrelu:
      return _mm256_mask_mul_ps(x, _mm256_cmp_ps_mask(x, zero, _CMP_LT_OQ), x,
                                load_operand8m(ep->slope, ep->slope_mode, ep->slope_ld, m, n, mk));
    default: return x;
  }
}
#elif AB_ISA_LEVEL == 1
AB_INLINE __m256i mask8(int rem) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
AB_INLINE __m256 load_operand8(const float* p, int mode, int64_t ld, int64_t m, int64_t n, __m256i mk) {
  switch (mode) {
    case kOperandScalar: return _mm256_set1_ps(p[0]);
    case kOperandRow: return _mm256_maskload_ps(p + n, mk);
    default: return _mm256_maskload_ps(p + m * ld + n, mk);
  }
}
AB_INLINE __m256 epi8(__m256 x, const Epilogue* ep, int64_t m, int64_t n, __m256i mk) {
  if (ep->bias_mode != kOperandNone) x = _mm256_add_ps(x, load_operand8(ep->bias, ep->bias_mode, ep->bias_ld, m, n, mk));
  if (ep->addend) x = _mm256_add_ps(x, _mm256_maskload_ps(ep->addend + m * ep->addend_ld + n, mk));
  const __m256 zero = _mm256_setzero_ps();
  switch (ep->act) {
    case kActRelu: return _mm256_add_ps(_mm256_max_ps(zero, x), zero);
    case kActRelu6: return _mm256_min_ps(_mm256_set1_ps(6.f), _mm256_add_ps(_mm256_max_ps(zero, x), zero));
    case kActLeakyRelu:
      return _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(ep->alpha)), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
    case kActPrelu:
      return _mm256_blendv_ps(
          x, _mm256_mul_ps(x, load_operand8(ep->slope, ep->slope_mode, ep->slope_ld, m, n, mk)),
          _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
    default: return x;
  }
}
#endif

}  // namespace
} }  // namespace ab::AB_ISA_NS

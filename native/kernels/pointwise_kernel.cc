// SPDX-License-Identifier: Apache-2.0
// Pointwise (1x1, stride 1) convolution bodies: y[m, :] = act(x[m, :] . B + bias) for a block of
// output positions, where x is the NHWC input itself (row-major [pixels][in_c], read in place: no
// A packing) and B the filter in the GEMM engine's packed-B layout with one K block (panels of 32
// columns, row k of a panel at + 32 k; gemm::PanelB). Register tiles cover up to 64 columns (two
// panels), sized to the columns left so a narrow out_c wastes little: avx512 zmm vectors plus one
// ymm for a half vector (24 = 16 + 8 columns costs 1.5 vectors, not 2), rows as many as fit 28
// accumulators; masked stores; the epilogue (bias, activation, prelu) from registers, elu and
// sigmoid on the stored rows. Per output the sum is the GEMM's (fma in k order from +0, one K
// block, then the epilogue): the same bits as the GEMM and direct paths. Levels without a body
// return 0 (the caller takes another path).
#include <cstdint>

#include "dispatch/dispatch.h"
#include "gemm/gemm.h"
#include "kernels/gemm_epilogue.h"
#include "ops/op_codes.h"

#if AB_ISA_LEVEL >= 1
#include <immintrin.h>
#endif

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace ab { namespace AB_ISA_NS {
using ::ab::gemm::Epilogue;

namespace {

#if AB_ISA_LEVEL >= 2

template <int R, int NZ, bool H, int ACT>
AB_INLINE void store_fast(const __m512 (&acc)[R][NZ > 0 ? NZ : 1], const __m256 (&acch)[R], bool hb,
                          const __m512 (&bz)[NZ > 0 ? NZ : 1], __m256 bzh, float* c, int64_t ldc,
                          const __mmask16 (&mk)[NZ > 0 ? NZ : 1], __mmask8 mh) {
  const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6.f);
  const __m256 zeroh = _mm256_setzero_ps(), sixh = _mm256_set1_ps(6.f);
#pragma GCC unroll 28
  for (int i = 0; i < R; ++i) {
    float* crow = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NZ; ++v) {
      __m512 x = acc[i][v];
      if (hb) x = _mm512_add_ps(x, bz[v]);
      if (ACT == kActRelu) x = _mm512_add_ps(_mm512_max_ps(zero, x), zero);
      if (ACT == kActRelu6) x = _mm512_min_ps(six, _mm512_add_ps(_mm512_max_ps(zero, x), zero));
      _mm512_mask_storeu_ps(crow + 16 * v, mk[v], x);
    }
    if (H) {
      __m256 x = acch[i];
      if (hb) x = _mm256_add_ps(x, bzh);
      if (ACT == kActRelu) x = _mm256_add_ps(_mm256_max_ps(zeroh, x), zeroh);
      if (ACT == kActRelu6) x = _mm256_min_ps(sixh, _mm256_add_ps(_mm256_max_ps(zeroh, x), zeroh));
      _mm256_mask_storeu_ps(crow + 16 * NZ, mh, x);
    }
  }
}

// R rows x (16 NZ + 8 H) columns starting at a multiple of 32: zmm vector v reads panel v / 2 at
// column 16 (v % 2); the ymm one is vector NZ's first half. nvalid: columns to store (the tail is
// masked; B's padding lanes are zeros, so the unstored lanes compute zeros).
template <int R, int NZ, bool H>
__attribute__((noinline)) void tile512(const float* __restrict a, int64_t lda, int64_t K, const float* __restrict b,
                                       float* c, int64_t ldc, int nvalid, const Epilogue* ep, int64_t m0, int64_t n0) {
  __m512 acc[R][NZ > 0 ? NZ : 1];
  __m256 acch[R];
#pragma GCC unroll 28
  for (int i = 0; i < R; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < NZ; ++v) acc[i][v] = _mm512_setzero_ps();
    if (H) acch[i] = _mm256_setzero_ps();
  }
  const int64_t ps = 32 * K;  // panel stride
  const float* bz[4];
#pragma GCC unroll 4
  for (int v = 0; v < 4; ++v) bz[v] = b + (v >> 1) * ps + (v & 1) * 16;
  const float* bh = b + (NZ >> 1) * ps + (NZ & 1) * 16;
  // Row i of A at ap[i / 4] + (i % 4) lda: four base pointers stepped per k and three offsets (14
  // row pointers kept separately do not fit the general registers: they were spilled and reloaded).
  const float* ap[4] = {a, a + 4 * lda, a + 8 * lda, a + 12 * lda};
  int64_t off[4] = {0, lda, 2 * lda, 3 * lda};
  __asm__("" : "+r"(off[1]), "+r"(off[2]), "+r"(off[3]));  // kept as offsets, not folded into pointers
  for (int64_t k = 0; k < K; ++k) {
    __m512 bv[NZ > 0 ? NZ : 1];
#pragma GCC unroll 4
    for (int v = 0; v < NZ; ++v) bv[v] = _mm512_load_ps(bz[v] + 32 * k);
    __m256 bvh;
    if (H) bvh = _mm256_load_ps(bh + 32 * k);
#pragma GCC unroll 28
    for (int i = 0; i < R; ++i) {
      const float ai = ap[i >> 2][off[i & 3] + k];
      if (NZ > 0) {
        const __m512 av = _mm512_set1_ps(ai);
#pragma GCC unroll 4
        for (int v = 0; v < NZ; ++v) acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
      }
      if (H) acch[i] = _mm256_fmadd_ps(_mm256_set1_ps(ai), bvh, acch[i]);
    }
  }
  __mmask16 mk[NZ > 0 ? NZ : 1];
#pragma GCC unroll 4
  for (int v = 0; v < NZ; ++v) mk[v] = mask16(nvalid - 16 * v);
  const __mmask8 mh = mask8k(nvalid - 16 * NZ);
  // The common epilogues (no bias or one per column or a scalar; linear, relu, relu6, or the heavy
  // ones applied after the store; no residual addend) with the bias vectors loaded once per tile and the activation
  // chosen once: the same operations as epi16 / epi8m, so the same bits.
  const int bmode = ep ? ep->bias_mode : kOperandNone, act = ep ? ep->act : kActLinear;
  if (bmode != kOperandMatrix && act != kActLeakyRelu && act != kActPrelu && !(ep && ep->addend)) {
    const bool hb = bmode != kOperandNone;
    __m512 bz[NZ > 0 ? NZ : 1];
    __m256 bzh = _mm256_setzero_ps();
#pragma GCC unroll 4
    for (int v = 0; v < NZ; ++v) bz[v] = hb ? load_operand16(ep->bias, bmode, 0, 0, n0 + 16 * v, mk[v]) : _mm512_setzero_ps();
    if (H && hb) bzh = load_operand8m(ep->bias, bmode, 0, 0, n0 + 16 * NZ, mh);
    if (act == kActRelu6) store_fast<R, NZ, H, kActRelu6>(acc, acch, hb, bz, bzh, c, ldc, mk, mh);
    else if (act == kActRelu) store_fast<R, NZ, H, kActRelu>(acc, acch, hb, bz, bzh, c, ldc, mk, mh);
    else store_fast<R, NZ, H, kActLinear>(acc, acch, hb, bz, bzh, c, ldc, mk, mh);
    if (act_is_heavy(act))
      for (int i = 0; i < R; ++i) activation_f32_inplace(c + i * ldc, nvalid, act, ep->alpha, nullptr);
    return;
  }
#pragma GCC unroll 28
  for (int i = 0; i < R; ++i) {
    float* crow = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NZ; ++v) {
      __m512 x = acc[i][v];
      if (ep) x = epi16(x, ep, m0 + i, n0 + 16 * v, mk[v]);
      _mm512_mask_storeu_ps(crow + 16 * v, mk[v], x);
    }
    if (H) {
      __m256 x = acch[i];
      if (ep) x = epi8m(x, ep, m0 + i, n0 + 16 * NZ, mh);
      _mm256_mask_storeu_ps(crow + 16 * NZ, mh, x);
    }
  }
  if (ep && act_is_heavy(ep->act))
    for (int i = 0; i < R; ++i) activation_f32_inplace(c + i * ldc, nvalid, ep->act, ep->alpha, nullptr);
}

using TileFn = void (*)(const float*, int64_t, int64_t, const float*, float*, int64_t, int, const Epilogue*, int64_t,
                        int64_t);
struct Cfg {
  int rows;           // rows of the full tile
  TileFn fn[14];      // by rows - 1
};
#define AB_PW_T(NZ, H)                                                                                        \
  {&tile512<1, NZ, H>, &tile512<2, NZ, H>, &tile512<3, NZ, H>, &tile512<4, NZ, H>, &tile512<5, NZ, H>,        \
   &tile512<6, NZ, H>, &tile512<7, NZ, H>, &tile512<8, NZ, H>, &tile512<9, NZ, H>, &tile512<10, NZ, H>,       \
   &tile512<11, NZ, H>, &tile512<12, NZ, H>, &tile512<13, NZ, H>, &tile512<14, NZ, H>}
// By width class w = ceil(cols / 8) (1..8): 8 .. 64 columns.
const Cfg kCfg[8] = {
    {14, AB_PW_T(0, true)},  // 8
    {14, AB_PW_T(1, false)}, // 16
    {14, AB_PW_T(1, true)},  // 24: 14 zmm + 14 ymm
    {14, AB_PW_T(2, false)}, // 32
    {9, AB_PW_T(2, true)},   // 40: 18 + 9
    {9, AB_PW_T(3, false)},  // 48: 27
    {7, AB_PW_T(3, true)},   // 56: 21 + 7
    {7, AB_PW_T(4, false)},  // 64: 28
};
#undef AB_PW_T
#endif  // AB_ISA_LEVEL >= 2

#if AB_ISA_LEVEL == 1
template <int R, int NV, int ACT>
AB_INLINE void store_fast256(const __m256 (&acc)[R][NV], bool hb, const __m256 (&bz)[NV], float* c, int64_t ldc,
                             int nvalid, const __m256i (&mk)[NV]) {
  const __m256 zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6.f);
#pragma GCC unroll 12
  for (int i = 0; i < R; ++i) {
    float* crow = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      __m256 x = acc[i][v];
      if (hb) x = _mm256_add_ps(x, bz[v]);
      if (ACT == kActRelu) x = _mm256_add_ps(_mm256_max_ps(zero, x), zero);
      if (ACT == kActRelu6) x = _mm256_min_ps(six, _mm256_add_ps(_mm256_max_ps(zero, x), zero));
      if (nvalid >= 8 * (v + 1)) _mm256_storeu_ps(crow + 8 * v, x);
      else _mm256_maskstore_ps(crow + 8 * v, mk[v], x);
    }
  }
}

// avx2 (panels of 16 columns): R rows x 8 NV columns (NV <= 4, vector v at panel v / 2, column
// 8 (v % 2)), up to 12 accumulators of the 16 ymm registers.
template <int R, int NV>
__attribute__((noinline)) void tile256(const float* __restrict a, int64_t lda, int64_t K, const float* __restrict b,
                                       float* c, int64_t ldc, int nvalid, const Epilogue* ep, int64_t m0, int64_t n0) {
  __m256 acc[R][NV];
#pragma GCC unroll 12
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();
  const int64_t ps = 16 * K;
  const float* bz[4];
#pragma GCC unroll 4
  for (int v = 0; v < 4; ++v) bz[v] = b + (v >> 1) * ps + (v & 1) * 8;
  const float* ap[3] = {a, a + 4 * lda, a + 8 * lda};  // rows as in tile512
  int64_t off[4] = {0, lda, 2 * lda, 3 * lda};
  __asm__("" : "+r"(off[1]), "+r"(off[2]), "+r"(off[3]));
  for (int64_t k = 0; k < K; ++k) {
    __m256 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_load_ps(bz[v] + 16 * k);
#pragma GCC unroll 12
    for (int i = 0; i < R; ++i) {
      const __m256 av = _mm256_broadcast_ss(ap[i >> 2] + off[i & 3] + k);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
    }
  }
  __m256i mk[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) mk[v] = mask8(nvalid - 8 * v);
  // The common epilogues with the bias loaded once per tile (as the avx512 tile; epi8's operations).
  const int bmode = ep ? ep->bias_mode : kOperandNone, act = ep ? ep->act : kActLinear;
  if (bmode != kOperandMatrix && act != kActLeakyRelu && act != kActPrelu && !(ep && ep->addend)) {
    const bool hb = bmode != kOperandNone;
    __m256 bz[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bz[v] = hb ? load_operand8(ep->bias, bmode, 0, 0, n0 + 8 * v, mk[v]) : _mm256_setzero_ps();
    if (act == kActRelu6) store_fast256<R, NV, kActRelu6>(acc, hb, bz, c, ldc, nvalid, mk);
    else if (act == kActRelu) store_fast256<R, NV, kActRelu>(acc, hb, bz, c, ldc, nvalid, mk);
    else store_fast256<R, NV, kActLinear>(acc, hb, bz, c, ldc, nvalid, mk);
    if (act_is_heavy(act))
      for (int i = 0; i < R; ++i) activation_f32_inplace(c + i * ldc, nvalid, act, ep->alpha, nullptr);
    return;
  }
#pragma GCC unroll 12
  for (int i = 0; i < R; ++i) {
    float* crow = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      __m256 x = acc[i][v];
      if (ep) x = epi8(x, ep, m0 + i, n0 + 8 * v, mk[v]);
      if (nvalid >= 8 * (v + 1)) _mm256_storeu_ps(crow + 8 * v, x);
      else _mm256_maskstore_ps(crow + 8 * v, mk[v], x);
    }
  }
  if (ep && act_is_heavy(ep->act))
    for (int i = 0; i < R; ++i) activation_f32_inplace(c + i * ldc, nvalid, ep->act, ep->alpha, nullptr);
}
using TileFn = void (*)(const float*, int64_t, int64_t, const float*, float*, int64_t, int, const Epilogue*, int64_t,
                        int64_t);
struct Cfg {
  int rows;
  TileFn fn[12];
};
#define AB_PW_T(NV)                                                                                             \
  {&tile256<1, NV>, &tile256<2, NV>, &tile256<3, NV>, &tile256<4, NV>, &tile256<5, NV>, &tile256<6, NV>,         \
   &tile256<7, NV>, &tile256<8, NV>, &tile256<9, NV>, &tile256<10, NV>, &tile256<11, NV>, &tile256<12, NV>}
// By width class w = ceil(cols / 8) (1..4): 8 .. 32 columns (two panels).
const Cfg kCfg[4] = {
    {12, AB_PW_T(1)},
    {6, AB_PW_T(2)},
    {4, AB_PW_T(3)},
    {3, AB_PW_T(4)},
};
#undef AB_PW_T
#endif  // AB_ISA_LEVEL == 1

}  // namespace

// y[i * ldc + j] = act(sum_k x[i * lda + k] * B[k][j] + bias) for rows i < rows, columns j < N; B
// in the packed-B layout (panels of NR = 32 (avx512) or 16 (avx2) columns, one K block: panel q at
// b + NR q K; the caller checks NR). m0: the global
// row of x's first row (matrix-mode epilogue operands). Returns 0 where this level has no body (rows = 0:
// a probe that touches nothing).
int conv1x1_rows_f32(const float* x, int64_t lda, int64_t K, int64_t rows, const float* b, int64_t N, float* y,
                     int64_t ldc, const Epilogue* ep, int64_t m0) {
#if AB_ISA_LEVEL >= 1
  if (rows <= 0) return 1;  // also the caller's probe for a body
#if AB_ISA_LEVEL >= 2
  constexpr int64_t kMaxW = 64;
#else
  constexpr int64_t kMaxW = 32;
#endif
  for (int64_t j0 = 0; j0 < N; j0 += kMaxW) {
    const int64_t cols = N - j0 < kMaxW ? N - j0 : kMaxW;
    const Cfg& cf = kCfg[(cols + 7) / 8 - 1];
    const float* bj = b + j0 * K;
    for (int64_t i = 0; i < rows; i += cf.rows) {
      const int r = static_cast<int>(rows - i < cf.rows ? rows - i : cf.rows);
      cf.fn[r - 1](x + i * lda, lda, K, bj, y + i * ldc + j0, ldc, static_cast<int>(cols), ep, m0 + i, j0);
    }
  }
  return 1;
#else
  (void)x, (void)lda, (void)K, (void)rows, (void)b, (void)N, (void)y, (void)ldc, (void)ep, (void)m0;
  return 0;
#endif
}

} }  // namespace ab::AB_ISA_NS

// SPDX-License-Identifier: Apache-2.0
// ab::gemm bf16 — GEMM with bf16 weights (packed once) and f32 accumulation.
//
//   C = act(A * B + bias)      A: f32, M x K (or K x M if trans_a); B: bf16, packed (below)
//
// Arithmetic (the same bits at every ISA level up to avx512_bf16, at any thread count; amx below):
//   * B and A are rounded to bf16 as VCVTNEPS2BF16 does: round to nearest even, f32 denormals
//     become zeros of the same sign, NaN stays NaN (made quiet), Inf stays Inf, values past the
//     largest bf16 round to Inf. B once, when packed; A when its panels are packed.
//   * K is taken in pairs (K odd: a zero pair element is appended). For each output, K is cut into
//     blocks that depend only on K (kBf16KcPairs pairs at most); within a block, starting at +0:
//        for each pair (k0 = 2p, k1 = 2p + 1):
//          acc = ftz(fma(a[k1], b[k1], acc));  acc = ftz(fma(a[k0], b[k0], acc))
//     exactly VDPBF16PS (odd element first, each step one f32 rounding, RNE; results below the
//     smallest normal flushed to zero with their sign; denormal inputs read as zero, which packed
//     operands never hold). The block sums are added in order in ordinary f32 (C = s1 + s2 ...),
//     then the epilogue (gemm.h's Epilogue, the f32 engine's own code) is applied.
//   * avx512_bf16: vdpbf16ps. avx512 / avx2: the same steps as f32 FMAs under MXCSR FTZ+DAZ
//     (x86 flushes after rounding, like the instruction). scalar: exact products and sums in
//     double, flushed at the f32 threshold, rounded once to f32. The epilogue's elu and sigmoid
//     are the per-level f32 activation kernels (as in the f32 engine).
//   * amx (TDPBF16PS tiles): the same operand rounding, but the instruction's own summation
//     (Intel SDM): per instruction, 16 pairs of a K block (steps from the block's start), the even
//     and the odd elements each in an f32 FMA chain from +0 (RNE, FTZ/DAZ), those two added, then
//     added to the accumulator, which starts at +0 and carries over the K blocks (C is loaded into
//     the tiles, not added afterwards). So amx results differ from the other levels in the last
//     bits (measured on a Sapphire Rapids-class Xeon: 71% of outputs, by up to a few thousand ulp
//     where sums cancel); they equal a model of the SDM pseudo-code bit for bit, and are the
//     same at any thread count, and a row's values do not depend on M or on the rows beside it,
//     for calls of more than 4 rows: calls of at most 4 (GEMV-like; AFTERBURNER_AMX_MIN_ROWS)
//     run the avx512_bf16 kernel and give its bits. The error bound below holds with the chain
//     depth K/2 + 18 + nb.
//   * avx512_bf16 on a core whose vdpbf16ps is not clearly faster than f32 FMA (bf16_dot_policy
//     below): calls of more than MR rows run the avx512 emulation instead: the same bits.
//   * Error vs the exact product of the bf16-rounded operands: f32 accumulation only,
//     |err| <= ~(K/2 + nb) * 2^-24 * sum |a||b| per output; vs the f32 product of the unrounded
//     operands add bf16's rounding (8-bit significand): each operand is off by <= 2^-8 relative,
//     each product by <= 2^-7 + 2^-16, so |err| <= (2^-7 + 2^-16) * sum |a||b| + the above.
//
// Packed B (bf16 words in 32-bit pairs, the VNNI-style layout vdpbf16ps reads):
//   K2 = ceil(K / 2) pairs; N cut into panels of kBf16PanelN = 32 columns (the last zero-padded).
//   Word (q * K2 + p) * 32 + j, for panel q, pair p, column j < 32, holds
//     bf16(B[2p][32q + j]) | bf16(B[2p + 1][32q + j]) << 16      (zero past K or N).
//   So a K block [p0, p1) of panel q is contiguous: 128 bytes per pair.
#pragma once
#include <cstddef>
#include <cstdint>

#include "gemm/gemm.h"

namespace ab::gemm {

constexpr int kBf16PanelN = 32;
// Largest K block, in pairs. Part of the arithmetic (it fixes the summation order), so the same
// at every level.
constexpr int kBf16KcPairs = 256;

// 32-bit words of the packed form of a K x N matrix.
inline int64_t bf16_packed_words(int64_t K, int64_t N) {
  return (N + kBf16PanelN - 1) / kBf16PanelN * ((K + 1) / 2) * kBf16PanelN;
}

// Packs B (K x N, ldb >= N; or if trans_b, stored N x K, ldb >= K) into dst
// (bf16_packed_words(K, N) words, any alignment; 64-byte aligned is faster). Threaded.
void bf16_pack_b(bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb, uint32_t* dst);

// C (M x N, ldc >= N) = act(op(A) * unpack(Bp) + bias). A: M x K (lda >= K) or K x M if trans_a
// (lda >= M). Bp: packed by bf16_pack_b for this K and N. Same contract as sgemm otherwise (C
// write-only, must not overlap the inputs; ep may be null; thread_local scratch; throws
// std::bad_alloc). Bitwise identical at any thread count, and at every ISA level but amx.
void gemm_bf16(bool trans_a, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
               const uint32_t* Bp, float* C, int64_t ldc, const Epilogue* ep);

// While alive, the kernel choice of gemm_bf16 / gemm_bf16_gen_a calls on this thread takes M to
// be at least `rows` (at amx, calls of few rows run the avx512_bf16 kernel): an in-place conv's
// row blocks then run the kernel of their whole convolution, with its bits.
struct Bf16RowsHint {
  explicit Bf16RowsHint(int64_t rows);
  ~Bf16RowsHint();
  Bf16RowsHint(const Bf16RowsHint&) = delete;
  Bf16RowsHint& operator=(const Bf16RowsHint&) = delete;

 private:
  int64_t prev_;
};

// A generated on the fly (implicit im2col): gen(ctx, m0, r, k0, kc, dst) writes A[m0 + i][k0 + k]
// to dst[i * kc + k] for i < r, k < kc (f32; called from the worker threads at once, for blocks of
// at most the kernel's MC rows and 2 * kBf16KcPairs columns). Otherwise as gemm_bf16 with that A,
// not transposed: the same bits.
using Bf16AGenFn = void (*)(const void* ctx, int64_t m0, int64_t r, int64_t k0, int64_t kc, float* dst);
void gemm_bf16_gen_a(Bf16AGenFn gen, const void* ctx, int64_t M, int64_t N, int64_t K, const uint32_t* Bp, float* C,
                     int64_t ldc, const Epilogue* ep);

// The K block (in pairs) gemm_bf16 uses for K2 = ceil(K / 2) pairs: the same at every level (it
// depends on K and AFTERBURNER_BF16_BLOCKS's kc only). For kernels that reproduce its arithmetic
// (the direct bf16 convolution).
int64_t bf16_k_block_pairs(int64_t K2);

// The kernel the current level uses (kc is kBf16KcPairs * 2, nc the panel width).
KernelInfo bf16_kernel_info();

// The dispatch policy at avx512_bf16 (gemm_bf16.cc): where vdpbf16ps is no faster than f32 FMA,
// calls of more rows than the kernel's MR run the avx512 emulation instead (the same bits).
// speedup: the measured vdpbf16ps / FMA flop rate (-1 when AFTERBURNER_BF16_EMULATE decided).
// Decided at the first call (this measures, ~1 ms).
struct Bf16DotPolicy {
  double speedup;
  bool emulate;
  const char* why;
};
Bf16DotPolicy bf16_dot_policy();

}  // namespace ab::gemm

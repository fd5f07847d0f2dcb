// SPDX-License-Identifier: Apache-2.0
// ab::gemm quant — weight-only quantized GEMM: int8 or int4 weights (quantized once, per group
// along K, symmetric, f32 scales), f32 activations, f32 accumulation.
//
//   C = act(A * dequant(B) + bias)     A: f32, M x K (or K x M if trans_a); B: packed (below)
//
// Quantization (quant_pack_b, from f32 weights; every value must be finite: the caller checks):
//   K is cut into G = ceil(K / g) groups of g rows (g = 32, 64 or 128); the last group holds the
//   K - (G - 1) g rows that are left (its missing rows are padding, never read). For each column n
//   and group, over the group's real rows only (w = B[k][n] as double):
//     int8: amax = max |w|;  d = f32(amax / 127);  q = clamp(rne(w / d), -127, 127)
//     int4: mx = the first w (in k order) with the largest |w|;  d = f32(mx / -8);
//           q = clamp(rne(w / d), -8, 7)    (llama.cpp Q4_0's choice: mx itself becomes -8
//           exactly, so all 16 codes are used; d may be negative)
//   w / d is one double division, rne() rounds half to even, f32() rounds the double to float once
//   (RNE). A group whose amax is 0, or whose d rounds to 0 (|w| below ~127 * 2^-150 resp.
//   ~8 * 2^-150), gets d = +0 and codes 0. The dequantized weight is q * d.
//
// Packed B (the same at every ISA level; bytes, 64-byte aligned where the buffer is):
//   N is cut into panels of kQuantPanelN = 32 columns (the last one zero-padded). Panel q is
//   G blocks of quant_block_bytes(bits, g) bytes, block gi of it at (q * G + gi) * block bytes:
//     rows: g rows of R bytes (R = 32 for int8, 16 for int4), row r = k - gi * g:
//       int8: byte j = q(k, 32q + j) as int8
//       int4: byte j = (q(k, 32q + j) + 8) | (q(k, 32q + 16 + j) + 8) << 4   (offset binary)
//     then 32 f32 scales, scale j = d(gi, 32q + j).
//   Padding (rows past K, columns past N) holds code 0 and scale +0.
//
// Arithmetic (the same bits at every ISA level, at any thread count and on every path, so a row's
// result does not depend on M): for each output (m, n), starting at acc = +0,
//     for each group gi in order:  s = +0;  for each real k of the group in order:
//                                     s = fma(a[m][k], q(k, n), s)
//                                  acc = fma(s, d(gi, n), acc)
//   (single-rounding f32 FMAs: vfmadd at avx2/avx512, fmaf at scalar), then the epilogue of
//   gemm.h (bias, then activation; elu and sigmoid are the per-level f32 activation kernels).
//   Error vs the exact product with the dequantized weights: |err| <= gamma_{g + G} * sum |a q d|.
#pragma once
#include <cstddef>
#include <cstdint>

#include "gemm/gemm.h"

namespace ab::gemm {

constexpr int kQuantPanelN = 32;

inline bool quant_group_ok(int64_t g) { return g == 32 || g == 64 || g == 128; }
// Bytes per row of codes in a panel.
inline int64_t quant_row_bytes(int bits) { return bits == 8 ? 32 : 16; }
inline int64_t quant_block_bytes(int bits, int64_t group) {
  return group * quant_row_bytes(bits) + kQuantPanelN * 4;
}
inline int64_t quant_groups(int64_t K, int64_t group) { return (K + group - 1) / group; }
inline int64_t quant_panel_bytes(int bits, int64_t group, int64_t K) {
  return quant_groups(K, group) * quant_block_bytes(bits, group);
}
inline int64_t quant_packed_bytes(int bits, int64_t group, int64_t K, int64_t N) {
  return (N + kQuantPanelN - 1) / kQuantPanelN * quant_panel_bytes(bits, group, K);
}

// A packed quantized K x N matrix (bits 8 or 4, group 32/64/128, K, N >= 1).
struct QuantB {
  int bits;
  int64_t group, K, N;
  const uint8_t* data;
};

// Index of the first non-finite value of B (K x N, ldb >= N; or N x K if trans_b, ldb >= K) in
// storage order (row * ldb + col), or -1 when all are finite.
int64_t quant_first_nonfinite(bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb);

// Quantizes B (all finite) into dst (quant_packed_bytes bytes). Threaded.
void quant_pack_b(int bits, int64_t group, bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb,
                  uint8_t* dst);

// The codes (K x N row-major int8, -127..127 or -8..7) and scales (G x N row-major) of a packed B.
void quant_unpack(const QuantB& b, int8_t* codes, float* scales);

// C (M x N, ldc >= N) = act(op(A) * dequant(B) + bias). A: M x K (lda >= K) or K x M if trans_a
// (lda >= M). C write-only, must not overlap the inputs; ep may be null; throws std::bad_alloc.
// Bitwise identical at any thread count and at every ISA level.
void gemm_quant(bool trans_a, int64_t M, const float* A, int64_t lda, const QuantB& B, float* C, int64_t ldc,
                const Epilogue* ep);

// The kernel the current level uses: mr rows per tile, nr = 32, kc = K rows per dequantized chunk
// (the blocked path), mc = the largest M run straight from the codes.
KernelInfo quant_kernel_info();

// Internal: the per-level kernels' problem and parameters (bodies in kernels/gemm_quant_kernel.cc).
struct QuantProb {
  int bits;
  int64_t group, K, N, G, M;
  const float* A;  // row-major, M x K
  int64_t lda;
  const uint8_t* B;
  int64_t block_bytes, panel_bytes;
  float* C;
  int64_t ldc;
  const Epilogue* ep;  // resolved (never null)
  int direct;          // 1: tiles read the codes directly (small M); 0: chunks dequantized once
};
struct QuantParams {
  int mr;          // rows per register tile
  int direct_max;  // M up to this: tiles read the codes directly; above: per chunk, dequantized once
  int chunk_k;     // K rows per dequantized chunk (a multiple of every group size)
  const char* name;
};

}  // namespace ab::gemm

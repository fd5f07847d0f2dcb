// SPDX-License-Identifier: Apache-2.0
// ab::gemm — the f32 GEMM engine (ISA-dispatched, threaded, with a fused epilogue).
//
//   C = act(op(A) * op(B) + bias)        op(X) = X or X^T,  all matrices row-major
//
// Shapes: op(A) is M x K, op(B) is K x N, C is M x N.
//   A is stored M x K (lda >= K) or, if trans_a, K x M (lda >= M).
//   B is stored K x N (ldb >= N) or, if trans_b, N x K (ldb >= K).
//   C is stored M x N (ldc >= N).
// Strides are in elements. When a dimension is 1 the matching stride is never used to step,
// so any value >= 1 is accepted there.
//
// Contract
//   * Sizes are >= 0. M == 0 or N == 0: nothing is written. K == 0: C = epilogue(0).
//   * C is write-only: its previous contents are never read (NaN garbage in C is harmless).
//   * C must not overlap A, B, bias or slope. A, B, bias and slope may overlap each other.
//   * IEEE semantics are kept: no term is skipped because an operand is zero, so a NaN/Inf in
//     A or B reaches every output it contributes to (NaN * 0 = NaN). No fast-math reordering
//     across calls: results depend only on the ISA level and the shapes, never on the thread
//     count (work is split on tile boundaries; each output's K-sum order is fixed), so a call is
//     bitwise reproducible at 1..n threads on the same level.
//   * Threading: the call uses up to ab::get_num_threads() threads of the process pool and
//     returns when done. Calls made from inside a parallel region run on the calling thread.
//     It is safe to call from several threads at once (scratch buffers are thread_local; the
//     pool serializes parallel regions).
//   * Scratch: packing buffers are thread_local, 64-byte aligned, grown on demand and reused,
//     so repeated calls of a given size do not allocate.
//   * Accuracy: f32 FMA accumulation in K order within K-blocks (blocks of a few hundred),
//     blocks added in order. |error| <= ~K * 2^-24 * sum_k |a_ik||b_kj| (usually far less).
#pragma once
#include <cstdint>

namespace ab::gemm {

// The fused epilogue, applied to the finished sum s = (op(A) op(B))[m][n]:
//   y = s + bias(m, n);  C[m][n] = act(y)
// bias_mode / slope_mode are ab::EpilogueOperand codes (ops/op_codes.h):
//   kOperandNone   : no operand (pointer ignored)
//   kOperandScalar : operand[0]
//   kOperandRow    : operand[n]            (N values, one per output column)
//   kOperandMatrix : operand[m * ld + n]   (ld = bias_ld / slope_ld, 0 means N; same for every
//                                           batch of a batched call)
// act is an ab::Activation code: linear, relu, relu6, elu, leakyrelu (uses alpha),
// prelu (y < 0 ? slope(m, n) * y : y; slope_mode must not be None), sigmoid.
struct Epilogue {
  const float* bias = nullptr;
  int bias_mode = 0;
  int64_t bias_ld = 0;
  int act = 0;
  float alpha = 0.f;
  const float* slope = nullptr;
  int slope_mode = 0;
  int64_t slope_ld = 0;
};

// True if ep is null or does nothing (no bias, linear activation).
bool epilogue_is_identity(const Epilogue* ep);

// Single GEMM. ep may be null.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
           const float* B, int64_t ldb, float* C, int64_t ldc, const Epilogue* ep);

// Batched GEMM: for i in [0, batch):
//   A_i = A + (a_idx ? a_idx[i] : i) * stride_a      (stride_a = 0 broadcasts one A)
//   B_i = B + (b_idx ? b_idx[i] : i) * stride_b
//   C_i = C + i * stride_c
//   C_i = act(op(A_i) op(B_i) + bias)
// Indices are trusted (validate them before calling). Output batches must not overlap each other.
// Many small problems run in parallel over the batch (each problem on one thread); large ones
// run one after another, each using all threads. Same reproducibility guarantee as sgemm.
void sgemm_batched(bool trans_a, bool trans_b, int64_t batch, int64_t M, int64_t N, int64_t K,
                   const float* A, int64_t lda, int64_t stride_a, const int32_t* a_idx,
                   const float* B, int64_t ldb, int64_t stride_b, const int32_t* b_idx,
                   float* C, int64_t ldc, int64_t stride_c, const Epilogue* ep);

// Blocking parameters of the kernel the current ISA level uses.
struct KernelInfo {
  int level;       // ab::Isa of the slot in use
  int mr, nr;      // register tile (rows x columns of C)
  int kc, mc, nc;  // cache blocks: K per packed panel, rows of A per L2 block, columns per L3 block
  const char* name;
};
KernelInfo kernel_info();

}  // namespace ab::gemm

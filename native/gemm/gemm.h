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
#include <cstddef>
#include <cstdint>

namespace ab::gemm {

// The fused epilogue, applied to the finished sum s = (op(A) op(B))[m][n]:
//   y = s + bias(m, n);  y = y + addend[m * addend_ld + n] (if addend);  C[m][n] = act(y)
// (each step rounded to f32: the same bits as a separate bias add, residual add and activation).
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
  // A residual operand (M x N, row stride addend_ld, 0 meaning N), or null. It may be C itself
  // (addend == C, addend_ld == ldc: the sum written in place over the residual): the drivers keep
  // that correct (copying the addend first where a path writes C before its epilogue reads it).
  const float* addend = nullptr;
  int64_t addend_ld = 0;
};

// True if ep is null or does nothing (no bias, linear activation).
bool epilogue_is_identity(const Epilogue* ep);

// ---- Prepacked B (a weight used again: dense kernel, conv filter)
// op(B) (K x N) packed once into the blocked layout the blocked path wants at the ISA level in use
// when it was packed: for each K block (the K blocking depends on K only), ceil(N / NR) panels of
// kc x NR floats, zero-padded. A call given a PackedB that does not fit it (another level, K or N)
// packs B per call as usual, so the raw B must always be passed as well; results are bitwise the
// same with and without it (same panels, same kernel order). Only the blocked path uses it (the
// GEMV path, M == 1 or N == 1, streams the raw B).
struct PackedB;
// Throws std::bad_alloc. Use up to get_num_threads() threads.
PackedB* pack_b(bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb);
void free_packed_b(PackedB* pb);
size_t packed_b_bytes(const PackedB* pb);
int64_t packed_b_k(const PackedB* pb);
int64_t packed_b_n(const PackedB* pb);

// ---- Generated A (implicit im2col)
// Packs one A panel: pack_rows(rows, r, len, dst) writes dst[k * mr + i] = rows[i][k] for k < len,
// i < r (rows[i] == nullptr reads zeros; lanes r..mr-1 are zero-filled).
using PackRowsFn = void (*)(const float* const* rows, int r, int64_t len, float* dst);
// An A operand that is never materialised: pack_panel(ctx, m0, r, k0, kc, dst, mr, pack_rows) must
// write rows [m0, m0 + r) x columns [k0, k0 + kc) of A as one packed panel (dst[k * mr + i],
// k < kc, i < mr, zero lanes past r), normally by calling pack_rows on runs of columns with
// dst + (k - k0) * mr. r <= mr <= 16. Called from worker threads (must be thread-safe).
struct AGen {
  void (*pack_panel)(const void* ctx, int64_t m0, int r, int64_t k0, int64_t kc, float* dst, int mr,
                     PackRowsFn pack_rows);
  const void* ctx;
};

// ---- Register tiles on row-major A (for drivers that walk A themselves, e.g. direct convolution)
// One term of a batch-reduce tile: A rows lda apart (a[i * lda + k], k < len) times rows
// [k0, k0 + len) of B, which lie in one K block of the PackedB layout: the panel of column j0
// starts at bdata + boff + j0 * kcur (PanelB::seg builds it).
struct TileSeg {
  const float* a;
  int64_t len, boff, kcur;
};
// B (K x N) in the PackedB layout of the current level: the given PackedB when it fits, else
// packed now into this thread's scratch (valid until the next panel_b call on this thread).
struct PanelB {
  const float* data;
  int64_t K, N, npad, kc_block;
  int mr, nr;
  // Whether tile() / tile_wide() write each C element once, at the end (register tiles: avx2 and
  // up); the scalar level accumulates the terms in C, so an epilogue addend that is C needs a copy.
  bool stores_once;
  // C[0:r, 0:nr] = act(sum over segs of A_s * B_s + bias), one store; r <= mr, nr <= this->nr.
  // No segs: C = epilogue(0). ep: resolved (see resolve_epilogue) or null.
  void (*tile)(const TileSeg* segs, int nseg, int64_t lda, const float* bdata, int64_t j0, int r, int nr, float* c,
               int64_t ldc, const Epilogue* ep, int64_t m0);
  // The same on 2 * nr columns (two full panels, j0 and j0 + nr).
  void (*tile_wide)(const TileSeg* segs, int nseg, int64_t lda, const float* bdata, int64_t j0, int r, float* c,
                    int64_t ldc, const Epilogue* ep, int64_t m0);
  // The term for A rows `a` (already at column k) and B rows [k, k + len) (inside one K block).
  TileSeg seg(const float* a, int64_t k, int64_t len) const {
    const int64_t pc = k / kc_block * kc_block, kcur = K - pc < kc_block ? K - pc : kc_block;
    return TileSeg{a, len, pc * npad + (k - pc) * nr, kcur};
  }
  int64_t block_end(int64_t k) const {
    const int64_t e = (k / kc_block + 1) * kc_block;
    return e < K ? e : K;
  }
};
PanelB panel_b(int64_t K, int64_t N, const float* B, int64_t ldb, const PackedB* packed);
// ep with default strides filled in, or null when it does nothing (store is the storage).
const Epilogue* resolve_epilogue(const Epilogue* ep, int64_t N, Epilogue* store);

// Whether ep's addend (rows ld apart) shares memory with the M x N output C (rows ldc apart).
bool addend_overlaps(const Epilogue* ep, int64_t M, int64_t N, const float* C, int64_t ldc);
// A copy of ep whose addend is a contiguous (ld = N) copy of ep's addend, written to buf (M * N floats).
Epilogue with_addend_copy(const Epilogue& ep, int64_t M, int64_t N, float* buf);

// Single GEMM. ep may be null. packed_b (optional) as above.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
           const float* B, int64_t ldb, float* C, int64_t ldc, const Epilogue* ep,
           const PackedB* packed_b = nullptr);

// C = act(A B + bias) with A given by `agen` (M x K) and B stored K x N (ldb >= N) or packed_b.
// Always the blocked path (any M, N >= 1), threaded like sgemm.
void sgemm_gen_a(const AGen& agen, int64_t M, int64_t N, int64_t K, const float* B, int64_t ldb,
                 const PackedB* packed_b, float* C, int64_t ldc, const Epilogue* ep);

// Batched GEMM: for i in [0, batch):
//   A_i = A + (a_idx ? a_idx[i] : i) * stride_a      (stride_a = 0 broadcasts one A)
//   B_i = B + (b_idx ? b_idx[i] : i) * stride_b
//   C_i = C + i * stride_c
//   C_i = act(op(A_i) op(B_i) + bias [+ addend_i]); an epilogue addend follows C's layout:
//   addend_i = ep->addend + i * stride_c (bias and slope matrices are the same for every batch)
// Indices are trusted (validate them before calling). Output batches must not overlap each other.
// Many small problems run in parallel over the batch (each problem on one thread); large ones
// run one after another, each using all threads. Same reproducibility guarantee as sgemm.
void sgemm_batched(bool trans_a, bool trans_b, int64_t batch, int64_t M, int64_t N, int64_t K,
                   const float* A, int64_t lda, int64_t stride_a, const int32_t* a_idx,
                   const float* B, int64_t ldb, int64_t stride_b, const int32_t* b_idx,
                   float* C, int64_t ldc, int64_t stride_c, const Epilogue* ep,
                   const PackedB* packed_b = nullptr);  // used only when every batch uses one B

// Blocking parameters of the kernel the current ISA level uses.
struct KernelInfo {
  int level;       // ab::Isa of the slot in use
  int mr, nr;      // register tile (rows x columns of C)
  int kc, mc, nc;  // cache blocks: K per packed panel, rows of A per L2 block, columns per L3 block
  const char* name;
};
KernelInfo kernel_info();

}  // namespace ab::gemm

// SPDX-License-Identifier: Apache-2.0
// Internal: the per-level GEMM kernel entry points (bodies in native/kernels/gemm_f32_kernel.cc),
// called by the ISA-neutral driver native/gemm/gemm.cc through DispatchStubs.
//
// Operand views: element (i, j) of a logical matrix X is at x[i * rs + j * cs].
// Packed A: ceil(mc / MR) panels, panel p holds rows [p*MR, p*MR+MR) as kc columns of MR
//           floats (zero-padded rows past mc); panel stride MR * kc.
// Packed B: ceil(nc / NR) panels, panel q holds columns [q*NR, q*NR+NR) as kc rows of NR floats
//           (zero-padded); panel stride NR * kc.
// Packed buffers must be 64-byte aligned.
#pragma once
#include <cstdint>

#include "dispatch/dispatch.h"
#include "gemm/gemm.h"

namespace ab::gemm {
struct KernelParams {
  int mr, nr, kc, mc, nc;
  const char* name;
  int b_direct_max_m;  // M up to which B is read as it is instead of packed (0: never)
};
}  // namespace ab::gemm

AB_DECLARE_KERNEL(void, sgemm_params, (::ab::gemm::KernelParams * out))
AB_DECLARE_KERNEL(void, sgemm_pack_a,
                  (const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, float* dst))
AB_DECLARE_KERNEL(void, sgemm_pack_b,
                  (const float* b, int64_t rs, int64_t cs, int64_t kc, int64_t nc, float* dst))
// One packed-A panel from row pointers (see gemm::PackRowsFn): dst[k * MR + i] = rows[i][k].
AB_DECLARE_KERNEL(void, sgemm_pack_a_rows, (const float* const* rows, int r, int64_t len, float* dst))
// Batch-reduce register tiles on row-major A (see gemm::PanelB::tile / tile_wide).
AB_DECLARE_KERNEL(void, sgemm_tile_br,
                  (const ::ab::gemm::TileSeg* segs, int nseg, int64_t lda, const float* bdata, int64_t j0, int r,
                   int nr, float* c, int64_t ldc, const ::ab::gemm::Epilogue* ep, int64_t m0))
AB_DECLARE_KERNEL(void, sgemm_tile_br_wide,
                  (const ::ab::gemm::TileSeg* segs, int nseg, int64_t lda, const float* bdata, int64_t j0, int r,
                   float* c, int64_t ldc, const ::ab::gemm::Epilogue* ep, int64_t m0))
AB_DECLARE_KERNEL(void, sgemm_macro_bdirect,
                  (const float* pa, const float* b, int64_t ldb, int64_t mc, int64_t nc, int64_t kc, float* c,
                   int64_t ldc, int accumulate, const ::ab::gemm::Epilogue* ep, int64_t m0, int64_t n0,
                   int prefetch))
// C[0:mc, 0:nc] (=|+=) packedA * packedB; if ep, the epilogue is applied on the final store, with
// (m0, n0) the global coordinates of C[0][0] (for bias/slope lookup).
AB_DECLARE_KERNEL(void, sgemm_macro,
                  (const float* pa, const float* pb, int64_t mc, int64_t nc, int64_t kc, float* c,
                   int64_t ldc, int accumulate, const ::ab::gemm::Epilogue* ep, int64_t m0, int64_t n0))
// y[j * incy] = sum_k x[j * ldx + k] * v[k]   for j in [j0, j1)   (row dot products)
AB_DECLARE_KERNEL(void, sgemv_t,
                  (const float* x, int64_t ldx, const float* v, int64_t k, float* y, int64_t incy,
                   int64_t j0, int64_t j1))
// y[j] = sum_k v[k] * x[k * ldx + j]   for j in [j0, j1)   (y contiguous; K-ordered sums)
AB_DECLARE_KERNEL(void, sgemv_n,
                  (const float* x, int64_t ldx, const float* v, int64_t k, float* y, int64_t j0,
                   int64_t j1))
// In place: C[i][j] = act(C[i][j] + bias(m0+i, n0+j)) for i < rows, j < cols.
AB_DECLARE_KERNEL(void, sgemm_epilogue,
                  (float* c, int64_t ldc, int64_t rows, int64_t cols, const ::ab::gemm::Epilogue* ep,
                   int64_t m0, int64_t n0))

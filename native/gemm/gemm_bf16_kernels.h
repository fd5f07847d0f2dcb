// SPDX-License-Identifier: Apache-2.0
// Internal: the per-level bf16 GEMM entry points (bodies in native/kernels/gemm_bf16_kernel.cc,
// which also has avx512_bf16 and amx bodies), called by native/gemm/gemm_bf16.cc through DispatchStubs.
//
// Packed A (per level; the driver only sizes it; kp = ceil(kc / 2) pairs):
//   avx512_bf16 and amx (arow > 0): row-major, row i at word i * arow: word p = bf16(a[i][2p]) |
//     bf16(a[i][2p+1]) << 16; kp <= kBf16KcPairs < arow. Size ceil(mc / MR) * MR * arow words. amx also
//     zeroes words kp .. ceil(kp / 16) * 16 - 1 of each row (its tiles take 16 pairs a step).
//   emulating levels (arow 0, wpp 2): ceil(mc / MR) panels of MR rows, panel stride MR * kp * 2
//     floats: p * 2MR + i = bf16(a[i][2p+1]), p * 2MR + MR + i = bf16(a[i][2p]) (bf16 values as
//     f32; rows past mc and the element past an odd kc are zeros).
// Packed B: the public layout of gemm_bf16.h; pb points at panel 0, pair p0 of the K block, and
// panel q of it is at pb + q * pstride words.
#pragma once
#include <cstdint>

#include "dispatch/dispatch.h"
#include "gemm/gemm.h"

namespace ab::gemm {
struct Bf16Params {
  int mr;   // rows of the register tile (the tile is mr x 32)
  int mc;   // rows of A per packed block
  int wpp;   // 32-bit words per pair and row in packed A (panel layout)
  int arow;  // > 0: packed A is row-major with this row stride in words (see above)
  const char* name;
  // amx: ends this thread's use of the tiles (TILERELEASE); the driver calls it when a thread is
  // done with its block of C. Null at the other levels.
  void (*release)();
};
}  // namespace ab::gemm

AB_DECLARE_KERNEL_BF16(void, bf16_params, (::ab::gemm::Bf16Params * out))
// Packs op(A)[0:mc, 0:kc] (element (i, k) at a[i * rs + k * cs]) into dst (layout above).
AB_DECLARE_KERNEL_BF16(void, bf16_pack_a,
                       (const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, uint32_t* dst))
// C[0:mc, 0:nc] (= | +=) packedA * packedB over kp pairs, nc columns from a panel boundary; if ep,
// the epilogue is applied on the final store, (m0, n0) being C[0][0]'s global coordinates.
AB_DECLARE_KERNEL_BF16(void, bf16_macro,
                       (const uint32_t* pa, const uint32_t* pb, int64_t pstride, int64_t mc, int64_t nc,
                        int64_t kp, float* c, int64_t ldc, int accumulate, const ::ab::gemm::Epilogue* ep,
                        int64_t m0, int64_t n0))
// avx512_bf16 and amx: the vdpbf16ps flop rate over the vfmadd231ps flop rate of this core,
// measured (12 register chains of each, interleaved, best of 5: about 1 ms). 0 at lower levels.
AB_DECLARE_KERNEL_BF16(double, bf16_dot_speedup, ())

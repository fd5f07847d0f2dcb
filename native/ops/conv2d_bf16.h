// SPDX-License-Identifier: Apache-2.0
// 2-D convolution, NHWC, with a bf16 filter (packed once by gemm::bf16_pack_b as a K x N matrix,
// K = f_h * f_w * in_c, N = out_c) on the bf16 GEMM engine (native/gemm/gemm_bf16.h): the same
// arithmetic as gemm_bf16 on im2col(x) (x rounded to bf16 in the GEMM's A packing, f32 accumulation
// in K blocks that depend on K only, then the epilogue), so the same bits at every ISA level and
// thread count, and the same bits as gemm_bf16 on an explicit im2col matrix.
#pragma once
#include <cstdint>

#include "gemm/gemm.h"
#include "ops/conv2d.h"

namespace ab {

// x, y as conv2d_nhwc_f32's; packed_w: bf16_packed_words(K, out_c) words. Paths: a 1x1 stride-1
// unpadded convolution is one gemm_bf16 on x as it is; any other is one gemm_bf16_gen_a whose A
// blocks (a row tile or MC rows by one K block) are gathered from x right before they are packed
// (implicit im2col: taps outside the input read zeros; no im2col matrix in memory).
// AFTERBURNER_CONV=im2col (read per call; for comparisons, the same bits) runs explicit im2col rows
// chunk by chunk into a bounded scratch, each chunk one gemm_bf16. Throws std::bad_alloc.
//
// At avx512_bf16 (where vdpbf16ps is faster than FMA: gemm::bf16_dot_policy), a convolution that
// is not one GEMM on x runs the direct path instead (conv2d_bf16_direct.h: a padded
// bf16 copy of x read in place by vdpbf16ps register tiles): the same bits as the implicit path.
// AFTERBURNER_CONV=implicit forces the implicit path.
void conv2d_nhwc_bf16(const float* x, const uint32_t* packed_w, float* y, const Conv2DParams& p,
                      const gemm::Epilogue* ep);

// The path conv2d_nhwc_bf16 takes for p now: "empty", "gemm" (one GEMM on x), "direct",
// "implicit" or "im2col".
const char* conv2d_bf16_path(const Conv2DParams& p);

}  // namespace ab

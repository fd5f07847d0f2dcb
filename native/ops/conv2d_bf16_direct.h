// SPDX-License-Identifier: Apache-2.0
// Internal: the direct (implicit-GEMM) bf16 convolution at avx512_bf16, shared by
// native/ops/conv2d_bf16.cc (driver) and native/kernels/conv_bf16_kernel.cc (the level-4 body).
//
// The input is first converted once to a zero-padded bf16 copy xp: [batch][Hp][Wp][C] (C even),
// copy row r / column s holding input row r - pad_top / column s - pad_left (zeros outside the
// input), Hp = (out_h - 1) * stride_h + (f_h - 1) * dil_h + 1 (Wp likewise), so every tap of every
// output reads the copy in place: output (oh, ow), tap (fh, fw) reads the C / 2 channel-pair words
// at pixel (oh * stride_h + fh * dil_h, ow * stride_w + fw * dil_w). For C even, pair p of im2col's
// K axis (k = 2p, 2p + 1; k = tap * C + c) is tap p / (C/2), channel pair p % (C/2): the word
// bf16(x[c]) | bf16(x[c + 1]) << 16, exactly the packed-A word of gemm_bf16. The packed filter is
// gemm_bf16's packed B as it is (bf16_pack_b, K x N). The kernel runs the bf16 GEMM's arithmetic
// per output (chains of vdpbf16ps over the pairs in order within K blocks of kcp pairs, from +0;
// the first block stored to y, each later one added to it in f32; the epilogue on the last), with
// the zero padding multiplied in as im2col's zeros are: the same bits as gemm_bf16 on im2col(x).
#pragma once
#include <cstdint>

#include "dispatch/dispatch.h"
#include "gemm/gemm.h"

namespace ab {

struct Bf16ConvJob {
  const uint16_t* xp;       // the padded copy, [batch][Hp][Wp][C]
  int64_t Hp, Wp, C;        // C even, >= 2
  const int64_t* tap_off;   // f_h * f_w word offsets of the taps from an output's pixel (fh-major)
  int64_t out_h, out_w, N;  // output [batch][out_h][out_w][N]
  int64_t stride_h, stride_w;
  int64_t K2, kcp;          // pairs of K, pairs per K block (gemm::bf16_k_block_pairs)
  const uint32_t* pb;       // packed filter (gemm_bf16.h's layout)
  float* y;
  const gemm::Epilogue* ep;  // resolved (or null)
  int64_t group_cols;        // columns per work item (a multiple of 32)
  int64_t ngroups;           // ceil(N / group_cols)
  int wide;                  // 1: 7 x 64 tiles over two panels where two remain, else 14 x 32
};

}  // namespace ab

#if AB_X86
namespace ab { namespace avx512_bf16 {
// Rows [r0, r1) of image b's padded copy (layout above) from x ([batch][in_h][in_w][C] f32), rounded
// as VCVTNEPS2BF16; pad_top / pad_left as Conv2DParams (any sign).
void bf16_conv_pad_rows(const float* x, int64_t in_h, int64_t in_w, int64_t C, int64_t pad_top, int64_t pad_left,
                        int64_t Hp, int64_t Wp, int64_t b, int64_t r0, int64_t r1, uint16_t* xp);
// Work items [i0, i1): item i = ((b * out_h + oh) * ngroups + g): output row oh of image b, columns
// [g * group_cols, min(N, (g + 1) * group_cols)).
void bf16_conv_rows(const Bf16ConvJob* job, int64_t i0, int64_t i1);
} }
#endif

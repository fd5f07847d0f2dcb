// SPDX-License-Identifier: Apache-2.0
// Internal: the direct (implicit-GEMM) bf16 convolution at avx512_bf16, shared by
// native/ops/conv2d_bf16.cc (driver) and native/kernels/conv_bf16_kernel.cc (the level-4 body).
//
// The input is first converted once to a zero-padded bf16 copy xp: [batch][Hp][Wp][C] (bf16
// words), copy row r / column s holding input row r - pad_top / column s - pad_left (zeros outside
// the input), Hp = (out_h - 1) * stride_h + (f_h - 1) * dil_h + 1 (Wp likewise), so every tap of
// every output reads the copy in place: output (oh, ow) has its base at copy pixel (oh * stride_h,
// ow * stride_w), and im2col's K axis (k = (fh * f_w + fw) * C + c) is a list of runs contiguous in
// the copy: one per filter row (f_w * C elements at fh * dil_h * Wp * C) when dil_w = 1, else one
// per tap. Pair p of K (k = 2p, 2p + 1; gemm_bf16's packed-A word bf16(a[2p]) | bf16(a[2p+1]) << 16)
// is then a 32-bit word read from the copy (any 2-byte alignment) when both elements lie in one
// run, else (C odd: a pair across runs, or K's last odd element) a word put together from two
// elements (or one and a zero). Segments list the pairs in order, cut at the K blocks.
// The packed filter is gemm_bf16's packed B as it is (bf16_pack_b, K x N). The kernel runs the bf16
// GEMM's arithmetic per output (chains of vdpbf16ps over the pairs in order within K blocks of
// kcp pairs, from +0; the first block stored to y, each later one added to it in f32; the epilogue
// on the last), with the zero padding multiplied in as im2col's zeros are: the same bits as
// gemm_bf16 on im2col(x).
#pragma once
#include <cstdint>

#include "dispatch/dispatch.h"
#include "gemm/gemm.h"

namespace ab {

// pairs > 0: that many pairs, contiguous from element `off` of an output's base; pairs == 0: one
// pair of the elements at `off` and `hi` (hi < 0: a zero).
struct Bf16ConvSeg {
  int64_t off, pairs, hi;
};

struct Bf16ConvJob {
  const uint16_t* xp;       // the padded copy, [batch][Hp][Wp][C]
  int64_t Hp, Wp, C;
  const Bf16ConvSeg* segs;  // all of K's pairs, in order
  const int64_t* block_end;  // K block b is segs [block_end[b - 1], block_end[b]) (block_end[-1] = 0)
  int64_t nblocks;
  int64_t out_h, out_w, N;  // output [batch][out_h][out_w][N]
  int64_t stride_h, stride_w;
  int64_t K2;                // pairs of K
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

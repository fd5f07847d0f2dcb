// SPDX-License-Identifier: Apache-2.0
// A convolution written in place over its input (y == x): output rows no more and no longer than
// the input's (the N-API layer checks out_h <= in_h, out_w * out_c <= in_w * in_c, and that the
// epilogue has no per-position operand). Blocks of output rows are computed by the ordinary
// (out-of-place) convolution on a sub-problem — the rows [oh0, oh1) of one image, over the input
// rows they read, with the padding moved accordingly — into a pending buffer, and copied over the
// input once no later row reads it (native/ops/inplace_rows.h). Each output element is summed in
// the same order as out of place (the order depends on K and the filter's packing only, and the
// sub-problem takes the same path), so the bits are the same (test/native-inplace.test.mjs).
#pragma once
#include <algorithm>
#include <cstdint>

#include "ops/conv2d.h"
#include "ops/inplace_rows.h"

namespace ab::inplace {

// run(sub_x, sub_y, q): the out-of-place convolution of sub-problem q.
template <typename Run>
void conv_rows(float* xy, const Conv2DParams& p, Run&& run) {
  const int64_t rows = p.batch * p.out_h, row_out = p.out_w * p.out_c, in_row = p.in_w * p.in_c;
  const int64_t eff_h = (p.f_h - 1) * p.dil_h + 1;
  const float* x = xy;
  run_rows(
      xy, rows, row_out, block_rows(rows, row_out, int64_t{1} << 17),
      [&](int64_t r0, int64_t r1, float* dst) {
        for (int64_t r = r0; r < r1;) {  // one image at a time
          const int64_t b = r / p.out_h, oh0 = r % p.out_h, oh1 = std::min(p.out_h, oh0 + (r1 - r));
          const int64_t top = oh0 * p.stride_h - p.pad_top, bottom = (oh1 - 1) * p.stride_h - p.pad_top + eff_h;
          const int64_t ih0 = std::clamp<int64_t>(top, 0, p.in_h), ih1 = std::clamp<int64_t>(bottom, ih0, p.in_h);
          Conv2DParams q = p;
          q.batch = 1;
          q.out_h = oh1 - oh0;
          q.in_h = ih1 - ih0;
          q.pad_top = ih0 - top;  // the sub-problem's first window starts pad_top rows above its x
          run(x + (b * p.in_h + ih0) * in_row, dst + (r - r0) * row_out, q);
          r += oh1 - oh0;
        }
      },
      [&](int64_t r) {
        const int64_t b = r / p.out_h, oh = r % p.out_h;
        const int64_t ih = std::clamp<int64_t>(oh * p.stride_h - p.pad_top, 0, p.in_h);
        return (b * p.in_h + ih) * in_row;
      });
}

}  // namespace ab::inplace

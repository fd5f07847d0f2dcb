// SPDX-License-Identifier: Apache-2.0
// Data movement on 4-byte elements (float32 / int32 moved bitwise), resize and cast: the entry
// points behind Transpose, Slice, StridedSlice, Tile, PadV2, MirrorPad, Concat, GatherV2,
// ResizeBilinear, ResizeNearestNeighbor and Cast. Callers (native/addon/movement_api.cc) have
// checked every size and bound; these functions trust their arguments.
#pragma once
#include <cstdint>
#include <vector>

namespace ab {

// dst (dense, row-major over `shape`) [i] = src[offset + sum_k i_k * sstride[k]]. Strides may be
// negative or zero. Dims are collapsed where they stay together; the innermost pair is moved as
// rows (memcpy), as a cache-blocked 2-D transpose (when a unit-stride source dim is not the
// innermost), or element by element; threads split the outer dims and the tiles.
void strided_copy_u32(const uint32_t* src, int64_t offset, uint32_t* dst, const std::vector<int64_t>& shape,
                      const std::vector<int64_t>& sstride);

// Constant padding: out has shape[k] + before[k] + after[k] along k; `value` everywhere outside x.
void pad_u32(const uint32_t* src, uint32_t* dst, const std::vector<int64_t>& shape, const std::vector<int64_t>& before,
             const std::vector<int64_t>& after, uint32_t value);

// Mirror padding (tfjs MirrorPad): offset 0 = reflect, 1 = symmetric; before/after <= shape - 1 + offset.
void mirror_pad_u32(const uint32_t* src, uint32_t* dst, const std::vector<int64_t>& shape,
                    const std::vector<int64_t>& before, const std::vector<int64_t>& after, int offset);

// Concatenation of `srcs` viewed as [outer, widths[i]] along the second axis into dst [outer, sum widths].
void concat_u32(const std::vector<const uint32_t*>& srcs, const std::vector<int64_t>& widths, uint32_t* dst,
                int64_t outer);

// GatherV2 on x viewed as [batch, outer, dim, slice] with indices [batch, n] (each in [0, dim)):
// dst [batch, outer, n, slice].
void gather_u32(const uint32_t* src, const int32_t* indices, uint32_t* dst, int64_t batch, int64_t outer,
                int64_t dim, int64_t slice, int64_t n);

// The per-column tables of one bilinear resize (shared by all rows): x0/x1 the element offsets
// (column * C) of the left and right source pixels, fx the right one's weight.
struct BilinearCols {
  const int64_t *x0, *x1;
  const double* fx;
  int64_t out_w, channels;
};

struct ResizeParams {
  int64_t batch, in_h, in_w, channels, out_h, out_w;
  bool align_corners, half_pixel_centers;
};
// NHWC resize with tfjs-cpu's coordinate math (float64) and arithmetic (float64, rounded to f32 on
// store). src is float32, or int32 when src_is_i32. in_h and in_w must be >= 1. Returns false
// (writing nothing) when a source index would fall outside the image: tfjs-cpu then reads past
// the data (only alignCorners together with halfPixelCenters, which tfjs's op rejects, does that).
bool resize_bilinear(const void* src, bool src_is_i32, float* dst, const ResizeParams& p);
// Nearest neighbour: float32 sources are copied bitwise, int32 ones converted to float32 (as the
// cpu kernel's Float32Array output does).
void resize_nearest(const void* src, bool src_is_i32, float* dst, const ResizeParams& p);

// Cast with JavaScript's conversions: float32 -> int32 is ToInt32 (truncation; NaN, ±Inf -> 0;
// modulo 2^32 beyond int32), anything -> bool is x != 0 (NaN -> 1).
void cast_f32_i32(const float* x, int32_t* y, int64_t n);
void cast_f32_bool(const float* x, uint8_t* y, int64_t n);
void cast_i32_bool(const int32_t* x, uint8_t* y, int64_t n);

}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
#include "movement.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "dispatch/dispatch.h"
#include "runtime/thread_pool.h"

AB_DECLARE_KERNEL(void, copy_rows_u32, (const uint32_t* src, int64_t ss, uint32_t* dst, int64_t ds, int64_t rows, int64_t cols))
AB_DECLARE_KERNEL(void, copy_2d_u32,
                  (const uint32_t* src, int64_t sr, int64_t sc, uint32_t* dst, int64_t dr, int64_t dc, int64_t rows, int64_t cols))
AB_DECLARE_KERNEL(void, transpose_u32, (const uint32_t* src, int64_t sb, uint32_t* dst, int64_t da, int64_t A, int64_t B))
AB_DECLARE_KERNEL(void, fill_u32, (uint32_t* dst, int64_t n, uint32_t v))
AB_DECLARE_KERNEL(void, pad_row_u32, (const uint32_t* src, uint32_t* dst, int64_t before, int64_t n, int64_t after, uint32_t v))
AB_DECLARE_KERNEL(void, mirror_row_u32,
                  (const uint32_t* src, uint32_t* dst, int64_t before, int64_t n, int64_t after, int64_t offset, int64_t block))
AB_DECLARE_KERNEL(void, concat_rows_u32,
                  (const uint32_t* const* srcs, const int64_t* widths, int64_t count, uint32_t* dst, int64_t row_width, int64_t r0,
                   int64_t r1))
AB_DECLARE_KERNEL(void, gather_rows_u32, (const uint32_t* src, const int32_t* idx, int64_t n, int64_t slice, uint32_t* dst))
AB_DECLARE_KERNEL(void, resize_bilinear_row,
                  (const void* row0, const void* row1, bool is_i32, double fy, const ::ab::BilinearCols& t, float* dst))
AB_DECLARE_KERNEL(void, resize_bilinear_hrow, (const void* row, bool is_i32, const ::ab::BilinearCols& t, double* h))
AB_DECLARE_KERNEL(void, resize_bilinear_vrow, (const double* h0, const double* h1, double fy, int64_t n, float* dst))
AB_DECLARE_KERNEL(void, resize_nearest_row, (const void* row, bool is_i32, const int64_t* xs, int64_t out_w, int64_t C, float* dst))
AB_DECLARE_KERNEL(void, cast_f32_i32, (const float* x, int32_t* y, int64_t n))
AB_DECLARE_KERNEL(void, cast_f32_bool, (const float* x, uint8_t* y, int64_t n))
AB_DECLARE_KERNEL(void, cast_i32_bool, (const int32_t* x, uint8_t* y, int64_t n))

namespace ab {
namespace {

using CopyRowsFn = void (*)(const uint32_t*, int64_t, uint32_t*, int64_t, int64_t, int64_t);
using Copy2dFn = void (*)(const uint32_t*, int64_t, int64_t, uint32_t*, int64_t, int64_t, int64_t, int64_t);
using TransposeFn = void (*)(const uint32_t*, int64_t, uint32_t*, int64_t, int64_t, int64_t);
using FillFn = void (*)(uint32_t*, int64_t, uint32_t);
using PadRowFn = void (*)(const uint32_t*, uint32_t*, int64_t, int64_t, int64_t, uint32_t);
using MirrorRowFn = void (*)(const uint32_t*, uint32_t*, int64_t, int64_t, int64_t, int64_t, int64_t);
using ConcatRowsFn = void (*)(const uint32_t* const*, const int64_t*, int64_t, uint32_t*, int64_t, int64_t, int64_t);
using GatherRowsFn = void (*)(const uint32_t*, const int32_t*, int64_t, int64_t, uint32_t*);
using BilinearRowFn = void (*)(const void*, const void*, bool, double, const BilinearCols&, float*);
using BilinearHrowFn = void (*)(const void*, bool, const BilinearCols&, double*);
using BilinearVrowFn = void (*)(const double*, const double*, double, int64_t, float*);
using NearestRowFn = void (*)(const void*, bool, const int64_t*, int64_t, int64_t, float*);
using CastF32I32Fn = void (*)(const float*, int32_t*, int64_t);
using CastF32BoolFn = void (*)(const float*, uint8_t*, int64_t);
using CastI32BoolFn = void (*)(const int32_t*, uint8_t*, int64_t);

const DispatchStub<CopyRowsFn> copy_rows_stub = {AB_STUB_SLOTS(copy_rows_u32)};
const DispatchStub<Copy2dFn> copy_2d_stub = {AB_STUB_SLOTS(copy_2d_u32)};
const DispatchStub<TransposeFn> transpose_stub = {AB_STUB_SLOTS(transpose_u32)};
const DispatchStub<FillFn> fill_stub = {AB_STUB_SLOTS(fill_u32)};
const DispatchStub<PadRowFn> pad_row_stub = {AB_STUB_SLOTS(pad_row_u32)};
const DispatchStub<MirrorRowFn> mirror_row_stub = {AB_STUB_SLOTS(mirror_row_u32)};
const DispatchStub<ConcatRowsFn> concat_rows_stub = {AB_STUB_SLOTS(concat_rows_u32)};
const DispatchStub<GatherRowsFn> gather_rows_stub = {AB_STUB_SLOTS(gather_rows_u32)};
const DispatchStub<BilinearRowFn> bilinear_row_stub = {AB_STUB_SLOTS(resize_bilinear_row)};
const DispatchStub<BilinearHrowFn> bilinear_hrow_stub = {AB_STUB_SLOTS(resize_bilinear_hrow)};
const DispatchStub<BilinearVrowFn> bilinear_vrow_stub = {AB_STUB_SLOTS(resize_bilinear_vrow)};
const DispatchStub<NearestRowFn> nearest_row_stub = {AB_STUB_SLOTS(resize_nearest_row)};
const DispatchStub<CastF32I32Fn> cast_f32_i32_stub = {AB_STUB_SLOTS(cast_f32_i32)};
const DispatchStub<CastF32BoolFn> cast_f32_bool_stub = {AB_STUB_SLOTS(cast_f32_bool)};
const DispatchStub<CastI32BoolFn> cast_i32_bool_stub = {AB_STUB_SLOTS(cast_i32_bool)};

// Elements a thread should move at least per work unit (64 KiB): below that the pool's wake-up
// costs more than it saves.
constexpr int64_t kGrainElems = 16384;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A list of dims with per-dim source and destination strides (outer dims of a copy).
struct Dims {
  std::vector<int64_t> shape, ss, ds;
  int64_t count() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  // The source and destination offsets of flat index o (row-major over shape).
  void offsets(int64_t o, int64_t* so, int64_t* dof) const {
    int64_t s = 0, d = 0;
    for (size_t k = shape.size(); k-- > 0;) {
      const int64_t i = o % shape[k];
      o /= shape[k];
      s += i * ss[k];
      d += i * ds[k];
    }
    *so = s;
    *dof = d;
  }
};

}  // namespace

void strided_copy_u32(const uint32_t* src, int64_t offset, uint32_t* dst, const std::vector<int64_t>& shape,
                      const std::vector<int64_t>& sstride) {
  // Dense destination strides; drop size-1 dims; merge neighbours that stay together.
  const size_t rank = shape.size();
  std::vector<int64_t> dstride(rank);
  int64_t n = 1;
  for (size_t k = rank; k-- > 0;) {
    dstride[k] = n;
    n *= shape[k];
  }
  if (n == 0) return;
  Dims d;
  for (size_t k = 0; k < rank; ++k) {
    if (shape[k] == 1) continue;
    if (!d.shape.empty() && d.ss.back() == sstride[k] * shape[k] && d.ds.back() == dstride[k] * shape[k]) {
      d.shape.back() *= shape[k];
      d.ss.back() = sstride[k];
      d.ds.back() = dstride[k];
      continue;
    }
    d.shape.push_back(shape[k]);
    d.ss.push_back(sstride[k]);
    d.ds.push_back(dstride[k]);
  }
  src += offset;
  if (d.shape.empty()) {
    dst[0] = src[0];
    return;
  }
  const size_t L = d.shape.size() - 1;
  const int nt = get_num_threads();

  // A unit-stride source dim that is not the innermost one: a 2-D transpose between it and L.
  size_t k = L;
  if (d.ds[L] == 1 && d.ss[L] != 1)
    for (size_t j = 0; j < L; ++j)
      if (d.ss[j] == 1) k = j;
  if (k != L) {
    const int64_t A = d.shape[k], B = d.shape[L], sb = d.ss[L], da = d.ds[k];
    Dims outer;
    for (size_t j = 0; j < L; ++j)
      if (j != k) {
        outer.shape.push_back(d.shape[j]);
        outer.ss.push_back(d.ss[j]);
        outer.ds.push_back(d.ds[j]);
      }
    constexpr int64_t TA = 64, TB = 64;
    const int64_t na = ceil_div(A, TA), nb = ceil_div(B, TB), per = na * nb;
    const TransposeFn tr = transpose_stub.get();
    parallel_for(outer.count() * per, kGrainElems / (TA * TB), [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        int64_t so, dof;
        outer.offsets(u / per, &so, &dof);
        const int64_t t = u % per, a0 = (t / nb) * TA, b0 = (t % nb) * TB;
        const int64_t a1 = a0 + TA < A ? a0 + TA : A, b1 = b0 + TB < B ? b0 + TB : B;
        tr(src + so + a0 + b0 * sb, sb, dst + dof + a0 * da + b0, da, a1 - a0, b1 - b0);
      }
    });
    return;
  }

  // Rows: the innermost pair (L-1, L) as rows x cols; the other dims outer.
  const bool rows_kernel = d.ss[L] == 1 && d.ds[L] == 1;
  const int64_t cols = d.shape[L];
  const int64_t R = L >= 1 ? d.shape[L - 1] : 1;
  const int64_t rs = L >= 1 ? d.ss[L - 1] : 0, rd = L >= 1 ? d.ds[L - 1] : 0;
  Dims outer;
  for (size_t j = 0; j + 1 < L; ++j) {
    outer.shape.push_back(d.shape[j]);
    outer.ss.push_back(d.ss[j]);
    outer.ds.push_back(d.ds[j]);
  }
  const int64_t rows = outer.count() * R;
  const CopyRowsFn copy_rows = copy_rows_stub.get();
  const Copy2dFn copy_2d = copy_2d_stub.get();
  auto run = [&](const uint32_t* s, uint32_t* t, int64_t nr, int64_t c0, int64_t c1) {
    if (rows_kernel) copy_rows(s + c0, rs, t + c0, rd, nr, c1 - c0);
    else copy_2d(s + c0 * d.ss[L], rs, d.ss[L], t + c0 * d.ds[L], rd, d.ds[L], nr, c1 - c0);
  };
  // Few long rows: split the columns too, so every thread gets work.
  const int64_t col_chunks = rows >= 4 * nt ? 1 : std::min<int64_t>(ceil_div(cols, kGrainElems), 4 * nt);
  if (col_chunks > 1) {
    parallel_for(rows * col_chunks, 1, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t row = u / col_chunks, c = u % col_chunks;
        int64_t so, dof;
        outer.offsets(row / R, &so, &dof);
        const int64_t r = row % R;
        run(src + so + r * rs, dst + dof + r * rd, 1, cols * c / col_chunks, cols * (c + 1) / col_chunks);
      }
    });
    return;
  }
  parallel_for(rows, cols >= kGrainElems ? 1 : kGrainElems / cols, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1;) {
      int64_t so, dof;
      outer.offsets(u / R, &so, &dof);
      const int64_t r = u % R, nr = std::min(u1 - u, R - r);
      run(src + so + r * rs, dst + dof + r * rd, nr, 0, cols);
      u += nr;
    }
  });
}

namespace {

// Shared by pad and mirror pad: the dims after collapsing. Trailing dims without padding become
// `block` (elements moved together); dims without padding merge into the padded dim before them.
struct PadDims {
  std::vector<int64_t> in, before, after;  // the row dims (all but the last) and the last dim
  int64_t block = 1;
};

PadDims collapse_pad(const std::vector<int64_t>& shape, const std::vector<int64_t>& before,
                     const std::vector<int64_t>& after, bool merge_unpadded) {
  PadDims p;
  size_t end = shape.size();
  while (end > 0 && before[end - 1] == 0 && after[end - 1] == 0) p.block *= shape[--end];
  for (size_t k = 0; k < end; ++k) {
    const bool unpadded = before[k] == 0 && after[k] == 0;
    if (unpadded && shape[k] == 1) continue;
    p.in.push_back(shape[k]);
    p.before.push_back(before[k]);
    p.after.push_back(after[k]);
  }
  if (merge_unpadded) {
    // Constant padding: a padded dim followed by the trailing block is one longer padded dim.
    if (!p.in.empty()) {
      p.in.back() *= p.block;
      p.before.back() *= p.block;
      p.after.back() *= p.block;
      p.block = 1;
    }
  }
  return p;
}

}  // namespace

void pad_u32(const uint32_t* src, uint32_t* dst, const std::vector<int64_t>& shape, const std::vector<int64_t>& before,
             const std::vector<int64_t>& after, uint32_t value) {
  int64_t out_n = 1, in_n = 1;
  for (size_t k = 0; k < shape.size(); ++k) {
    out_n *= shape[k] + before[k] + after[k];
    in_n *= shape[k];
  }
  if (out_n == 0) return;
  if (in_n == 0) {
    const FillFn fill = fill_stub.get();
    parallel_for(out_n, 4 * kGrainElems, [&](int64_t a, int64_t b) { fill(dst + a, b - a, value); });
    return;
  }
  const PadDims p = collapse_pad(shape, before, after, true);
  if (p.in.empty()) {  // no padding at all: a copy
    const CopyRowsFn copy_rows = copy_rows_stub.get();
    parallel_for(in_n, 4 * kGrainElems, [&](int64_t a, int64_t b) { copy_rows(src + a, 0, dst + a, 0, 1, b - a); });
    return;
  }
  const size_t L = p.in.size() - 1;
  std::vector<int64_t> out_shape(L), in_stride(L);
  int64_t rows = 1, st = p.in[L];
  for (size_t k = L; k-- > 0;) {
    out_shape[k] = p.in[k] + p.before[k] + p.after[k];
    in_stride[k] = st;
    st *= p.in[k];
  }
  for (size_t k = 0; k < L; ++k) rows *= out_shape[k];
  const int64_t row_len = p.in[L] + p.before[L] + p.after[L];
  const PadRowFn pad_row = pad_row_stub.get();
  parallel_for(rows, row_len >= kGrainElems ? 1 : kGrainElems / row_len, [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> c(L);
    int64_t o = r0;
    for (size_t k = L; k-- > 0;) {
      c[k] = o % out_shape[k];
      o /= out_shape[k];
    }
    for (int64_t r = r0; r < r1; ++r) {
      bool inside = true;
      int64_t off = 0;
      for (size_t k = 0; k < L; ++k) {
        const int64_t i = c[k] - p.before[k];
        if (i < 0 || i >= p.in[k]) inside = false;
        off += i * in_stride[k];
      }
      pad_row(inside ? src + off : nullptr, dst + r * row_len, p.before[L], p.in[L], p.after[L], value);
      for (size_t k = L; k-- > 0;) {  // odometer
        if (++c[k] < out_shape[k]) break;
        c[k] = 0;
      }
    }
  });
}

void mirror_pad_u32(const uint32_t* src, uint32_t* dst, const std::vector<int64_t>& shape,
                    const std::vector<int64_t>& before, const std::vector<int64_t>& after, int offset) {
  int64_t out_n = 1;
  for (size_t k = 0; k < shape.size(); ++k) out_n *= shape[k] + before[k] + after[k];
  if (out_n == 0) return;
  const PadDims p = collapse_pad(shape, before, after, false);
  if (p.in.empty()) {
    const CopyRowsFn copy_rows = copy_rows_stub.get();
    parallel_for(out_n, 4 * kGrainElems, [&](int64_t a, int64_t b) { copy_rows(src + a, 0, dst + a, 0, 1, b - a); });
    return;
  }
  const size_t L = p.in.size() - 1;
  const int64_t B = p.block;
  std::vector<int64_t> out_shape(L), in_stride(L);
  int64_t rows = 1, st = p.in[L] * B;
  for (size_t k = L; k-- > 0;) {
    out_shape[k] = p.in[k] + p.before[k] + p.after[k];
    in_stride[k] = st;
    st *= p.in[k];
  }
  for (size_t k = 0; k < L; ++k) rows *= out_shape[k];
  const int64_t row_len = (p.in[L] + p.before[L] + p.after[L]) * B;
  const MirrorRowFn mirror_row = mirror_row_stub.get();
  parallel_for(rows, row_len >= kGrainElems ? 1 : kGrainElems / row_len, [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> c(L);
    int64_t o = r0;
    for (size_t k = L; k-- > 0;) {
      c[k] = o % out_shape[k];
      o /= out_shape[k];
    }
    for (int64_t r = r0; r < r1; ++r) {
      int64_t off = 0;
      for (size_t k = 0; k < L; ++k) {
        // tfjs-cpu's mapping: reflect about the first / last element (offset 1: include it).
        int64_t i = c[k];
        const int64_t start = p.before[k], end = p.before[k] + p.in[k];
        if (i < start) i = start * 2 - i - offset;
        else if (i >= end) i = (end - 1) * 2 - i + offset;
        off += (i - start) * in_stride[k];
      }
      mirror_row(src + off, dst + r * row_len, p.before[L], p.in[L], p.after[L], offset, B);
      for (size_t k = L; k-- > 0;) {
        if (++c[k] < out_shape[k]) break;
        c[k] = 0;
      }
    }
  });
}

void concat_u32(const std::vector<const uint32_t*>& srcs, const std::vector<int64_t>& widths, uint32_t* dst,
                int64_t outer) {
  int64_t row_width = 0;
  for (int64_t w : widths) row_width += w;
  if (outer == 0 || row_width == 0) return;
  const int nt = get_num_threads();
  if (outer >= 4 * nt || outer * row_width < 4 * kGrainElems) {
    const ConcatRowsFn concat_rows = concat_rows_stub.get();
    const int64_t count = static_cast<int64_t>(srcs.size());
    parallel_for(outer, row_width >= kGrainElems ? 1 : kGrainElems / row_width, [&](int64_t r0, int64_t r1) {
      concat_rows(srcs.data(), widths.data(), count, dst, row_width, r0, r1);
    });
    return;
  }
  // Few long rows: cut every input's row segment into pieces of ~4 grains.
  struct Piece {
    const uint32_t* s;
    uint32_t* d;
    int64_t n;
  };
  std::vector<Piece> pieces;
  for (int64_t r = 0; r < outer; ++r) {
    int64_t col = 0;
    for (size_t i = 0; i < srcs.size(); ++i) {
      const int64_t w = widths[i];
      for (int64_t c = 0; c < w; c += 4 * kGrainElems) {
        const int64_t len = std::min<int64_t>(4 * kGrainElems, w - c);
        pieces.push_back({srcs[i] + r * w + c, dst + r * row_width + col + c, len});
      }
      col += w;
    }
  }
  const CopyRowsFn copy_rows = copy_rows_stub.get();
  parallel_for(static_cast<int64_t>(pieces.size()), 1, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) copy_rows(pieces[i].s, 0, pieces[i].d, 0, 1, pieces[i].n);
  });
}

void gather_u32(const uint32_t* src, const int32_t* indices, uint32_t* dst, int64_t batch, int64_t outer,
                int64_t dim, int64_t slice, int64_t n) {
  if (batch * outer * n * slice == 0) return;
  const int64_t per = slice >= kGrainElems ? 1 : kGrainElems / slice;  // indices per unit
  const int64_t chunks = ceil_div(n, per);
  const GatherRowsFn gather_rows = gather_rows_stub.get();
  parallel_for(batch * outer * chunks, 1, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t bo = u / chunks, i0 = (u % chunks) * per, i1 = std::min(i0 + per, n);
      const int64_t b = bo / outer;
      gather_rows(src + bo * dim * slice, indices + b * n + i0, i1 - i0, slice, dst + (bo * n + i0) * slice);
    }
  });
}

namespace {

// tfjs's effective ratio: (in - 1) / (out - 1) with alignCorners (and out > 1), else in / out.
double resize_ratio(int64_t in, int64_t out, bool align) {
  const bool a = align && out > 1;
  return static_cast<double>(a ? in - 1 : in) / static_cast<double>(a ? out - 1 : out);
}

// JavaScript's Math.round: the nearest integer, ties toward +Infinity.
double js_round(double x) {
  const double f = std::floor(x);
  return x - f >= 0.5 ? f + 1 : f;
}

struct BilinearAxis {
  std::vector<int64_t> lo, hi;
  std::vector<double> frac;
};

// tfjs-cpu's source coordinates for each output index along one axis. False if any index falls
// outside [0, in) (only alignCorners with halfPixelCenters can do that; the cpu kernel then reads
// past the row).
bool bilinear_axis(int64_t in, int64_t out, bool align, bool half, BilinearAxis* ax) {
  const double ratio = resize_ratio(in, out, align);
  ax->lo.resize(out);
  ax->hi.resize(out);
  ax->frac.resize(out);
  for (int64_t i = 0; i < out; ++i) {
    const double src = half ? ratio * (static_cast<double>(i) + 0.5) - 0.5 : ratio * static_cast<double>(i);
    const double fl = std::fmax(0.0, std::floor(src));
    const double ce = std::fmin(static_cast<double>(in - 1), std::ceil(src));
    if (!(fl >= 0 && fl < static_cast<double>(in) && ce >= 0 && ce < static_cast<double>(in))) return false;
    ax->lo[i] = static_cast<int64_t>(fl);
    ax->hi[i] = static_cast<int64_t>(ce);
    ax->frac[i] = src - fl;
  }
  return true;
}

std::vector<int64_t> nearest_axis(int64_t in, int64_t out, bool align, bool half) {
  const double ratio = resize_ratio(in, out, align);
  std::vector<int64_t> idx(out);
  for (int64_t i = 0; i < out; ++i) {
    const double src = half ? ratio * (static_cast<double>(i) + 0.5) : ratio * static_cast<double>(i);
    double v = std::fmin(static_cast<double>(in - 1), align ? js_round(src) : std::floor(src));
    if (half) v = std::fmax(0.0, v);
    if (!(v >= 0)) v = 0;  // cannot happen (src >= 0); keeps the index in range regardless
    idx[i] = static_cast<int64_t>(v);
  }
  return idx;
}

}  // namespace

bool resize_bilinear(const void* src, bool src_is_i32, float* dst, const ResizeParams& p) {
  const int64_t rows = p.batch * p.out_h, C = p.channels;
  BilinearAxis ay, ax;
  if (!bilinear_axis(p.in_h, p.out_h, p.align_corners, p.half_pixel_centers, &ay) ||
      !bilinear_axis(p.in_w, p.out_w, p.align_corners, p.half_pixel_centers, &ax))
    return false;
  if (rows == 0 || p.out_w == 0 || C == 0) return true;
  for (int64_t i = 0; i < p.out_w; ++i) {
    ax.lo[i] *= C;
    ax.hi[i] *= C;
  }
  const int64_t row_elems = p.out_w * C, in_row = p.in_w * C;
  BilinearCols t{ax.lo.data(), ax.hi.data(), ax.frac.data(), p.out_w, C};
  const size_t esz = 4;
  const char* base = static_cast<const char*>(src);
  auto src_row = [&](int64_t b, int64_t y) { return base + static_cast<size_t>((b * p.in_h + y) * in_row) * esz; };
  const int64_t grain = row_elems >= kGrainElems ? 1 : kGrainElems / row_elems;
  if (p.out_h <= p.in_h || row_elems > (int64_t{1} << 20)) {
    // Downsampling (or same size): each output row has its own pair of source rows. (Also rows
    // too long for the per-thread row cache below: 16 bytes an element.)
    const BilinearRowFn row = bilinear_row_stub.get();
    parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t b = r / p.out_h, oy = r % p.out_h;
        row(src_row(b, ay.lo[oy]), src_row(b, ay.hi[oy]), src_is_i32, ay.frac[oy], t, dst + r * row_elems);
      }
    });
    return true;
  }
  // Upsampling: consecutive output rows share source rows, so each source row is interpolated
  // horizontally once (float64, exactly the "top" / "bottom" of the direct formula) and kept in a
  // two-row cache; each output row is then one vertical lerp.
  const BilinearHrowFn hrow = bilinear_hrow_stub.get();
  const BilinearVrowFn vrow = bilinear_vrow_stub.get();
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    std::vector<double> buf(static_cast<size_t>(2 * row_elems));
    int64_t keys[2] = {-1, -1};
    auto fill = [&](int s, int64_t b, int64_t y) {
      hrow(src_row(b, y), src_is_i32, t, buf.data() + s * row_elems);
      keys[s] = b * p.in_h + y;
    };
    auto find = [&](int64_t key) { return keys[0] == key ? 0 : keys[1] == key ? 1 : -1; };
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / p.out_h, oy = r % p.out_h, y0 = ay.lo[oy], y1 = ay.hi[oy];
      int s0 = find(b * p.in_h + y0), s1 = find(b * p.in_h + y1);
      if (s0 < 0) fill(s0 = s1 == 0 ? 1 : 0, b, y0);
      if (s1 < 0) {
        if (y1 == y0) s1 = s0;
        else fill(s1 = 1 - s0, b, y1);
      }
      vrow(buf.data() + s0 * row_elems, buf.data() + s1 * row_elems, ay.frac[oy], row_elems, dst + r * row_elems);
    }
  });
  return true;
}

void resize_nearest(const void* src, bool src_is_i32, float* dst, const ResizeParams& p) {
  const int64_t rows = p.batch * p.out_h, C = p.channels;
  if (rows == 0 || p.out_w == 0 || C == 0) return;
  const std::vector<int64_t> ys = nearest_axis(p.in_h, p.out_h, p.align_corners, p.half_pixel_centers);
  std::vector<int64_t> xs = nearest_axis(p.in_w, p.out_w, p.align_corners, p.half_pixel_centers);
  for (int64_t& x : xs) x *= C;
  const char* base = static_cast<const char*>(src);
  const NearestRowFn row = nearest_row_stub.get();
  const int64_t row_elems = p.out_w * C;
  parallel_for(rows, row_elems >= kGrainElems ? 1 : kGrainElems / row_elems, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / p.out_h, oy = r % p.out_h;
      row(base + static_cast<size_t>(((b * p.in_h + ys[oy]) * p.in_w) * C) * 4, src_is_i32, xs.data(), p.out_w, C,
          dst + r * row_elems);
    }
  });
}

void cast_f32_i32(const float* x, int32_t* y, int64_t n) {
  const CastF32I32Fn f = cast_f32_i32_stub.get();
  parallel_for(n, 4 * kGrainElems, [&](int64_t a, int64_t b) { f(x + a, y + a, b - a); });
}
void cast_f32_bool(const float* x, uint8_t* y, int64_t n) {
  const CastF32BoolFn f = cast_f32_bool_stub.get();
  parallel_for(n, 4 * kGrainElems, [&](int64_t a, int64_t b) { f(x + a, y + a, b - a); });
}
void cast_i32_bool(const int32_t* x, uint8_t* y, int64_t n) {
  const CastI32BoolFn f = cast_i32_bool_stub.get();
  parallel_for(n, 4 * kGrainElems, [&](int64_t a, int64_t b) { f(x + a, y + a, b - a); });
}

}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
// Sum, Mean, Max, Min, Prod over the middle axis of [outer, R, inner] (R >= 1 here; the op
// layer handles R == 0 and threading).
//   inner == 1 (reduce_rows_f32): blocked vector sums (row_ops.h: |err| <= ~40 u sum|x|),
//     NaN-propagating max/min with tfjs's first-zero rule, product in float64 (as tfjs).
//   inner > 1 (reduce_cols_f32): vectorized across columns; sums go in blocks of 32 rows into
//     per-lane Neumaier-compensated totals (|err| <= ~34 u sum|x|).
// Mean = sum / R (tfjs sums x/R in float64; the two agree to a few ulp).
#include "kernels/row_ops.h"
#include "ops/ew_kernels.h"

namespace ab { namespace AB_ISA_NS {
namespace {
using namespace vm;

float row_prod(const float* x, int64_t n) {
  double p0 = 1.0, p1 = 1.0, p2 = 1.0, p3 = 1.0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    p0 *= x[i]; p1 *= x[i + 1]; p2 *= x[i + 2]; p3 *= x[i + 3];
  }
  for (; i < n; ++i) p0 *= x[i];
  return static_cast<float>((p0 * p1) * (p2 * p3));
}

// NV vectors of type V (NV * lanes<V>() columns) summed over r rows of stride ld.
template <class V, int NV>
void cols_sum(const float* x, float* out, int64_t r, int64_t ldx, bool mean) {
  constexpr int64_t L = lanes<V>();
  V s[NV], c[NV];
  for (int k = 0; k < NV; ++k) s[k] = c[k] = splat(V(), 0.0f);
  for (int64_t j0 = 0; j0 < r; j0 += kSumRun) {
    const int64_t j1 = j0 + kSumRun < r ? j0 + kSumRun : r;
    V a[NV];
    for (int k = 0; k < NV; ++k) a[k] = splat(V(), 0.0f);
    for (int64_t j = j0; j < j1; ++j) {
      const float* p = x + j * ldx;
      for (int k = 0; k < NV; ++k) a[k] = vadd(a[k], ld(V(), p + k * L));
    }
    for (int k = 0; k < NV; ++k) neu_add(s[k], c[k], a[k]);
  }
  const V rv = splat(V(), static_cast<float>(r));
  for (int k = 0; k < NV; ++k) {
    V t = neu_result(s[k], c[k]);
    if (mean) t = vdiv(t, rv);
    st(out + k * L, t);
  }
}

template <class V, int NV, bool MAX>
void cols_extreme(const float* x, float* out, int64_t r, int64_t ldx) {
  constexpr int64_t L = lanes<V>();
  V a[NV];
  decltype(isnan_(V())) nm[NV];
  for (int k = 0; k < NV; ++k) {
    a[k] = splat(V(), MAX ? -__builtin_inff() : __builtin_inff());
    nm[k] = isnan_(a[k]);
  }
  for (int64_t j = 0; j < r; ++j) {
    const float* p = x + j * ldx;
    for (int k = 0; k < NV; ++k) {
      V v = ld(V(), p + k * L);
      a[k] = MAX ? vmax(a[k], v) : vmin(a[k], v);
      nm[k] = mor(nm[k], isnan_(v));
    }
  }
  for (int k = 0; k < NV; ++k) st(out + k * L, sel(nm[k], splat(V(), __builtin_nanf("")), a[k]));
  // tfjs keeps the first of equal values: a zero result takes the sign of the column's first zero.
  for (int64_t c = 0; c < NV * L; ++c) {
    if (out[c] != 0.0f) continue;
    for (int64_t j = 0; j < r; ++j)
      if (x[j * ldx + c] == 0.0f) { out[c] = x[j * ldx + c]; break; }
  }
}

void cols_prod(const float* x, float* out, int64_t r, int64_t ncols, int64_t ldx) {
  constexpr int64_t C = 16;
  for (int64_t c0 = 0; c0 < ncols; c0 += C) {
    const int64_t w = ncols - c0 < C ? ncols - c0 : C;
    double acc[C];
    for (int64_t k = 0; k < C; ++k) acc[k] = 1.0;
    if (w == C) {
      for (int64_t j = 0; j < r; ++j)
        for (int64_t k = 0; k < C; ++k) acc[k] *= x[j * ldx + c0 + k];
    } else {
      for (int64_t j = 0; j < r; ++j)
        for (int64_t k = 0; k < w; ++k) acc[k] *= x[j * ldx + c0 + k];
    }
    for (int64_t k = 0; k < w; ++k) out[c0 + k] = static_cast<float>(acc[k]);
  }
}

template <int NV>
void cols_chunk(int op, const float* x, float* out, int64_t r, int64_t ldx) {
  switch (op) {
    case kRedSum: return cols_sum<VF, NV>(x, out, r, ldx, false);
    case kRedMean: return cols_sum<VF, NV>(x, out, r, ldx, true);
    case kRedMax: return cols_extreme<VF, NV, true>(x, out, r, ldx);
    case kRedMin: return cols_extreme<VF, NV, false>(x, out, r, ldx);
  }
}
void cols_one(int op, const float* x, float* out, int64_t r, int64_t ldx) {
  switch (op) {
    case kRedSum: return cols_sum<float, 1>(x, out, r, ldx, false);
    case kRedMean: return cols_sum<float, 1>(x, out, r, ldx, true);
    case kRedMax: return cols_extreme<float, 1, true>(x, out, r, ldx);
    case kRedMin: return cols_extreme<float, 1, false>(x, out, r, ldx);
  }
}

}  // namespace

void reduce_rows_f32(int op, const float* x, float* out, int64_t rows, int64_t r) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* p = x + i * r;
    switch (op) {
      case kRedSum: out[i] = row_sum(p, r); break;
      case kRedMean: out[i] = row_sum(p, r) / static_cast<float>(r); break;
      case kRedMax: out[i] = row_extreme<true, true>(p, r); break;
      case kRedMin: out[i] = row_extreme<false, true>(p, r); break;
      case kRedProd: out[i] = row_prod(p, r); break;
    }
  }
}

void reduce_cols_f32(int op, const float* x, float* out, int64_t r, int64_t ncols, int64_t ldx) {
  if (op == kRedProd) return cols_prod(x, out, r, ncols, ldx);
  int64_t c = 0;
  for (; c + 4 * kW <= ncols; c += 4 * kW) cols_chunk<4>(op, x + c, out + c, r, ldx);
  for (; c + kW <= ncols; c += kW) cols_chunk<1>(op, x + c, out + c, r, ldx);
  for (; c < ncols; ++c) cols_one(op, x + c, out + c, r, ldx);
}

} }  // namespace ab::AB_ISA_NS

namespace ab { namespace AB_ISA_NS {

// tfjs-cpu's argMax / argMin scan over the middle axis of [r, ncols] (rows ldx apart): the first
// element starts as the best, and a later one replaces it only if strictly greater (smaller), so
// NaN never wins unless it comes first, and ties keep the first index. Written as plain loops over
// the columns: the compiler vectorizes the compare-and-select at each level.
void argreduce_cols_f32(int is_min, const float* x, int32_t* out, int64_t r, int64_t ncols, int64_t ldx) {
  constexpr int64_t kC = 64;
  float best[kC];
  int32_t idx[kC];
  for (int64_t c0 = 0; c0 < ncols; c0 += kC) {
    const int64_t w = ncols - c0 < kC ? ncols - c0 : kC;
    const float* xc = x + c0;
    for (int64_t c = 0; c < w; ++c) {
      best[c] = xc[c];
      idx[c] = 0;
    }
    for (int64_t j = 1; j < r; ++j) {
      const float* row = xc + j * ldx;
      const int32_t jj = static_cast<int32_t>(j);
      if (is_min) {
        for (int64_t c = 0; c < w; ++c) {
          const bool take = row[c] < best[c];
          best[c] = take ? row[c] : best[c];
          idx[c] = take ? jj : idx[c];
        }
      } else {
        for (int64_t c = 0; c < w; ++c) {
          const bool take = row[c] > best[c];
          best[c] = take ? row[c] : best[c];
          idx[c] = take ? jj : idx[c];
        }
      }
    }
    for (int64_t c = 0; c < w; ++c) out[c0 + c] = idx[c];
  }
}

} }  // namespace ab::AB_ISA_NS

// SPDX-License-Identifier: Apache-2.0
// Binary and unary elementwise kernels (one copy per ISA level). Semantics follow
// tfjs-backend-cpu 4.22, whose kernels compute in float64 and store to float32:
//   Maximum/Minimum = Math.max/Math.min: NaN if either input is NaN, max(+0,-0) = +0,
//     min(+0,-0) = -0.
//   Prelu(x, a) = x < 0 ? a*x : x; LeakyRelu likewise with a scalar alpha (NaN stays NaN).
//   Relu = Math.max(0, x): NaN -> NaN, -0 -> +0.  Relu6 = Math.min(Math.max(0, x), 6).
//   Elu = x >= 0 ? x : expm1(x) (so Elu(-0) = -0).  Abs(-0) = +0.  Neg = -x.
//   Rsqrt = 1/sqrt(x) (Rsqrt(-0) = -Inf).  Sigmoid = 1/(1+exp(-x)) without overflow.
//   Erf: the true erf (tfjs uses a 1.5e-7-accurate rational approximation).
// +, -, *, /, sqrt and x*x are correctly rounded, so they equal tfjs bit for bit (double
// rounding through float64 is innocuous for these operations).
#include "kernels/vec_math.h"
#include "ops/ew_kernels.h"

namespace ab { namespace AB_ISA_NS {
namespace {
using namespace vm;

template <int OP> struct Bin;
template <> struct Bin<kBinAdd> { template <class V> static V f(V a, V b) { return vadd(a, b); } };
template <> struct Bin<kBinSub> { template <class V> static V f(V a, V b) { return vsub(a, b); } };
template <> struct Bin<kBinMul> { template <class V> static V f(V a, V b) { return vmul(a, b); } };
template <> struct Bin<kBinDiv> { template <class V> static V f(V a, V b) { return vdiv(a, b); } };
template <> struct Bin<kBinMax> {
  template <class V> static V f(V a, V b) {
    V r = sel(gt(a, b), a, b);
    r = sel(eq(a, b), vand(a, b), r);       // +0 wins over -0
    return sel(unord(a, b), vadd(a, b), r);  // NaN if either is NaN
  }
};
template <> struct Bin<kBinMin> {
  template <class V> static V f(V a, V b) {
    V r = sel(lt(a, b), a, b);
    r = sel(eq(a, b), vor(a, b), r);  // -0 wins over +0
    return sel(unord(a, b), vadd(a, b), r);
  }
};
template <> struct Bin<kBinSquaredDiff> {
  template <class V> static V f(V a, V b) { V d = vsub(a, b); return vmul(d, d); }
};
template <> struct Bin<kBinPrelu> {
  template <class V> static V f(V a, V b) { return sel(lt(a, splat(a, 0.0f)), vmul(a, b), a); }
};

template <int OP> void run_vv(const float* a, const float* b, float* o, int64_t n) {
  map2(a, b, o, n, [](auto x, auto y) { return Bin<OP>::f(x, y); });
}
template <int OP> void run_vs(const float* a, const float* b, float* o, int64_t n) {
  const float s = *b;
  map1(a, o, n, [s](auto x) { return Bin<OP>::f(x, splat(x, s)); });
}
template <int OP> void run_sv(const float* a, const float* b, float* o, int64_t n) {
  const float s = *a;
  map1(b, o, n, [s](auto y) { return Bin<OP>::f(splat(y, s), y); });
}

#define AB_BIN_ROW(OP) {&run_vv<OP>, &run_vs<OP>, &run_sv<OP>}
const BinRunFn kBinTable[kBinCount][kFormCount] = {
    AB_BIN_ROW(kBinAdd), AB_BIN_ROW(kBinSub), AB_BIN_ROW(kBinMul), AB_BIN_ROW(kBinDiv),
    AB_BIN_ROW(kBinMax), AB_BIN_ROW(kBinMin), AB_BIN_ROW(kBinSquaredDiff), AB_BIN_ROW(kBinPrelu),
};
#undef AB_BIN_ROW

}  // namespace

BinRunFn binary_run_fn(int op, int form) { return kBinTable[op][form]; }

void unary_f32(int op, const float* x, float* y, int64_t n, float alpha) {
  switch (op) {
    case kUnRelu:
      return map1(x, y, n, [](auto v) { return vadd(vmax(splat(v, 0.0f), v), splat(v, 0.0f)); });
    case kUnRelu6:
      return map1(x, y, n, [](auto v) {
        return vmin(splat(v, 6.0f), vadd(vmax(splat(v, 0.0f), v), splat(v, 0.0f)));
      });
    case kUnElu:
      return map1(x, y, n, [](auto v) { return sel(ge(v, splat(v, 0.0f)), v, expm1_neg_(v)); });
    case kUnLeakyRelu:
      return map1(x, y, n, [alpha](auto v) {
        return sel(lt(v, splat(v, 0.0f)), vmul(v, splat(v, alpha)), v);
      });
    case kUnSigmoid: return map1(x, y, n, [](auto v) { return sigmoid_(v); });
    case kUnTanh: return map1(x, y, n, [](auto v) { return tanh_(v); });
    case kUnExp: return map1(x, y, n, [](auto v) { return exp_(v); });
    case kUnLog: return map1(x, y, n, [](auto v) { return log_(v); });
    case kUnSqrt: return map1(x, y, n, [](auto v) { return vsqrt(v); });
    case kUnRsqrt: return map1(x, y, n, [](auto v) { return vdiv(splat(v, 1.0f), vsqrt(v)); });
    case kUnSquare: return map1(x, y, n, [](auto v) { return vmul(v, v); });
    case kUnNeg: return map1(x, y, n, [](auto v) { return vxor(v, splat(v, -0.0f)); });
    case kUnAbs: return map1(x, y, n, [](auto v) { return vabs(v); });
    case kUnErf: return map1(x, y, n, [](auto v) { return erf_(v); });
  }
}

void clip_f32(const float* x, float* y, int64_t n, float lo, float hi) {
  map1(x, y, n, [lo, hi](auto v) {
    return sel(gt(v, splat(v, hi)), splat(v, hi), sel(lt(v, splat(v, lo)), splat(v, lo), v));
  });
}

} }  // namespace ab::AB_ISA_NS

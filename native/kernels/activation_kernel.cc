// SPDX-License-Identifier: Apache-2.0
// Fused activations for GEMM/conv epilogues, vectorized with vec_math.h. Same semantics as the
// standalone unary kernels (tfjs-backend-cpu's applyActivation calls those kernels):
// relu = Math.max(0, x) (NaN stays NaN, -0 -> +0), relu6 = min(relu, 6), elu = x >= 0 ? x :
// expm1(x), leakyrelu/prelu = x < 0 ? a*x : x, sigmoid = 1/(1+exp(-x)) without overflow.
#include "kernels/activation.h"
#include "kernels/vec_math.h"

namespace ab { namespace AB_ISA_NS {

void activation_f32_inplace(float* x, int64_t n, int act, float alpha, const float* slope) {
  using namespace vm;
  switch (act) {
    case kActLinear: return;
    case kActRelu:
      return map1(x, x, n, [](auto v) { return vadd(vmax(splat(v, 0.0f), v), splat(v, 0.0f)); });
    case kActRelu6:
      return map1(x, x, n, [](auto v) {
        return vmin(splat(v, 6.0f), vadd(vmax(splat(v, 0.0f), v), splat(v, 0.0f)));
      });
    case kActElu:
      return map1(x, x, n, [](auto v) { return sel(ge(v, splat(v, 0.0f)), v, expm1_neg_(v)); });
    case kActLeakyRelu:
      return map1(x, x, n, [alpha](auto v) {
        return sel(lt(v, splat(v, 0.0f)), vmul(v, splat(v, alpha)), v);
      });
    case kActPrelu:
      return map2(x, slope, x, n, [](auto v, auto s) { return sel(lt(v, splat(v, 0.0f)), vmul(v, s), v); });
    case kActSigmoid: return map1(x, x, n, [](auto v) { return sigmoid_(v); });
  }
}

} }  // namespace ab::AB_ISA_NS

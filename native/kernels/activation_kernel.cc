// SPDX-License-Identifier: Apache-2.0
#include "kernels/activation.h"

namespace ab { namespace AB_ISA_NS {

void activation_f32_inplace(float* x, int64_t n, int act, float alpha, const float* slope) {
  switch (act) {
    case kActLinear: return;
    case kActRelu: for (int64_t i = 0; i < n; ++i) x[i] = x[i] < 0.f ? 0.f : x[i]; return;
    case kActRelu6: for (int64_t i = 0; i < n; ++i) x[i] = x[i] < 0.f ? 0.f : (x[i] > 6.f ? 6.f : x[i]); return;
    case kActElu: for (int64_t i = 0; i < n; ++i) x[i] = x[i] < 0.f ? std::expm1(x[i]) : x[i]; return;
    case kActLeakyRelu: for (int64_t i = 0; i < n; ++i) x[i] = x[i] < 0.f ? alpha * x[i] : x[i]; return;
    case kActPrelu: for (int64_t i = 0; i < n; ++i) x[i] = x[i] < 0.f ? slope[i] * x[i] : x[i]; return;
    case kActSigmoid: for (int64_t i = 0; i < n; ++i) x[i] = 1.f / (1.f + std::exp(-x[i])); return;
  }
}

} }  // namespace ab::AB_ISA_NS

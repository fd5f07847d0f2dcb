// SPDX-License-Identifier: Apache-2.0
#include "ops/ew_chain.h"

#include "ops/ew_kernels.h"
#include "runtime/thread_pool.h"

namespace ab {
namespace {

const DispatchStub<BinRunFn (*)(int, int)> binary_stub = {AB_STUB_SLOTS(binary_run_fn)};
const DispatchStub<void (*)(int, const float*, float*, int64_t, float)> unary_stub = {AB_STUB_SLOTS(unary_f32)};

constexpr int64_t kBlock = 512;            // floats per register: 8 registers = 16 KiB of L1
constexpr int64_t kGrain = int64_t{1} << 14;

void run_range(const int32_t* prog, int ninsn, const float* imms, const float* const* inputs, float* out,
               int64_t beg, int64_t end) {
  alignas(64) float regs[kChainMaxRegs - 1][kBlock];
  const auto un = unary_stub.get();
  const auto bin = binary_stub.get();
  for (int64_t b = beg; b < end; b += kBlock) {
    const int64_t len = end - b < kBlock ? end - b : kBlock;
    auto src = [&](int32_t code, bool* scalar) -> const float* {
      const int32_t idx = code & ~kChainKindMask;
      switch (code & kChainKindMask) {
        case kChainIn: *scalar = false; return inputs[idx] + b;
        case kChainReg: *scalar = false; return idx == 0 ? out + b : regs[idx - 1];
        default: *scalar = true; return imms + idx;
      }
    };
    for (int i = 0; i < ninsn; ++i) {
      const int32_t* in = prog + i * kChainInsnWords;
      float* dst = in[2] == 0 ? out + b : regs[in[2] - 1];
      bool sa = false, sb = false;
      const float* pa = src(in[3], &sa);
      if (in[0] == 0) {
        un(in[1], pa, dst, len, in[4] >= 0 ? imms[in[4]] : 0.f);
      } else {
        const float* pb = src(in[4], &sb);
        bin(in[1], sa ? kFormSV : sb ? kFormVS : kFormVV)(pa, pb, dst, len);
      }
    }
  }
}

}  // namespace

void ew_chain(const int32_t* prog, int ninsn, const float* imms, const float* const* inputs, float* out, int64_t n) {
  if (n <= 0) return;
  if (n < 2 * kGrain || get_num_threads() <= 1) {
    run_range(prog, ninsn, imms, inputs, out, 0, n);
    return;
  }
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { run_range(prog, ninsn, imms, inputs, out, b, e); });
}

}  // namespace ab

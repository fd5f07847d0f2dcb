// SPDX-License-Identifier: Apache-2.0
// A fused chain of elementwise ops (graph mode's ab.EwChain): a small program over same-shape
// inputs, scalar immediates and scratch registers, run block by block so every intermediate
// stays in L1 and the output is written once. Each instruction calls the per-level unary and
// binary kernels (native/kernels/elementwise_kernel.cc), so results equal the unfused ops'.
#pragma once
#include <cstdint>

namespace ab {

// Operand encoding: kind in the top bits, index below.
constexpr int32_t kChainIn = 0 << 24;   // inputs[index] (n elements)
constexpr int32_t kChainReg = 1 << 24;  // scratch register index (0 = the output)
constexpr int32_t kChainImm = 2 << 24;  // imms[index], one value broadcast
constexpr int32_t kChainKindMask = 0x7f << 24;
constexpr int kChainMaxRegs = 8;       // registers, the output (0) included
constexpr int kChainInsnWords = 5;     // kind (0 unary, 1 binary), op, dst reg, a, b (b: alpha imm for unary, or -1)

// Runs `ninsn` instructions (validated by the caller) over n elements.
void ew_chain(const int32_t* prog, int ninsn, const float* imms, const float* const* inputs, float* out, int64_t n);

}  // namespace ab

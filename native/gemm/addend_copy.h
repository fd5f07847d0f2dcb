// SPDX-License-Identifier: Apache-2.0
// An epilogue addend that may be the output C itself (a residual written in place over it): a
// path that writes C before its epilogue reads the addend (partial sums, scalar tiles, GEMV) must
// read a copy. Included by ISA-neutral files only (it uses std::vector).
#pragma once
#include <cstdint>
#include <vector>

#include "gemm/gemm.h"

namespace ab::gemm {

class AddendCopy {
 public:
  // ep itself when it has no addend, the addend does not overlap the M x N output C (rows ldc
  // apart), or `safe` (the path writes each C element once, in its epilogue); else ep with its
  // addend copied (ld = N), valid as long as this object.
  const Epilogue* of(const Epilogue* ep, int64_t M, int64_t N, const float* C, int64_t ldc, bool safe) {
    if (!ep || !ep->addend || safe || !addend_overlaps(ep, M, N, C, ldc)) return ep;
    buf_.resize(static_cast<size_t>(M * N));
    ep_ = with_addend_copy(*ep, M, N, buf_.data());
    return &ep_;
  }

 private:
  std::vector<float> buf_;
  Epilogue ep_;
};

}  // namespace ab::gemm

// SPDX-License-Identifier: Apache-2.0
#include "memory.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ab {

void hint_fresh_output(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  static const bool enabled = [] {
    const char* e = std::getenv("AFTERBURNER_THP");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  if (!enabled || bytes < kHuge) return;
  const uintptr_t b = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t e = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_HUGEPAGE);  // advisory: errors ignored
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace ab

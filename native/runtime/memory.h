// SPDX-License-Identifier: Apache-2.0
// Hints for output buffers that a kernel is about to write for the first time.
#pragma once
#include <cstddef>

namespace ab {

// Asks the OS to back the 2 MiB-aligned interior of a large buffer with transparent huge pages
// (Linux MADV_HUGEPAGE; a no-op elsewhere, for small buffers, or where THP is off). Fresh kernel
// outputs are new Float32Arrays whose pages are faulted in by the first write: 4 KiB at a time
// that costs more than an elementwise kernel on the data (~0.7 ms per 4 MiB measured here).
void hint_fresh_output(void* p, size_t bytes);

}  // namespace ab

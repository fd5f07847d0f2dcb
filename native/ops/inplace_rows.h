// SPDX-License-Identifier: Apache-2.0
// Row ops written in place: an op whose output row r (of `rows`, each `row_out` floats, stored in
// order from the start of the buffer) is computed from input rows stored in the same buffer from
// its start (pooling, a depthwise convolution: their output is no larger than their input). The
// graph planner hands such an op its input's memory as its output, so the input and the output
// are never alive at once (the plan's peak drops below what running the op out of place needs).
//
// How: output rows are computed in blocks (in parallel) into a small pending buffer; an output row
// is copied to its place only once no output row still to be computed reads the input bytes it
// covers. need(r) is the first input float (flat index) that output rows r, r+1, ... read: it must
// not decrease with r. The pending buffer holds the block plus the rows that must wait (for a
// stride-1 op with p rows of top padding, p rows), and grows if a geometry needs more.
// AFTERBURNER_INPLACE_ROWS=n sets the rows per block (tests).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "runtime/thread_pool.h"

namespace ab::inplace {

template <typename Compute, typename Need>
void run_rows(float* xy, int64_t rows, int64_t row_out, int64_t lag_hint, Compute&& compute, Need&& need) {
  if (rows <= 0 || row_out <= 0) return;
  const int nt = get_num_threads();
  // Rows per block: enough work per thread (~64K floats of output per thread and block).
  const int64_t per_thread = std::max<int64_t>(1, (int64_t{1} << 16) / row_out);
  int64_t block = std::min<int64_t>(rows, per_thread * (nt > 0 ? nt : 1));
  // Tests set small blocks (AFTERBURNER_INPLACE_ROWS) to exercise the waiting rows on small shapes.
  if (const char* e = std::getenv("AFTERBURNER_INPLACE_ROWS")) {
    const long v = std::strtol(e, nullptr, 10);
    if (v > 0) block = std::min<int64_t>(rows, v);
  }
  int64_t cap = block + std::max<int64_t>(lag_hint, 0) + 1;
  std::vector<float> ring(static_cast<size_t>(cap * row_out));
  int64_t next = 0, written = 0;  // rows [written, next) are computed and wait in `ring`
  auto slot = [&](int64_t r) { return ring.data() + (r % cap) * row_out; };
  while (written < rows) {
    if (next < rows && next - written == cap) {
      // Full and nothing could be written: make room (a geometry whose rows wait longer).
      std::vector<float> bigger(static_cast<size_t>(2 * cap * row_out));
      for (int64_t r = written; r < next; ++r)
        std::memcpy(bigger.data() + (r % (2 * cap)) * row_out, slot(r), sizeof(float) * row_out);
      ring.swap(bigger);
      cap *= 2;
    }
    if (next < rows) {
      const int64_t n = std::min(std::min(block, rows - next), cap - (next - written));
      const int64_t first = next;
      parallel_for(n, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) compute(first + i, slot(first + i));
      });
      next += n;
    }
    const int64_t still = next < rows ? need(next) : INT64_MAX;
    while (written < next && (written + 1) * row_out <= still) {
      std::memcpy(xy + written * row_out, slot(written), sizeof(float) * row_out);
      ++written;
    }
  }
}

}  // namespace ab::inplace

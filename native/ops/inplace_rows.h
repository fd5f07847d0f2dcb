// SPDX-License-Identifier: Apache-2.0
// Row ops written in place: an op whose output row r (of `rows`, each `row_out` floats, stored in
// order from the start of the buffer) is computed from input rows stored in the same buffer from
// its start (pooling, a convolution whose output rows are no more and no longer than its input's).
// The graph planner hands such an op its input's memory as its output, so the input and the output
// are never alive at once (the plan's peak drops below what running the op out of place needs).
//
// How: output rows are computed a block at a time into a pending buffer (compute(r0, r1, dst)
// writes rows [r0, r1) contiguously at dst, reading only the input); an output row is copied to
// its place only once no output row still to be computed reads the input bytes it covers. need(r)
// is the first input float (flat index) that output rows r, r+1, ... read: it must not decrease
// with r. The buffer holds the block plus the rows that must wait (for a stride-1 op with p rows
// of top padding, p rows), and grows if a geometry needs more. AFTERBURNER_INPLACE_ROWS=n sets the
// rows per block (tests: it makes rows wait on small shapes).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace ab::inplace {

// Rows per block: about `floats` output floats (at least one row), unless AFTERBURNER_INPLACE_ROWS.
inline int64_t block_rows(int64_t rows, int64_t row_out, int64_t floats) {
  int64_t block = std::min<int64_t>(rows, std::max<int64_t>(1, floats / std::max<int64_t>(row_out, 1)));
  if (const char* e = std::getenv("AFTERBURNER_INPLACE_ROWS")) {
    const long v = std::strtol(e, nullptr, 10);
    if (v > 0) block = std::min<int64_t>(rows, v);
  }
  return block;
}

template <typename Compute, typename Need>
void run_rows(float* xy, int64_t rows, int64_t row_out, int64_t block, Compute&& compute, Need&& need) {
  if (rows <= 0 || row_out <= 0) return;
  block = std::max<int64_t>(1, std::min(block, rows));
  // pending: rows [written, next) computed and waiting, stored in order from buf's start.
  std::vector<float> buf(static_cast<size_t>(2 * block * row_out));
  int64_t next = 0, written = 0;
  while (written < rows) {
    if (next < rows) {
      const int64_t n = std::min(block, rows - next), waiting = next - written;
      if (static_cast<size_t>((waiting + n) * row_out) > buf.size()) buf.resize(static_cast<size_t>((waiting + n) * row_out));
      compute(next, next + n, buf.data() + waiting * row_out);
      next += n;
    }
    const int64_t still = next < rows ? need(next) : INT64_MAX;
    int64_t done = 0;
    while (written + done < next && (written + done + 1) * row_out <= still) ++done;
    if (done > 0) {
      std::memcpy(xy + written * row_out, buf.data(), sizeof(float) * static_cast<size_t>(done * row_out));
      written += done;
      if (written < next) std::memmove(buf.data(), buf.data() + done * row_out, sizeof(float) * static_cast<size_t>((next - written) * row_out));
    }
  }
}

}  // namespace ab::inplace

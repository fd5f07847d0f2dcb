// SPDX-License-Identifier: Apache-2.0
// Dynamic update slice (XLA's DynamicUpdateSlice): the state-buffer write of a decoder step (a KV
// cache row at position `pos`), done in place when out == x.
#pragma once
#include <cstdint>

namespace ab {

constexpr int kUpdateSliceMaxRank = 8;

// out = x with `update` written at `start` (4-byte elements, moved bitwise). Shapes have rank r
// (1..kUpdateSliceMaxRank), upd[i] <= dims[i]; start[i] is clamped to [0, dims[i] - upd[i]] as XLA
// does, when the op runs (a compiled plan replays it with the position of that run). out may
// equal x (then only the updated region is written); otherwise x is copied first.
void update_slice_4(const uint32_t* x, const int64_t* dims, int r, const uint32_t* update, const int64_t* upd,
                    const int32_t* start, uint32_t* out);

}  // namespace ab

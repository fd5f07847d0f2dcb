// SPDX-License-Identifier: Apache-2.0
#include "ops/update_slice.h"

#include <algorithm>
#include <cstring>

namespace ab {

void update_slice_4(const uint32_t* x, const int64_t* dims, int r, const uint32_t* update, const int64_t* upd,
                    const int32_t* start, uint32_t* out) {
  int64_t n = 1, nu = 1;
  for (int i = 0; i < r; ++i) {
    n *= dims[i];
    nu *= upd[i];
  }
  if (out != x && n > 0) std::memcpy(out, x, static_cast<size_t>(n) * 4);
  if (nu == 0) return;
  int64_t s[kUpdateSliceMaxRank], stride[kUpdateSliceMaxRank], idx[kUpdateSliceMaxRank] = {0};
  int64_t st = 1;
  for (int i = r - 1; i >= 0; --i) {
    s[i] = std::min(std::max<int64_t>(start[i], 0), dims[i] - upd[i]);
    stride[i] = st;
    st *= dims[i];
  }
  const int64_t row = upd[r - 1];
  const int64_t rows = nu / row;
  for (int64_t k = 0; k < rows; ++k) {
    int64_t off = s[r - 1];
    for (int i = 0; i < r - 1; ++i) off += (s[i] + idx[i]) * stride[i];
    std::memcpy(out + off, update + k * row, static_cast<size_t>(row) * 4);
    for (int i = r - 2; i >= 0; --i) {  // odometer over the update's leading dims
      if (++idx[i] < upd[i]) break;
      idx[i] = 0;
    }
  }
}

}  // namespace ab

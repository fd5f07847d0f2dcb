// SPDX-License-Identifier: Apache-2.0
// The broadcasting plan of a binary op (numpy/tfjs rules), shared by the float binary ops
// (ops/elementwise.cc) and the comparisons (ops/select.cc): output dims of size 1 are dropped,
// neighbours that broadcast the same way are merged, and the output is walked as `rows` inner runs
// of n elements in which each operand is either a vector (stride 1) or one value (stride 0).
// ISA-neutral; the caller supplies the per-run function.
#pragma once
#include <cstdint>

#include "ops/elementwise.h"
#include "runtime/thread_pool.h"

namespace ab {

// Inner-run forms: both vectors, a vector and b one value, the reverse, both one value.
enum BroadcastForm : int { kBcVV = 0, kBcVS = 1, kBcSV = 2, kBcSS = 3 };

struct BroadcastPlan {
  int k = 0;  // collapsed rank (>= 1)
  int64_t dim[kEwMaxRank];
  int64_t sa[kEwMaxRank], sb[kEwMaxRank];  // element strides of a and b per collapsed dim (0: broadcast)
  int form = kBcVV;
  int64_t n = 0;      // inner run length (dim[k-1])
  int64_t rows = 0;   // total / n
  int64_t total = 0;  // output elements
};

// Plans out (os, orank) = f(a (as, ar), b (bs, br)); the shapes must broadcast (checked by the
// addon). Returns false when the output is empty.
inline bool plan_broadcast(const int64_t* as, int ar, const int64_t* bs, int br, const int64_t* os, int orank,
                           BroadcastPlan* p) {
  int64_t total = 1;
  for (int d = 0; d < orank; ++d) total *= os[d];
  p->total = total;
  if (total == 0) return false;
  int ka[kEwMaxRank], kb[kEwMaxRank];
  int k = 0;
  for (int d = 0; d < orank; ++d) {
    const int64_t n = os[d];
    if (n == 1) continue;
    const int ia = d - (orank - ar), ib = d - (orank - br);
    const int va = (ia >= 0 && as[ia] != 1) ? 1 : 0;
    const int vb = (ib >= 0 && bs[ib] != 1) ? 1 : 0;
    if (k > 0 && ka[k - 1] == va && kb[k - 1] == vb) {
      p->dim[k - 1] *= n;
    } else {
      p->dim[k] = n;
      ka[k] = va;
      kb[k] = vb;
      ++k;
    }
  }
  if (k == 0) {  // every dim is 1: one element each
    p->dim[0] = 1;
    ka[0] = kb[0] = 1;
    k = 1;
  }
  p->k = k;
  int64_t ra = 1, rb = 1;
  for (int d = k - 1; d >= 0; --d) {
    p->sa[d] = ka[d] ? ra : 0;
    p->sb[d] = kb[d] ? rb : 0;
    if (ka[d]) ra *= p->dim[d];
    if (kb[d]) rb *= p->dim[d];
  }
  p->n = p->dim[k - 1];
  p->rows = total / p->n;
  const int ia = ka[k - 1], ib = kb[k - 1];
  p->form = ia ? (ib ? kBcVV : kBcVS) : (ib ? kBcSV : kBcSS);
  return true;
}

// Offsets of a and b for run number `row` (row-major over dims 0..k-2); idx (optional) gets the
// run's coordinates.
inline void broadcast_row_offsets(const BroadcastPlan& p, int64_t row, int64_t* idx, int64_t* oa, int64_t* ob) {
  int64_t a = 0, b = 0;
  for (int d = p.k - 2; d >= 0; --d) {
    const int64_t i = row % p.dim[d];
    row /= p.dim[d];
    if (idx) idx[d] = i;
    a += i * p.sa[d];
    b += i * p.sb[d];
  }
  *oa = a;
  *ob = b;
}

// Runs piece(a_off, b_off, out_off, len) over every inner run, on threads when the output has at
// least 2 * grain elements: a piece is `len` outputs from out_off on, whose a and b elements start
// at a_off and b_off (a vector side advances with the output, a one-value side stays). Few long
// runs are cut into chunks (multiples of 64 elements, at least grain / 2) so every thread gets work.
template <class Piece>
void broadcast_for(const BroadcastPlan& p, int64_t grain, Piece&& piece) {
  const bool va = p.form == kBcVV || p.form == kBcVS, vb = p.form == kBcVV || p.form == kBcSV;
  auto rows = [&](int64_t i0, int64_t i1) {
    int64_t idx[kEwMaxRank];
    int64_t oa, ob;
    broadcast_row_offsets(p, i0, idx, &oa, &ob);
    for (int64_t q = i0; q < i1; ++q) {
      piece(oa, ob, q * p.n, p.n);
      for (int d = p.k - 2; d >= 0; --d) {  // odometer step
        oa += p.sa[d];
        ob += p.sb[d];
        if (++idx[d] < p.dim[d]) break;
        oa -= p.sa[d] * p.dim[d];
        ob -= p.sb[d] * p.dim[d];
        idx[d] = 0;
      }
    }
  };
  const int nt = p.total < 2 * grain ? 1 : get_num_threads();
  if (nt <= 1) {
    rows(0, p.rows);
    return;
  }
  if (p.rows < 4 * nt && p.n >= 2 * grain) {
    int64_t want = (4 * nt + p.rows - 1) / p.rows;
    int64_t clen = (p.n + want - 1) / want;
    clen = (clen + 63) & ~int64_t{63};
    if (clen < grain / 2) clen = grain / 2;
    const int64_t cpr = (p.n + clen - 1) / clen;
    parallel_for(p.rows * cpr, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t it = i0; it < i1; ++it) {
        const int64_t row = it / cpr, beg = (it % cpr) * clen;
        const int64_t len = p.n - beg < clen ? p.n - beg : clen;
        if (len <= 0) continue;
        int64_t oa, ob;
        broadcast_row_offsets(p, row, nullptr, &oa, &ob);
        piece(oa + (va ? beg : 0), ob + (vb ? beg : 0), row * p.n + beg, len);
      }
    });
    return;
  }
  const int64_t grain_rows = p.n >= grain ? 1 : grain / p.n;
  parallel_for(p.rows, grain_rows, rows);
}

}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
// Broadcast binary ops and unary ops: shape collapse, threading, dispatch.
#include "ops/elementwise.h"

#include "ops/ew_kernels.h"
#include "runtime/thread_pool.h"

namespace ab {
namespace {

const DispatchStub<BinRunFn (*)(int, int)> binary_stub = {AB_STUB_SLOTS(binary_run_fn)};
const DispatchStub<void (*)(int, const float*, float*, int64_t, float)> unary_stub = {
    AB_STUB_SLOTS(unary_f32)};
const DispatchStub<void (*)(const float*, float*, int64_t, float, float)> clip_stub = {
    AB_STUB_SLOTS(clip_f32)};

// Work below this many output elements runs on the calling thread.
constexpr int64_t kCheapGrain = int64_t{1} << 15;   // add, mul, relu, ...
constexpr int64_t kCostlyGrain = int64_t{1} << 12;  // exp, log, tanh, erf, sigmoid, elu

struct BinPlan {
  BinRunFn fn = nullptr;
  BinRunFn vv = nullptr;  // for the scalar-scalar inner form
  int form = 0;           // kFormVV/VS/SV, or 3 = both inner strides 0
  int k = 0;              // collapsed rank (>= 1)
  int64_t dim[kEwMaxRank];
  int64_t sa[kEwMaxRank], sb[kEwMaxRank];
  int64_t n = 0;     // inner run length (dim[k-1])
  int64_t cpr = 1;   // chunks per run (threading of few long runs)
  int64_t clen = 0;  // chunk length
  const float* a;
  const float* b;
  float* out;
};

inline void run_piece(const BinPlan& p, int64_t oa, int64_t ob, int64_t oo, int64_t beg, int64_t len) {
  const float* pa = p.a + oa;
  const float* pb = p.b + ob;
  float* po = p.out + oo + beg;
  switch (p.form) {
    case kFormVV: p.fn(pa + beg, pb + beg, po, len); return;
    case kFormVS: p.fn(pa + beg, pb, po, len); return;
    case kFormSV: p.fn(pa, pb + beg, po, len); return;
    default: {
      float v;
      p.vv(pa, pb, &v, 1);
      for (int64_t i = 0; i < len; ++i) po[i] = v;
    }
  }
}

// Offsets of a and b for run number `row` (row-major over dims 0..k-2).
inline void row_offsets(const BinPlan& p, int64_t row, int64_t* idx, int64_t* oa, int64_t* ob) {
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

void run_items(const BinPlan& p, int64_t i0, int64_t i1) {
  if (p.cpr == 1) {
    int64_t idx[kEwMaxRank];
    int64_t oa, ob;
    row_offsets(p, i0, idx, &oa, &ob);
    for (int64_t q = i0; q < i1; ++q) {
      run_piece(p, oa, ob, q * p.n, 0, p.n);
      for (int d = p.k - 2; d >= 0; --d) {  // odometer step
        oa += p.sa[d];
        ob += p.sb[d];
        if (++idx[d] < p.dim[d]) break;
        oa -= p.sa[d] * p.dim[d];
        ob -= p.sb[d] * p.dim[d];
        idx[d] = 0;
      }
    }
    return;
  }
  for (int64_t it = i0; it < i1; ++it) {
    const int64_t row = it / p.cpr, ch = it % p.cpr;
    const int64_t beg = ch * p.clen;
    const int64_t len = p.n - beg < p.clen ? p.n - beg : p.clen;
    if (len <= 0) continue;
    int64_t oa, ob;
    row_offsets(p, row, nullptr, &oa, &ob);
    run_piece(p, oa, ob, row * p.n, beg, len);
  }
}

}  // namespace

void ew_binary(int op, const float* a, const int64_t* as, int ar, const float* b, const int64_t* bs,
               int br, float* out, const int64_t* os, int orank) {
  int64_t total = 1;
  for (int d = 0; d < orank; ++d) total *= os[d];
  if (total == 0) return;

  BinPlan p;
  p.a = a;
  p.b = b;
  p.out = out;
  // Collapse: drop size-1 output dims, merge neighbours that broadcast the same way.
  int ka[kEwMaxRank], kb[kEwMaxRank];
  int k = 0;
  for (int d = 0; d < orank; ++d) {
    const int64_t n = os[d];
    if (n == 1) continue;
    const int ia = d - (orank - ar), ib = d - (orank - br);
    const int va = (ia >= 0 && as[ia] != 1) ? 1 : 0;
    const int vb = (ib >= 0 && bs[ib] != 1) ? 1 : 0;
    if (k > 0 && ka[k - 1] == va && kb[k - 1] == vb) {
      p.dim[k - 1] *= n;
    } else {
      p.dim[k] = n;
      ka[k] = va;
      kb[k] = vb;
      ++k;
    }
  }
  if (k == 0) {  // every dim is 1: one element each
    p.dim[0] = 1;
    ka[0] = kb[0] = 1;
    k = 1;
  }
  p.k = k;
  int64_t ra = 1, rb = 1;
  for (int d = k - 1; d >= 0; --d) {
    p.sa[d] = ka[d] ? ra : 0;
    p.sb[d] = kb[d] ? rb : 0;
    if (ka[d]) ra *= p.dim[d];
    if (kb[d]) rb *= p.dim[d];
  }
  p.n = p.dim[k - 1];
  const int ia = ka[k - 1], ib = kb[k - 1];
  p.form = ia ? (ib ? kFormVV : kFormVS) : (ib ? kFormSV : 3);
  const auto get = binary_stub.get();
  p.vv = get(op, kFormVV);
  p.fn = p.form == 3 ? p.vv : get(op, p.form);

  const int64_t rows = total / p.n;
  if (total < 2 * kCheapGrain) {
    run_items(p, 0, rows);
    return;
  }
  const int nt = get_num_threads();
  if (nt <= 1) {
    run_items(p, 0, rows);
    return;
  }
  if (rows < 4 * nt && p.n >= 2 * kCheapGrain) {
    // Few long runs: cut each run into chunks (multiples of 64 floats).
    int64_t want = (4 * nt + rows - 1) / rows;
    int64_t clen = (p.n + want - 1) / want;
    clen = (clen + 63) & ~int64_t{63};
    if (clen < kCheapGrain / 2) clen = kCheapGrain / 2;
    p.clen = clen;
    p.cpr = (p.n + clen - 1) / clen;
    parallel_for(rows * p.cpr, 1, [&](int64_t i0, int64_t i1) { run_items(p, i0, i1); });
    return;
  }
  const int64_t grain_rows = p.n >= kCheapGrain ? 1 : kCheapGrain / p.n;
  parallel_for(rows, grain_rows, [&](int64_t i0, int64_t i1) { run_items(p, i0, i1); });
}

void ew_unary(int op, const float* x, float* out, int64_t n, float alpha) {
  if (n <= 0) return;
  const auto fn = unary_stub.get();
  const bool cheap = op == kUnRelu || op == kUnRelu6 || op == kUnLeakyRelu || op == kUnSqrt ||
                     op == kUnRsqrt || op == kUnSquare || op == kUnNeg || op == kUnAbs;
  const int64_t grain = cheap ? kCheapGrain : kCostlyGrain;
  if (n < 2 * grain || get_num_threads() <= 1) {
    fn(op, x, out, n, alpha);
    return;
  }
  parallel_for(n, grain, [&](int64_t b, int64_t e) { fn(op, x + b, out + b, e - b, alpha); });
}

void ew_clip(const float* x, float* out, int64_t n, float lo, float hi) {
  if (n <= 0) return;
  const auto fn = clip_stub.get();
  if (n < 2 * kCheapGrain || get_num_threads() <= 1) {
    fn(x, out, n, lo, hi);
    return;
  }
  parallel_for(n, kCheapGrain, [&](int64_t b, int64_t e) { fn(x + b, out + b, e - b, lo, hi); });
}

}  // namespace ab

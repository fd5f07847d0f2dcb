// SPDX-License-Identifier: Apache-2.0
#include "depthwise.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "dispatch/dispatch.h"
#include "op_codes.h"
#include "runtime/thread_pool.h"

AB_DECLARE_KERNEL(void, depthwise_rows_f32,
                  (const float* x, const float* w, const ::ab::DepthwiseParams& p, int64_t b, int64_t oh, int nrows,
                   int64_t c0, int64_t c1, float* const* out, int64_t ostride, const float* bias, const float* slope,
                   int act, float alpha, const ::ab::DepthwiseShift* shift))

namespace ab {
namespace {
using RowsFn = void (*)(const float*, const float*, const DepthwiseParams&, int64_t, int64_t, int, int64_t, int64_t,
                        float* const*, int64_t, const float*, const float*, int, float, const DepthwiseShift*);
const DispatchStub<RowsFn> depthwise_rows_stub = {AB_STUB_SLOTS(depthwise_rows_f32)};

// Multiply-adds per chunk a thread should get at least (tiny convolutions stay on one thread).
constexpr int64_t kGrainWork = 65536;

int64_t grain_for(int64_t items, int64_t work) {
  const int64_t per = work / (items > 0 ? items : 1);
  return per >= kGrainWork ? 1 : kGrainWork / (per > 0 ? per : 1);
}

// ---- in place -----------------------------------------------------------------------------------
// y == x, channel multiplier 1, out positions <= in positions. Output element (position P, channel
// c) lies exactly where input element (P, c) lies, so writing output position P destroys input
// position P of the same channels only. Output rows are computed in order (flat row index
// R = b * out_h + oh, blocks of up to two rows of one batch); lo(R) is the first flat input row any
// output row >= R may read. Output row Q may be written to y once (Q + 1) * out_w <= lo(R) * in_w
// for the next block R to compute (everything still to be read lies past it); until then it
// waits in a pending row of the thread's own. Rows safe when their block starts are written
// straight to y. Threads split the channels (16 at a time, on cache-line boundaries), never the
// rows: each reads and writes only its own channels.
struct InPlaceSchedule {
  const DepthwiseParams& p;
  int64_t lo(int64_t R) const {  // R = total rows: past the end
    if (R >= p.batch * p.out_h) return INT64_MAX / 4 / (p.in_w > 0 ? p.in_w : 1);
    const int64_t b = R / p.out_h, oh = R % p.out_h;
    int64_t t = oh * p.stride_h - p.pad_top;
    t = t < 0 ? 0 : t > p.in_h ? p.in_h : t;
    return b * p.in_h + t;
  }
  bool safe(int64_t Q, int64_t L) const { return (Q + 1) * p.out_w <= L * p.in_w; }
  // Walks the blocks: at each, flush(Q) for rows that became safe, then place(Q, direct) for the
  // block's rows, then block(b, oh, n). At the end every pending row is flushed.
  template <typename Flush, typename Place, typename Block>
  void walk(Flush&& flush, Place&& place, Block&& block) const {
    int64_t qf = 0, qn = 0;  // pending rows [qf, qn)
    for (int64_t b = 0; b < p.batch; ++b)
      for (int64_t oh = 0; oh < p.out_h; oh += 2) {
        const int n = p.out_h - oh >= 2 ? 2 : 1;
        const int64_t R = b * p.out_h + oh, L = lo(R);
        while (qf < qn && safe(qf, L)) flush(qf++);
        for (int64_t Q = R; Q < R + n; ++Q) {
          const bool direct = qf == qn && safe(Q, L);
          if (direct) qf = qn = Q + 1;
          else qn = Q + 1;
          place(Q, direct, qn - qf);
        }
        block(b, oh, n);
      }
    while (qf < qn) flush(qf++);
  }
};

void depthwise_in_place(float* y, const float* w, const DepthwiseParams& p, const float* bias, const float* slope,
                        int act, float alpha, RowsFn rows, const DepthwiseShift* shift) {
  const InPlaceSchedule s{p};
  int64_t slots = 0;
  s.walk([](int64_t) {}, [&](int64_t, bool, int64_t pending) { slots = pending > slots ? pending : slots; },
         [](int64_t, int64_t, int) {});
  // Channel slices of 16 whose boundaries fall on 64-byte lines of y at every position (C a
  // multiple of 16; V8's large arrays start 16 bytes into a line): threads that shared a line
  // would pass it back and forth at every position. Other C: one thread.
  const int64_t C = p.in_c;
  const int64_t first = C % 16 == 0 ? (16 - static_cast<int64_t>(reinterpret_cast<uintptr_t>(y) / sizeof(float) % 16)) % 16 : 0;
  std::vector<int64_t> start;
  if (first > 0) start.push_back(0);
  for (int64_t c = first; c < C; c += 16) start.push_back(c);
  const int64_t slices = static_cast<int64_t>(start.size());
  start.push_back(C);
  const int64_t work = p.batch * p.out_h * p.out_w * C * p.f_h * p.f_w;
  // At least 4 slices (64 channels) a thread: thinner slices make each thread stream all of x
  // for little work (a thread whose core is busy has its share run by the caller, slice after slice).
  int64_t grain = C % 16 == 0 ? grain_for(slices, work) : slices;
  if (grain < 4) grain = 4;
  parallel_for(slices, grain, [&](int64_t s0, int64_t s1) {
    const int64_t c0 = start[s0], c1 = start[s1], cw = c1 - c0;
    std::vector<float> pend(static_cast<size_t>(slots > 0 ? slots : 1) * p.out_w * cw);
    auto slot = [&](int64_t Q) { return pend.data() + (Q % (slots > 0 ? slots : 1)) * p.out_w * cw; };
    float* dst[2];
    int nd = 0;
    s.walk(
        [&](int64_t Q) {
          const float* src = slot(Q);
          float* to = y + Q * p.out_w * C + c0;
          if (cw == C) {
            std::memcpy(to, src, static_cast<size_t>(p.out_w * C) * sizeof(float));
          } else {
            for (int64_t ow = 0; ow < p.out_w; ++ow) {  // short runs: a loop, not memcpy calls
              float* __restrict d = to + ow * C;
              const float* __restrict q = src + ow * cw;
              for (int64_t c = 0; c < cw; ++c) d[c] = q[c];
            }
          }
        },
        [&](int64_t Q, bool direct, int64_t) {
          dst[nd++] = direct ? nullptr : slot(Q);  // nullptr: straight to y
        },
        [&](int64_t b, int64_t oh, int n) {
          // Rows to y have position stride C, pending rows cw: a block whose rows go to different
          // kinds of place runs row by row.
          const int64_t R = b * p.out_h + oh;
          float* yrow[2] = {y + R * p.out_w * C + c0, y + (R + 1) * p.out_w * C + c0};
          const bool d0 = dst[0] == nullptr, d1 = n > 1 && dst[1] == nullptr;
          if (n == 1 || d0 == d1) {
            float* o[2] = {d0 ? yrow[0] : dst[0], n > 1 ? (d1 ? yrow[1] : dst[1]) : nullptr};
            rows(y, w, p, b, oh, n, c0, c1, o, d0 ? C : cw, bias, slope, act, alpha, shift);
          } else {
            for (int r = 0; r < n; ++r) {
              const bool d = dst[r] == nullptr;
              float* o[1] = {d ? yrow[r] : dst[r]};
              rows(y, w, p, b, oh + r, 1, c0, c1, o, d ? C : cw, bias, slope, act, alpha, shift);
            }
          }
          nd = 0;
        });
  });
}

// The rotated filter, bias and slopes when x and y start s != 0 floats into a 64-byte line, at
// stride 1 with C a multiple of 16 (nullptr otherwise: the tiles' plain loads are then on lines
// or nothing is gained).
const DepthwiseShift* make_shift(const float* x, const float* y, const float* w, const DepthwiseParams& p,
                                 const float* bias, const float* slope, int act, std::vector<float>* rot,
                                 DepthwiseShift* sh) {
  const int64_t C = p.in_c, taps = p.f_h * p.f_w;
  const uintptr_t xa = reinterpret_cast<uintptr_t>(x), ya = reinterpret_cast<uintptr_t>(y);
  const int64_t s = static_cast<int64_t>(xa / sizeof(float) % 16);
  if (p.mult != 1 || p.stride_w != 1 || C % 16 != 0 || xa % sizeof(float) != 0 || s == 0 || (ya - xa) % 64 != 0)
    return nullptr;
  rot->resize(static_cast<size_t>((taps + 2) * C + 16));
  float* buf = rot->data();  // on a 64-byte line, like the vectors the tiles load from x and y
  buf += (16 - static_cast<int64_t>(reinterpret_cast<uintptr_t>(buf) / sizeof(float) % 16)) % 16;
  auto rotate = [&](const float* src, float* dst) {  // dst[j] = src[(j - s) mod C]
    std::memcpy(dst, src + (C - s), static_cast<size_t>(s) * sizeof(float));
    std::memcpy(dst + s, src, static_cast<size_t>(C - s) * sizeof(float));
  };
  for (int64_t t = 0; t < taps; ++t) rotate(w + t * C, buf + t * C);
  *sh = {s, buf, nullptr, nullptr};
  if (bias) {
    rotate(bias, buf + taps * C);
    sh->bias = buf + taps * C;
  }
  if (act == kActPrelu && slope) {
    rotate(slope, buf + (taps + 1) * C);
    sh->slope = buf + (taps + 1) * C;
  }
  return sh;
}

}  // namespace

bool depthwise_in_place_ok(const DepthwiseParams& p) {
  return p.mult == 1 && p.out_h * p.out_w <= p.in_h * p.in_w;
}

void depthwise_nhwc_f32(const float* x, const float* w, float* y, const DepthwiseParams& p, const float* bias,
                        const float* slope, int act, float alpha) {
  const int64_t OC = p.in_c * p.mult;
  if (p.batch * p.out_h == 0 || p.out_w == 0 || OC == 0) return;
  const RowsFn rows = depthwise_rows_stub.get();
  std::vector<float> rot;
  if (static_cast<const float*>(y) == x) {
    if (depthwise_in_place_ok(p)) {
      DepthwiseShift sh;
      const DepthwiseShift* shift = make_shift(y, y, w, p, bias, slope, act, &rot, &sh);
      depthwise_in_place(y, w, p, bias, slope, act, alpha, rows, shift);
      return;
    }
    // Not computable in place: from a copy of x (the N-API layer never asks for this).
    const std::vector<float> xc(x, x + p.batch * p.in_h * p.in_w * p.in_c);
    depthwise_nhwc_f32(xc.data(), w, y, p, bias, slope, act, alpha);
    return;
  }
  DepthwiseShift sh;
  const DepthwiseShift* shift = make_shift(x, y, w, p, bias, slope, act, &rot, &sh);
  // Out of place: threads split blocks of two output rows (one batch each).
  const int64_t pairs = (p.out_h + 1) / 2, blocks = p.batch * pairs;
  const int64_t work = p.batch * p.out_h * p.out_w * OC * p.f_h * p.f_w;
  parallel_for(blocks, grain_for(blocks, work), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / pairs, oh = i % pairs * 2;
      const int n = p.out_h - oh >= 2 ? 2 : 1;
      float* o[2] = {y + (b * p.out_h + oh) * p.out_w * OC, y + (b * p.out_h + oh + 1) * p.out_w * OC};
      rows(x, w, p, b, oh, n, 0, p.in_c, o, OC, bias, slope, act, alpha, shift);
    }
  });
}

}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
// The ISA-neutral GEMM driver: picks the per-level kernels through DispatchStubs, chooses the
// path (K == 0, GEMV, blocked, batched) and splits work across the thread pool.
//
// Blocked path (BLIS loop order), per thread on its own sub-rectangle of C:
//   jc (NC columns, packed B block in L2/L3) -> pc (KC deep; pack B) -> ic (MC rows; pack A into
//   L2) -> macro kernel: jr (NR micro-panel of B in L1) -> ir (MR rows) -> micro-kernel.
// Threads get a tm x tn grid of C on tile boundaries (each packs its own A and B slices, so no
// barriers are needed). The K blocking depends only on K, so per-output summation order, and
// therefore the result, is independent of the thread count.
#include <atomic>
#include "gemm/gemm.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "dispatch/dispatch.h"
#include "gemm/addend_copy.h"
#include "gemm/driver_common.h"
#include "gemm/gemm_kernels.h"
#include "ops/op_codes.h"
#include "runtime/thread_pool.h"

namespace ab::gemm {
namespace {
using driver::balanced;
using driver::cdiv;
using driver::Grid;
using driver::min64;
using driver::pick;
using driver::rup;
using driver::threads_for;

using ParamsFn = void (*)(KernelParams*);
using PackAFn = void (*)(const float*, int64_t, int64_t, int64_t, int64_t, float*);
using PackBFn = void (*)(const float*, int64_t, int64_t, int64_t, int64_t, float*);
using PackRowsFnT = void (*)(const float* const*, int, int64_t, float*);
using TileFnT = void (*)(const TileSeg*, int, int64_t, const float*, int64_t, int, int, float*, int64_t,
                         const Epilogue*, int64_t);
using MacroFn = void (*)(const float*, const float*, int64_t, int64_t, int64_t, float*, int64_t, int,
                         const Epilogue*, int64_t, int64_t);
using GemvTFn = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t, int64_t);
using GemvNFn = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t);
using EpiFn = void (*)(float*, int64_t, int64_t, int64_t, const Epilogue*, int64_t, int64_t);

const DispatchStub<ParamsFn> params_stub = {AB_STUB_SLOTS(sgemm_params)};
const DispatchStub<PackAFn> pack_a_stub = {AB_STUB_SLOTS(sgemm_pack_a)};
const DispatchStub<PackBFn> pack_b_stub = {AB_STUB_SLOTS(sgemm_pack_b)};
const DispatchStub<PackRowsFnT> pack_rows_stub = {AB_STUB_SLOTS(sgemm_pack_a_rows)};
const DispatchStub<TileFnT> tile_rows_stub = {AB_STUB_SLOTS(sgemm_tile_br)};
using TileWideFnT = void (*)(const TileSeg*, int, int64_t, const float*, int64_t, int, float*, int64_t, const Epilogue*,
                             int64_t);
const DispatchStub<TileWideFnT> tile_wide_stub = {AB_STUB_SLOTS(sgemm_tile_br_wide)};
const DispatchStub<MacroFn> macro_stub = {AB_STUB_SLOTS(sgemm_macro)};
using MacroBdFn = void (*)(const float*, const float*, int64_t, int64_t, int64_t, int64_t, float*, int64_t, int,
                           const Epilogue*, int64_t, int64_t, int);
const DispatchStub<MacroBdFn> macro_bd_stub = {AB_STUB_SLOTS(sgemm_macro_bdirect)};
const DispatchStub<GemvTFn> gemv_t_stub = {AB_STUB_SLOTS(sgemv_t)};
const DispatchStub<GemvNFn> gemv_n_stub = {AB_STUB_SLOTS(sgemv_n)};
const DispatchStub<EpiFn> epi_stub = {AB_STUB_SLOTS(sgemm_epilogue)};

struct Kern {
  int level;
  KernelParams p;
  PackAFn pack_a;
  PackBFn pack_b;
  PackRowsFnT pack_rows;
  MacroFn macro;
  MacroBdFn macro_bd;
  GemvTFn gemv_t;
  GemvNFn gemv_n;
  EpiFn epi;
};

// Tuning aid: AFTERBURNER_GEMM_BLOCKS="kc,mc,nc" overrides the cache blocks (mc, nc are rounded
// to the register tile). Read once.
const driver::BlockOverride g_override("AFTERBURNER_GEMM_BLOCKS");

Kern current_kernel() {
  Kern k;
  k.level = static_cast<int>(params_stub.level());
  pick(params_stub, k.level)(&k.p);
  if (g_override.kc > 0) {
    k.p.kc = static_cast<int>(g_override.kc);
    k.p.mc = static_cast<int>((g_override.mc + k.p.mr - 1) / k.p.mr * k.p.mr);
    k.p.nc = static_cast<int>((g_override.nc + k.p.nr - 1) / k.p.nr * k.p.nr);
  }
  k.pack_a = pick(pack_a_stub, k.level);
  k.pack_b = pick(pack_b_stub, k.level);
  k.pack_rows = pick(pack_rows_stub, k.level);
  k.macro = pick(macro_stub, k.level);
  k.macro_bd = pick(macro_bd_stub, k.level);
  k.gemv_t = pick(gemv_t_stub, k.level);
  k.gemv_n = pick(gemv_n_stub, k.level);
  k.epi = pick(epi_stub, k.level);
  return k;
}

struct Prob {
  bool ta, tb;
  int64_t M, N, K;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float* C;
  int64_t ldc;
  const Epilogue* ep;  // resolved (lds filled) or null
  const AGen* agen;    // A generated panel by panel (then A, lda, ta are unused), or null
  const float* pb;     // prepacked B fitting this kernel (see PackedB), or null
  int64_t pb_npad;     // its row length: N rounded up to NR
  // op(A)(i, k) = A[i * rsa + k * csa]; op(B)(k, j) = B[k * rsb + j * csb]
  int64_t rsa() const { return ta ? 1 : lda; }
  int64_t csa() const { return ta ? lda : 1; }
  int64_t rsb() const { return tb ? 1 : ldb; }
  int64_t csb() const { return tb ? ldb : 1; }
};

// K block: depends on K only (it fixes the summation order).
int64_t k_block(const Kern& kn, int64_t K) {
  const int64_t nb = cdiv(K, kn.p.kc);
  return cdiv(K, nb);
}

// Scratch floats one thread needs for the blocked path on any sub-range of an m x n problem.
// blocked_range() balances its blocks over the sub-range it gets, and a sub-range's balanced
// block can be larger than the whole problem's (M = 3844, MC 128, MR 4: 124 rows for the whole,
// 128 for a half), so the bound is the cap itself: balanced(len, cap, unit) <= rup(cap, unit).
struct WsSize {
  int64_t a, b;
};
WsSize ws_blocked(const Kern& kn, int64_t m, int64_t n, int64_t K) {
  const int64_t kc = k_block(kn, K);
  const int64_t mc = min64(rup(kn.p.mc, kn.p.mr), rup(m, kn.p.mr));
  const int64_t nc = min64(rup(kn.p.nc, kn.p.nr), rup(n, kn.p.nr));
  return {rup(mc * kc, 16) + 16, rup(nc * kc, 16) + 16};
}

thread_local driver::Scratch<float> t_ws;
thread_local driver::Scratch<float> t_panel_b;  // panel_b()'s per-call packing

// Single-threaded blocked GEMM on C[m0:m1, n0:n1].
void blocked_range(const Kern& kn, const Prob& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                   float* abuf, float* bbuf) {
  const int64_t kc = k_block(kn, p.K);
  const int64_t mc = balanced(m1 - m0, kn.p.mc, kn.p.mr);
  const int64_t nc = balanced(n1 - n0, kn.p.nc, kn.p.nr);
  const int64_t rsa = p.rsa(), csa = p.csa(), rsb = p.rsb(), csb = p.csb();
  // Few rows: B would be packed for one or two register tiles only, so the kernel reads it as it
  // is (same values, same order: the same bits as packing).
  const bool b_direct = !p.pb && !p.tb && p.M <= kn.p.b_direct_max_m;
  // A B past ~8 MiB is mostly not in cache: prefetch its strips ahead (on a cached B that costs).
  const int b_prefetch = p.K * p.N >= (int64_t{2} << 20) ? 1 : 0;
  for (int64_t jc = n0; jc < n1; jc += nc) {
    const int64_t ncur = min64(nc, n1 - jc);
    for (int64_t pc = 0; pc < p.K; pc += kc) {
      const int64_t kcur = min64(kc, p.K - pc);
      const bool last = pc + kcur >= p.K;
      const float* bpan = bbuf;
      if (p.pb) bpan = p.pb + pc * p.pb_npad + jc * kcur;  // K block pc, panel of column jc
      else if (!b_direct) kn.pack_b(p.B + pc * rsb + jc * csb, rsb, csb, kcur, ncur, bbuf);
      for (int64_t ic = m0; ic < m1; ic += mc) {
        const int64_t mcur = min64(mc, m1 - ic);
        if (p.agen) {
          for (int64_t q = 0; q < mcur; q += kn.p.mr)
            p.agen->pack_panel(p.agen->ctx, ic + q, static_cast<int>(min64(kn.p.mr, mcur - q)), pc, kcur,
                               abuf + q * kcur, kn.p.mr, kn.pack_rows);
        } else {
          kn.pack_a(p.A + ic * rsa + pc * csa, rsa, csa, mcur, kcur, abuf);
        }
        if (b_direct)
          kn.macro_bd(abuf, p.B + pc * p.ldb + jc, p.ldb, mcur, ncur, kcur, p.C + ic * p.ldc + jc, p.ldc,
                      pc > 0 ? 1 : 0, last ? p.ep : nullptr, ic, jc, b_prefetch);
        else
          kn.macro(abuf, bpan, mcur, ncur, kcur, p.C + ic * p.ldc + jc, p.ldc, pc > 0 ? 1 : 0,
                   last ? p.ep : nullptr, ic, jc);
      }
    }
  }
}

void gemm_k0(const Kern& kn, const Prob& p) {
  for (int64_t i = 0; i < p.M; ++i) std::memset(p.C + i * p.ldc, 0, sizeof(float) * p.N);
  if (p.ep) kn.epi(p.C, p.ldc, p.M, p.N, p.ep, 0, 0);
}

size_t ws_gemv(const Prob& p) {
  // contiguous copy of the vector operand, plus y for the (N == 1, transA, ldc != 1) case
  return static_cast<size_t>(rup(p.K, 16) + rup(p.M, 16) + 32);
}

void gemv(const Kern& kn, const Prob& p, int nt, float* ws) {
  float* vbuf = ws;
  float* ybuf = ws + rup(p.K, 16) + 16;
  const int64_t total = p.M == 1 ? p.N : p.M;
  // The vector operand, made contiguous if needed.
  const float* v;
  int64_t vstride = p.M == 1 ? p.csa() : p.rsb();
  const float* vsrc = p.M == 1 ? p.A : p.B;
  if (vstride == 1 || p.K <= 1) {
    v = vsrc;
  } else {
    for (int64_t k = 0; k < p.K; ++k) vbuf[k] = vsrc[k * vstride];
    v = vbuf;
  }
  const int64_t work = total * p.K;
  int n = threads_for(work, nt);
  if (n > 1 && total < 64 * n) n = static_cast<int>(total / 64 > 1 ? total / 64 : 1);
  auto body = [&](int64_t j0, int64_t j1) {
    if (p.M == 1) {
      if (!p.tb) kn.gemv_n(p.B, p.ldb, v, p.K, p.C, j0, j1);
      else kn.gemv_t(p.B, p.ldb, v, p.K, p.C, 1, j0, j1);
      if (p.ep) kn.epi(p.C + j0, p.ldc, 1, j1 - j0, p.ep, 0, j0);
    } else {  // N == 1
      if (!p.ta) {
        kn.gemv_t(p.A, p.lda, v, p.K, p.C, p.ldc, j0, j1);
      } else if (p.ldc == 1) {
        kn.gemv_n(p.A, p.lda, v, p.K, p.C, j0, j1);
      } else {
        kn.gemv_n(p.A, p.lda, v, p.K, ybuf, j0, j1);
        for (int64_t i = j0; i < j1; ++i) p.C[i * p.ldc] = ybuf[i];
      }
      if (p.ep) kn.epi(p.C + j0 * p.ldc, p.ldc, j1 - j0, 1, p.ep, j0, 0);
    }
  };
  if (n <= 1) {
    body(0, total);
    return;
  }
  // Split on 16-element boundaries (whole cache lines of y).
  const int64_t units = cdiv(total, 16);
  parallel_run(n, [&](int tid, int nn) {
    int64_t b = units * tid / nn * 16, e = units * (tid + 1) / nn * 16;
    if (e > total) e = total;
    if (b < e) body(b, e);
  });
}

Grid choose_grid(const Kern& kn, const Prob& p, int nt) {
  Grid best{1, nt};
  double best_cost = -1;
  for (int tm = 1; tm <= nt; ++tm) {
    if (nt % tm) continue;
    const int tn = nt / tm;
    const int64_t mt = rup(cdiv(cdiv(p.M, kn.p.mr), tm), 1) * kn.p.mr;
    const int64_t ntt = cdiv(cdiv(p.N, kn.p.nr), tn) * kn.p.nr;
    if (cdiv(p.M, kn.p.mr) < tm || cdiv(p.N, kn.p.nr) < tn) continue;
    const double compute = static_cast<double>(mt) * ntt * p.K;
    const double pack = 8.0 * p.K * (static_cast<double>(mt) * cdiv(ntt, kn.p.nc) + ntt);
    const double cost = compute + pack;
    if (best_cost < 0 || cost < best_cost) {
      best_cost = cost;
      best = {tm, tn};
    }
  }
  return best;
}

// One problem, up to nt threads. ws: scratch for nt threads (see ws_need).
size_t ws_need(const Kern& kn, const Prob& p, int nt) {
  if (p.M == 0 || p.N == 0 || p.K == 0) return 16;
  if ((p.M == 1 || p.N == 1) && !p.agen) return ws_gemv(p);
  const WsSize w = ws_blocked(kn, p.M, p.N, p.K);
  return static_cast<size_t>(nt) * static_cast<size_t>(w.a + w.b);
}

// An epilogue addend that is C itself (a sum written in place over its residual) may be read in
// the epilogue only where each C element is written once, there: register tiles (avx2 and up) on
// the blocked path with one K block. The gemv and K = 0 paths and the scalar kernels (which
// accumulate in C) and K-blocked sums (partial sums in C) get a copy of it first.
bool addend_safe_in_place(const Kern& kn, const Prob& p) {
  return kn.level >= 1 && p.K > 0 && !((p.M == 1 || p.N == 1) && !p.agen) && cdiv(p.K, kn.p.kc) == 1;
}

void gemm_one(const Kern& kn, const Prob& p, int nt, float* ws) {
  if (p.M == 0 || p.N == 0) return;
  if (p.ep && p.ep->addend) {
    AddendCopy copy;
    const Epilogue* e = copy.of(p.ep, p.M, p.N, p.C, p.ldc, addend_safe_in_place(kn, p));
    if (e != p.ep) {
      Prob q = p;
      q.ep = e;
      return gemm_one(kn, q, nt, ws);
    }
  }
  if (p.K == 0) return gemm_k0(kn, p);
  if ((p.M == 1 || p.N == 1) && !p.agen) return gemv(kn, p, nt, ws);
  const int n = threads_for(p.M * p.N * p.K, nt);
  const WsSize w = ws_blocked(kn, p.M, p.N, p.K);
  if (n <= 1) {
    blocked_range(kn, p, 0, p.M, 0, p.N, ws, ws + w.a);
    return;
  }
  // C is cut into a grid of blocks on register-tile boundaries, several per thread when the
  // problem is big enough, and threads take blocks from a shared counter (a static split ran two
  // threads slower than one on a shared machine). More blocks cost extra packing (each block packs
  // its own panels; choose_grid weighs that), so small problems keep one block per thread.
  const Grid g = choose_grid(kn, p, driver::grid_items_wanted(p.M * p.N * p.K, n));
  driver::run_grid(g, n, p.M, p.N, kn.p.mr, kn.p.nr, [&](int tid, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    float* a = ws + static_cast<int64_t>(tid) * (w.a + w.b);
    blocked_range(kn, p, m0, m1, n0, n1, a, a + w.a);
  });
}

// Resolves default strides of matrix operands and drops identity epilogues.
const Epilogue* resolve(const Epilogue* ep, int64_t N, Epilogue* store) {
  if (epilogue_is_identity(ep)) return nullptr;
  *store = *ep;
  if (store->bias_ld == 0) store->bias_ld = N;
  if (store->slope_ld == 0) store->slope_ld = N;
  if (store->addend_ld == 0) store->addend_ld = N;
  if (store->act != kActPrelu) store->slope_mode = kOperandNone;
  return store;
}

}  // namespace

struct PackedB {
  int level, nr, kc_block;  // the kernel and K blocking it was packed for
  int64_t K, N, npad;
  float* data;
  size_t bytes;
};

namespace {
// The packed floats when pb fits this kernel and problem, else null (B is then packed per call).
const float* packed_for(const Kern& kn, const PackedB* pb, int64_t K, int64_t N, int64_t* npad) {
  if (!pb || pb->level != kn.level || pb->nr != kn.p.nr || pb->K != K || pb->N != N ||
      pb->kc_block != k_block(kn, K))
    return nullptr;
  *npad = pb->npad;
  return pb->data;
}
}  // namespace

namespace {
// op(B) into `data` in the PackedB layout (npad = N rounded up to NR, kc = k_block(K)).
void pack_b_into(const Kern& kn, bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb, int64_t npad,
                 int64_t kc, float* data) {
  const int64_t rsb = trans_b ? 1 : ldb, csb = trans_b ? ldb : 1;
  // K blocks x column panels, split over threads on panel boundaries.
  const int64_t nblocks = K > 0 ? cdiv(K, kc) : 0, panels = npad / kn.p.nr;
  const int64_t items = nblocks * panels;
  auto body = [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      const int64_t blk = it / panels, q = it % panels;
      const int64_t pc = blk * kc, kcur = min64(kc, K - pc), jc = q * kn.p.nr;
      kn.pack_b(B + pc * rsb + jc * csb, rsb, csb, kcur, min64(kn.p.nr, N - jc), data + pc * npad + jc * kcur);
    }
  };
  if (K * N >= (int64_t{1} << 18)) parallel_for(items, 4, body);
  else body(0, items);
}
}  // namespace

PackedB* pack_b(bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb) {
  const Kern kn = current_kernel();
  const int64_t npad = rup(N > 0 ? N : 1, kn.p.nr);
  const int64_t kc = K > 0 ? k_block(kn, K) : 1;
  const size_t floats = static_cast<size_t>(npad) * static_cast<size_t>(K > 0 ? K : 1);
  const size_t bytes = (floats * sizeof(float) + 63) & ~size_t{63};
  float* data = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!data) throw std::bad_alloc();
  PackedB* pb = new (std::nothrow) PackedB{kn.level, kn.p.nr, static_cast<int>(kc), K, N, npad, data, bytes};
  if (!pb) {
    std::free(data);
    throw std::bad_alloc();
  }
  pack_b_into(kn, trans_b, K, N, B, ldb, npad, kc, data);
  return pb;
}

PanelB panel_b(int64_t K, int64_t N, const float* B, int64_t ldb, const PackedB* packed) {
  const Kern kn = current_kernel();
  PanelB v;
  v.K = K;
  v.N = N;
  v.mr = kn.p.mr;
  v.nr = kn.p.nr;
  v.stores_once = kn.level >= 1;
  v.tile = pick(tile_rows_stub, kn.level);
  v.tile_wide = pick(tile_wide_stub, kn.level);
  v.kc_block = K > 0 ? k_block(kn, K) : 1;
  v.data = packed_for(kn, packed, K, N, &v.npad);
  if (!v.data) {
    v.npad = rup(N > 0 ? N : 1, kn.p.nr);
    float* d = t_panel_b.get(static_cast<size_t>(v.npad) * static_cast<size_t>(K > 0 ? K : 1));
    if (K > 0) pack_b_into(kn, false, K, N, B, ldb, v.npad, v.kc_block, d);
    v.data = d;
  }
  return v;
}

const Epilogue* resolve_epilogue(const Epilogue* ep, int64_t N, Epilogue* store) { return resolve(ep, N, store); }

bool addend_overlaps(const Epilogue* ep, int64_t M, int64_t N, const float* C, int64_t ldc) {
  if (!ep || !ep->addend || M <= 0 || N <= 0) return false;
  const int64_t ld = ep->addend_ld > 0 ? ep->addend_ld : N;
  const float *a0 = ep->addend, *a1 = ep->addend + (M - 1) * ld + N, *c1 = C + (M - 1) * ldc + N;
  return a0 < c1 && C < a1;
}

Epilogue with_addend_copy(const Epilogue& ep, int64_t M, int64_t N, float* buf) {
  const int64_t ld = ep.addend_ld > 0 ? ep.addend_ld : N;
  for (int64_t i = 0; i < M; ++i) std::memcpy(buf + i * N, ep.addend + i * ld, sizeof(float) * N);
  Epilogue e = ep;
  e.addend = buf;
  e.addend_ld = N;
  return e;
}

void free_packed_b(PackedB* pb) {
  if (!pb) return;
  std::free(pb->data);
  delete pb;
}
size_t packed_b_bytes(const PackedB* pb) { return pb ? pb->bytes : 0; }
int64_t packed_b_k(const PackedB* pb) { return pb ? pb->K : 0; }
int64_t packed_b_n(const PackedB* pb) { return pb ? pb->N : 0; }

bool epilogue_is_identity(const Epilogue* ep) {
  return ep == nullptr || (ep->bias_mode == kOperandNone && ep->act == kActLinear && ep->addend == nullptr);
}

KernelInfo kernel_info() {
  const Kern k = current_kernel();
  return {k.level, k.p.mr, k.p.nr, k.p.kc, k.p.mc, k.p.nc, k.p.name};
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
           const float* B, int64_t ldb, float* C, int64_t ldc, const Epilogue* ep, const PackedB* packed_b) {
  if (M <= 0 || N <= 0) return;
  Epilogue local;
  const Kern kn = current_kernel();
  int64_t npad = 0;
  const float* pbd = packed_for(kn, packed_b, K, N, &npad);
  const Prob p{trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, resolve(ep, N, &local), nullptr, pbd, npad};
  const int nt = get_num_threads();
  float* ws = t_ws.get(ws_need(kn, p, nt));
  gemm_one(kn, p, nt, ws);
}

void sgemm_batched(bool trans_a, bool trans_b, int64_t batch, int64_t M, int64_t N, int64_t K,
                   const float* A, int64_t lda, int64_t stride_a, const int32_t* a_idx,
                   const float* B, int64_t ldb, int64_t stride_b, const int32_t* b_idx,
                   float* C, int64_t ldc, int64_t stride_c, const Epilogue* ep, const PackedB* packed_b) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  Epilogue local;
  const Kern kn = current_kernel();
  const Epilogue* rep = resolve(ep, N, &local);
  int64_t npad = 0;
  const bool one_b = stride_b == 0 && b_idx == nullptr;
  const float* pbd = one_b ? packed_for(kn, packed_b, K, N, &npad) : nullptr;
  auto prob = [&](int64_t i) {
    const int64_t ia = a_idx ? a_idx[i] : i, ib = b_idx ? b_idx[i] : i;
    return Prob{trans_a, trans_b, M, N, K, A + ia * stride_a, lda, B + ib * stride_b, ldb,
                C + i * stride_c, ldc, rep, nullptr, pbd, npad};
  };
  // The addend follows C's layout: batch i's at addend + i * stride_c.
  auto run = [&](int64_t i, int threads, float* w) {
    Prob p = prob(i);
    Epilogue e;
    if (rep && rep->addend) {
      e = *rep;
      e.addend = rep->addend + i * stride_c;
      p.ep = &e;
    }
    gemm_one(kn, p, threads, w);
  };
  const int nt = get_num_threads();
  const int64_t macs = M * N * K;
  // Parallel over the batch when it divides evenly or the problems are small; each problem then
  // runs on one thread (same per-problem algorithm, so the same bits).
  const bool by_batch = nt > 1 && batch >= 2 &&
                        (macs < (int64_t{1} << 22) || batch % nt == 0 || batch >= 4 * nt) &&
                        batch * macs >= (int64_t{1} << 17);
  if (!by_batch) {
    const Prob p0 = prob(0);
    float* ws = t_ws.get(ws_need(kn, p0, nt));
    for (int64_t i = 0; i < batch; ++i) run(i, nt, ws);
    return;
  }
  const int n = batch < nt ? static_cast<int>(batch) : nt;
  const size_t per = (ws_need(kn, prob(0), 1) + 15) & ~size_t{15};
  float* ws = t_ws.get(per * n);
  parallel_run(n, [&](int tid, int nn) {
    const int64_t b = batch * tid / nn, e = batch * (tid + 1) / nn;
    float* w = ws + per * tid;
    for (int64_t i = b; i < e; ++i) run(i, 1, w);
  });
}

void sgemm_gen_a(const AGen& agen, int64_t M, int64_t N, int64_t K, const float* B, int64_t ldb,
                 const PackedB* packed_b, float* C, int64_t ldc, const Epilogue* ep) {
  if (M <= 0 || N <= 0) return;
  Epilogue local;
  const Kern kn = current_kernel();
  int64_t npad = 0;
  const float* pbd = packed_for(kn, packed_b, K, N, &npad);
  const Prob p{false, false, M, N, K, nullptr, 1, B, ldb, C, ldc, resolve(ep, N, &local), &agen, pbd, npad};
  const int nt = get_num_threads();
  float* ws = t_ws.get(ws_need(kn, p, nt));
  gemm_one(kn, p, nt, ws);
}

}  // namespace ab::gemm

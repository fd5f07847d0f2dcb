// SPDX-License-Identifier: Apache-2.0
// The ISA-neutral bf16 GEMM driver (contract: gemm_bf16.h): B packing, K blocking, the thread
// split, and the per-level kernels through DispatchStubs (avx512_bf16 and amx have bodies of their
// own; amx's tiles are configured by each thread at its first block and released after each).
//
// Loop order per thread, on its own block of C (whole register tiles x whole 32-column panels):
//   jc (NC columns of packed B) -> pc (a K block of pairs) -> ic (MC rows: pack A) -> macro kernel
//   (jr: 32-column panel -> ir: MR rows -> micro-kernel).
// The K blocks depend only on K, and an output's value depends only on its row of A, its column
// of B and K, so the result is the same for any M/N split: bitwise identical at any thread count.
#include "gemm/gemm_bf16.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "dispatch/dispatch.h"
#include "gemm/driver_common.h"
#include "gemm/gemm_bf16_kernels.h"
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

using ParamsFn = void (*)(Bf16Params*);
using PackAFn = void (*)(const float*, int64_t, int64_t, int64_t, int64_t, uint32_t*);
using MacroFn = void (*)(const uint32_t*, const uint32_t*, int64_t, int64_t, int64_t, int64_t, float*, int64_t, int,
                         const Epilogue*, int64_t, int64_t);

const DispatchStub<ParamsFn> params_stub = {AB_STUB_SLOTS_BF16(bf16_params)};
const DispatchStub<PackAFn> pack_a_stub = {AB_STUB_SLOTS_BF16(bf16_pack_a)};
const DispatchStub<MacroFn> macro_stub = {AB_STUB_SLOTS_BF16(bf16_macro)};
const DispatchStub<double (*)()> speedup_stub = {AB_STUB_SLOTS_BF16(bf16_dot_speedup)};

constexpr int64_t kAmxVecRows = 4;  // see amx_vec_rows()
constexpr int64_t kNC = 1536;  // columns of packed B per jc block (kc pairs x NC x 4 bytes in L2/L3)
#ifndef AB_BF16_NARROW_BYTES
#define AB_BF16_NARROW_BYTES (96 * 1024)
#endif
constexpr int64_t kNarrowBytes = AB_BF16_NARROW_BYTES;  // B block size (bytes) below which A is packed per row tile

// Tuning aid: AFTERBURNER_BF16_BLOCKS="kc_pairs,mc,nc". kc (at most kBf16KcPairs) changes the
// summation order (at every level alike); mc and nc only the speed. Read once.
const driver::BlockOverride g_override("AFTERBURNER_BF16_BLOCKS");

struct Kern {
  int level;
  Bf16Params p;
  int64_t kcp, nc;  // K block (pairs), NC
  PackAFn pack_a;
  MacroFn macro;
};

Kern kernel_at(int level) {
  Kern k;
  k.level = level;
  pick(params_stub, k.level)(&k.p);
  k.kcp = kBf16KcPairs;
  k.nc = kNC;
  if (g_override.kc > 0) {
    k.kcp = g_override.kc < kBf16KcPairs ? g_override.kc : kBf16KcPairs;  // packed-A rows hold <= this
    k.p.mc = static_cast<int>((g_override.mc + k.p.mr - 1) / k.p.mr * k.p.mr);
    k.nc = (g_override.nc + kBf16PanelN - 1) / kBf16PanelN * kBf16PanelN;
  }
  k.pack_a = pick(pack_a_stub, k.level);
  k.macro = pick(macro_stub, k.level);
  return k;
}

Kern current_kernel() { return kernel_at(static_cast<int>(params_stub.level())); }

// The dispatch policy at avx512_bf16 (a CPU with AVX512_BF16 but no AMX, or amx capped or off):
// where vdpbf16ps is no faster than f32 FMA (Intel: one per cycle on one port, against two FMAs;
// measured 0.59x the f32 GEMM on a Sapphire Rapids-class Xeon, while the avx512 emulation runs at
// 0.96x), calls of more than one register tile of rows run the avx512 emulation, which gives the
// same bits. GEMV-like calls (rows <= MR) keep vdpbf16ps: they stream the weights, and half the
// bytes is what counts there. Decided once per process by a ~1 ms measurement of this core
// (bf16_dot_speedup), or by AFTERBURNER_BF16_EMULATE=1 / 0.
// The probe reads ~2.8 on Zen 4 (whose vdpbf16ps GEMM runs at ~1.95x its f32 GEMM) and ~1.37 on a
// Sapphire Rapids-class Xeon (0.56-0.65x f32; the emulation 0.94-1.1x): a threshold of 2.
constexpr double kDotSpeedupMin = 2.0;
struct DotPolicy {
  double speedup = -1;  // measured; -1 = not measured (forced by the environment)
  bool emulate = false;
  const char* why = "";
};
const DotPolicy& dot_policy() {
  static const DotPolicy pol = [] {
    DotPolicy d;
    const char* e = std::getenv("AFTERBURNER_BF16_EMULATE");
    if (e && (std::strcmp(e, "1") == 0 || std::strcmp(e, "0") == 0)) {
      d.emulate = e[0] == '1';
      d.why = d.emulate ? "AFTERBURNER_BF16_EMULATE=1" : "AFTERBURNER_BF16_EMULATE=0";
      return d;
    }
    if (static_cast<int>(isa_cpu_max()) < static_cast<int>(Isa::kAvx512Bf16)) {
      d.why = "no AVX512_BF16 on this CPU (the policy does not apply)";
      return d;
    }
    d.speedup = pick(speedup_stub, static_cast<int>(Isa::kAvx512Bf16))();
    d.emulate = d.speedup > 0 && d.speedup < kDotSpeedupMin;
    d.why = d.emulate ? "vdpbf16ps is no faster than f32 FMA on this core (measured)"
                      : "vdpbf16ps is faster than f32 FMA on this core (measured)";
    return d;
  }();
  return pol;
}

// At amx, calls of at most this many rows (GEMV-like: the weights streamed once, a 16-row tile
// mostly idle) run the avx512_bf16 kernel: its bits, not amx's. AFTERBURNER_AMX_MIN_ROWS=n sets
// it (0: amx for every call). Read once.
int64_t amx_vec_rows() {
  static const int64_t v = [] {
    const char* e = std::getenv("AFTERBURNER_AMX_MIN_ROWS");
    if (e && *e) {
      char* end;
      const long n = std::strtol(e, &end, 10);
      if (*end == 0 && n >= 0) return static_cast<int64_t>(n);
    }
    return int64_t{kAmxVecRows};
  }();
  return v;
}

thread_local int64_t t_rows_hint = 0;  // Bf16RowsHint: the rows of the whole problem

// The kernel for an M-row call (M raised to the thread's Bf16RowsHint): current_kernel(), except
// GEMV-like calls at amx (above) and calls at avx512_bf16 under the policy above.
Kern kernel_for(int64_t M) {
  if (t_rows_hint > M) M = t_rows_hint;
  Kern k = current_kernel();
  if (k.level == static_cast<int>(Isa::kAmx) && M <= amx_vec_rows()) k = kernel_at(static_cast<int>(Isa::kAvx512Bf16));
  if (k.level == static_cast<int>(Isa::kAvx512Bf16) && M > k.p.mr && dot_policy().emulate)
    return kernel_at(static_cast<int>(Isa::kAvx512));
  return k;
}

struct Prob {
  bool ta;
  int64_t M, N, K, K2;
  const float* A;
  int64_t lda;
  const uint32_t* B;
  float* C;
  int64_t ldc;
  const Epilogue* ep;
  Bf16AGenFn gen = nullptr;  // A generated (gemm_bf16_gen_a): A, lda and ta unused
  const void* gen_ctx = nullptr;
  int64_t rsa() const { return ta ? 1 : lda; }
  int64_t csa() const { return ta ? lda : 1; }
};

// K block in pairs: depends on K only (it fixes the summation order).
int64_t k_block(const Kern& kn, int64_t K2) { return cdiv(K2, cdiv(K2, kn.kcp)); }

// Packed-A words for a block of `rows` rows and kcp pairs (a multiple of 16).
int64_t a_block_words(const Kern& kn, int64_t rows, int64_t kcp) {
  const int64_t r = rup(rows, kn.p.mr);
  return rup(kn.p.arow > 0 ? r * kn.p.arow : r * kcp * kn.p.wpp, 16);
}

// Packed-A words one thread needs for any part of rows [0, m): all K blocks of one row tile
// (row_tile_range), or one K block of the largest MC block blocked_range can pick.
int64_t ws_words(const Kern& kn, int64_t m, int64_t K2) {
  const int64_t kcp = k_block(kn, K2);
  const int64_t tile = cdiv(K2, kcp) * a_block_words(kn, kn.p.mr, kcp);
  const int64_t block = a_block_words(kn, min64(rup(kn.p.mc, kn.p.mr), rup(m, kn.p.mr)), kcp);
  return (tile > block ? tile : block) + 16;
}

thread_local driver::Scratch<uint32_t> t_ws;
thread_local driver::Scratch<uint32_t> t_gen;  // f32 rows of a generated A block, packed right after

// Packs op(A)[m0:m0+rows, k0:k0+kc] (layout of bf16_pack_a): from A, or generated into a small
// f32 block first (the same values, so the same packed words).
inline void pack_a_block(const Kern& kn, const Prob& p, int64_t m0, int64_t rows, int64_t k0, int64_t kc,
                         uint32_t* dst) {
  if (p.gen == nullptr) {
    kn.pack_a(p.A + m0 * p.rsa() + k0 * p.csa(), p.rsa(), p.csa(), rows, kc, dst);
    return;
  }
  float* blk = reinterpret_cast<float*>(t_gen.get(static_cast<size_t>(rows * kc)));
  p.gen(p.gen_ctx, m0, rows, k0, kc, blk);
  kn.pack_a(blk, kc, 1, rows, kc, dst);
}

// One row tile (GEMV-like): A packed for every K block up front, then each panel of B streamed
// once from start to end (K blocks inner; the same sums in the same order as blocked_range).
void row_tile_range(const Kern& kn, const Prob& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1, uint32_t* abuf) {
  const int64_t kcp = k_block(kn, p.K2);
  const int64_t astride = a_block_words(kn, kn.p.mr, kcp);
  const int64_t pstride = p.K2 * kBf16PanelN;
  for (int64_t pc = 0, b = 0; pc < p.K2; pc += kcp, ++b) {
    const int64_t kpcur = min64(kcp, p.K2 - pc);
    pack_a_block(kn, p, m0, m1 - m0, 2 * pc, min64(2 * kpcur, p.K - 2 * pc), abuf + b * astride);
  }
  for (int64_t jr = n0; jr < n1; jr += kBf16PanelN) {
    const int64_t ncur = min64(kBf16PanelN, n1 - jr);
    const uint32_t* bp = p.B + (jr / kBf16PanelN) * pstride;
    for (int64_t pc = 0, b = 0; pc < p.K2; pc += kcp, ++b) {
      const int64_t kpcur = min64(kcp, p.K2 - pc);
      kn.macro(abuf + b * astride, bp + pc * kBf16PanelN, pstride, m1 - m0, ncur, kpcur, p.C + m0 * p.ldc + jr,
               p.ldc, pc > 0 ? 1 : 0, pc + kpcur >= p.K2 ? p.ep : nullptr, m0, jr);
    }
  }
}

// One thread: C[m0:m1, n0:n1], n0 on a panel boundary.
void blocked_range(const Kern& kn, const Prob& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1, uint32_t* abuf) {
  if (m1 - m0 <= kn.p.mr) return row_tile_range(kn, p, m0, m1, n0, n1, abuf);
  const int64_t kcp = k_block(kn, p.K2);
  // Few columns (a conv's outC): little compute per packed row, so pack one row tile at a time
  // right before its use: A's source is then read as one steady stream that the hardware
  // prefetchers keep ahead of, instead of in bursts between compute phases; B's block is small
  // enough to stay in L1/L2 across the tiles.
  const bool narrow = (n1 - n0) * kcp * 4 <= kNarrowBytes;
  const int64_t mc = narrow ? kn.p.mr : balanced(m1 - m0, kn.p.mc, kn.p.mr);
  const int64_t nc = balanced(n1 - n0, kn.nc, kBf16PanelN);
  const int64_t pstride = p.K2 * kBf16PanelN;
  for (int64_t jc = n0; jc < n1; jc += nc) {
    const int64_t ncur = min64(nc, n1 - jc);
    for (int64_t pc = 0; pc < p.K2; pc += kcp) {
      const int64_t kpcur = min64(kcp, p.K2 - pc);
      const int64_t k0 = 2 * pc, kcur = min64(2 * kpcur, p.K - k0);
      const bool last = pc + kpcur >= p.K2;
      const uint32_t* b = p.B + (jc / kBf16PanelN) * pstride + pc * kBf16PanelN;
      for (int64_t ic = m0; ic < m1; ic += mc) {
        const int64_t mcur = min64(mc, m1 - ic);
        pack_a_block(kn, p, ic, mcur, k0, kcur, abuf);
        kn.macro(abuf, b, pstride, mcur, ncur, kpcur, p.C + ic * p.ldc + jc, p.ldc, pc > 0 ? 1 : 0,
                 last ? p.ep : nullptr, ic, jc);
      }
    }
  }
}

// tm x tn blocks of C (tm * tn == items) minimizing the largest block's compute plus its A packing.
Grid choose_grid(const Kern& kn, const Prob& p, int items) {
  const int64_t mt = cdiv(p.M, kn.p.mr), nt = cdiv(p.N, kBf16PanelN);
  Grid best{1, items};
  double best_cost = -1;
  for (int tm = 1; tm <= items; ++tm) {
    if (items % tm) continue;
    const int tn = items / tm;
    if (mt < tm || nt < tn) continue;
    const double rows = static_cast<double>(cdiv(mt, tm) * kn.p.mr), cols = static_cast<double>(cdiv(nt, tn) * kBf16PanelN);
    const double cost = rows * cols * p.K + 8.0 * rows * p.K * cdiv(static_cast<int64_t>(cols), kn.nc);
    if (best_cost < 0 || cost < best_cost) {
      best_cost = cost;
      best = {tm, tn};
    }
  }
  return best;
}

void gemm_run(const Kern& kn, const Prob& p) {
  const int nt = get_num_threads();
  const int n = threads_for(p.M * p.N * p.K, nt);
  const size_t per = static_cast<size_t>(ws_words(kn, p.M, p.K2));
  uint32_t* ws = t_ws.get(per * static_cast<size_t>(n));
  if (n <= 1) {
    blocked_range(kn, p, 0, p.M, 0, p.N, ws);
    if (kn.p.release) kn.p.release();
    return;
  }
  // As in the f32 driver: blocks taken from a shared counter, several per thread on large problems.
  const Grid g = choose_grid(kn, p, driver::grid_items_wanted(p.M * p.N * p.K, n));
  driver::run_grid(g, n, p.M, p.N, kn.p.mr, kBf16PanelN, [&](int tid, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    blocked_range(kn, p, m0, m1, n0, n1, ws + per * static_cast<size_t>(tid));
    if (kn.p.release) kn.p.release();  // amx: this thread's tiles
  });
}

// f32 -> bf16 (VCVTNEPS2BF16 rounding); see gemm_bf16.h.
// Branch-free, so the packing loops vectorize.
inline uint32_t bf16_rne(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  r = (u & 0x7f800000u) == 0 ? (u >> 16) & 0x8000u : r;
  r = (u & 0x7fffffffu) > 0x7f800000u ? ((u >> 16) | 0x40u) & 0xffffu : r;
  return r;
}

}  // namespace

void bf16_pack_b(bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb, uint32_t* dst) {
  if (K <= 0 || N <= 0) return;
  const int64_t K2 = (K + 1) / 2, panels = cdiv(N, kBf16PanelN);
  const int64_t per_panel = K2 * kBf16PanelN;
  auto at = [&](int64_t k, int64_t n) -> float {
    if (k >= K || n >= N) return 0.f;
    return trans_b ? B[n * ldb + k] : B[k * ldb + n];
  };
  // K x N source: blocks of kPairs pairs x a thread's panels, so the source is read a few rows at
  // a time across the panels and each panel is written in runs of kPairs * 128 bytes (panel by
  // panel, every pair would touch a new page of the source).
  constexpr int64_t kPairs = 16;
  const int64_t grain = cdiv(int64_t{1} << 16, per_panel);
  parallel_for(panels, grain, [&](int64_t q0, int64_t q1) {
    if (trans_b) {  // panel by panel: each source row (a column of B) is read once, in order
      for (int64_t q = q0; q < q1; ++q) {
        uint32_t* d = dst + q * per_panel;
        const int64_t n0 = q * kBf16PanelN;
        for (int j = 0; j < kBf16PanelN; ++j) {
          const int64_t n = n0 + j;
          if (n < N && 2 * K2 == K) {
            const float* c = B + n * ldb;
            for (int64_t p = 0; p < K2; ++p) d[p * kBf16PanelN + j] = bf16_rne(c[2 * p]) | bf16_rne(c[2 * p + 1]) << 16;
          } else {
            for (int64_t p = 0; p < K2; ++p)
              d[p * kBf16PanelN + j] = bf16_rne(at(2 * p, n)) | bf16_rne(at(2 * p + 1, n)) << 16;
          }
        }
      }
      return;
    }
    for (int64_t p0 = 0; p0 < K2; p0 += kPairs) {
      const int64_t p1 = min64(p0 + kPairs, K2);
      const bool full_k = 2 * p1 <= K;
      for (int64_t q = q0; q < q1; ++q) {
        uint32_t* d = dst + q * per_panel;
        const int64_t n0 = q * kBf16PanelN;
        if (full_k && n0 + kBf16PanelN <= N) {
          for (int64_t p = p0; p < p1; ++p) {
            const float* r0 = B + 2 * p * ldb + n0;
            const float* r1 = r0 + ldb;
            uint32_t* dp = d + p * kBf16PanelN;
            for (int j = 0; j < kBf16PanelN; ++j) dp[j] = bf16_rne(r0[j]) | bf16_rne(r1[j]) << 16;
          }
        } else {
          for (int64_t p = p0; p < p1; ++p)
            for (int j = 0; j < kBf16PanelN; ++j)
              d[p * kBf16PanelN + j] = bf16_rne(at(2 * p, n0 + j)) | bf16_rne(at(2 * p + 1, n0 + j)) << 16;
        }
      }
    }
  });
}

Bf16RowsHint::Bf16RowsHint(int64_t rows) : prev_(t_rows_hint) { t_rows_hint = rows; }
Bf16RowsHint::~Bf16RowsHint() { t_rows_hint = prev_; }

void gemm_bf16(bool trans_a, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const uint32_t* Bp,
               float* C, int64_t ldc, const Epilogue* ep) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // C = epilogue(0), exactly as the f32 engine does it
    sgemm(false, false, M, N, 0, A, 1, nullptr, N, C, ldc, ep);
    return;
  }
  Epilogue local;
  const Prob p{trans_a, M, N, K, (K + 1) / 2, A, lda, Bp, C, ldc, resolve_epilogue(ep, N, &local)};
  gemm_run(kernel_for(M), p);
}

void gemm_bf16_gen_a(Bf16AGenFn gen, const void* ctx, int64_t M, int64_t N, int64_t K, const uint32_t* Bp, float* C,
                     int64_t ldc, const Epilogue* ep) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    sgemm(false, false, M, N, 0, nullptr, 1, nullptr, N, C, ldc, ep);
    return;
  }
  Epilogue local;
  Prob p{false, M, N, K, (K + 1) / 2, nullptr, K, Bp, C, ldc, resolve_epilogue(ep, N, &local)};
  p.gen = gen;
  p.gen_ctx = ctx;
  gemm_run(kernel_for(M), p);
}

int64_t bf16_k_block_pairs(int64_t K2) { return K2 > 0 ? k_block(current_kernel(), K2) : 1; }

Bf16DotPolicy bf16_dot_policy() {
  const DotPolicy& d = dot_policy();
  return {d.speedup, d.emulate, d.why};
}

KernelInfo bf16_kernel_info() {
  const Kern k = current_kernel();
  return {k.level, k.p.mr, kBf16PanelN, static_cast<int>(2 * k.kcp), k.p.mc, static_cast<int>(k.nc), k.p.name};
}

}  // namespace ab::gemm

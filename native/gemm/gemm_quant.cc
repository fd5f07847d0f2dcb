// SPDX-License-Identifier: Apache-2.0
// The ISA-neutral int8 / int4 weight-only GEMM driver (contract: gemm_quant.h): quantization and
// packing (double arithmetic, the same at every level), A's transpose, the split over N panels
// across threads, and the per-level kernels through DispatchStubs.
//
// Threads take runs of panels from a shared counter (several runs per thread on large problems,
// so a thread on a busy core takes fewer). Every output depends only on its row of A, its column
// of B and K: the result is bitwise the same at any thread count.
#include "gemm/gemm_quant.h"

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "dispatch/dispatch.h"
#include "gemm/driver_common.h"
#include "runtime/thread_pool.h"

AB_DECLARE_KERNEL(void, quant_params, (::ab::gemm::QuantParams * out))
AB_DECLARE_KERNEL(void, quant_panels,
                  (const ::ab::gemm::QuantProb* p, int64_t q0, int64_t q1, float* wbuf))

namespace ab::gemm {
namespace {
using driver::cdiv;
using driver::min64;
using driver::pick;

using ParamsFn = void (*)(QuantParams*);
using PanelsFn = void (*)(const QuantProb*, int64_t, int64_t, float*);
const DispatchStub<ParamsFn> params_stub = {AB_STUB_SLOTS(quant_params)};
const DispatchStub<PanelsFn> panels_stub = {AB_STUB_SLOTS(quant_panels)};

thread_local driver::Scratch<float> t_wbuf;  // per thread: one dequantized chunk
thread_local driver::Scratch<float> t_at;    // the calling thread: A transposed

// Round half to even for |x| < 2^51 (in the default rounding mode): adding and subtracting
// 1.5 * 2^52 leaves x's integer part, rounded as the FPU rounds (std::nearbyint is a libm call at
// this file's baseline ISA). Quantization only rounds |w / d| <= ~190.
inline double rne_small(double x) {
  constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
  return (x + kMagic) - kMagic;
}

// The largest M run on the codes directly: the level's choice, or AFTERBURNER_QUANT_DIRECT_MAX
// (tuning aid, read once; the paths give the same bits).
int direct_max(const QuantParams& qp) {
  static const int env = [] {
    const char* e = std::getenv("AFTERBURNER_QUANT_DIRECT_MAX");
    return e && *e ? std::atoi(e) : -1;
  }();
  return env >= 0 ? env : qp.direct_max;
}

}  // namespace

int64_t quant_first_nonfinite(bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb) {
  const int64_t rows = trans_b ? N : K, cols = trans_b ? K : N;
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = B + r * ldb;
    int bad = 0;
    for (int64_t c = 0; c < cols; ++c) bad |= !std::isfinite(p[c]);
    if (bad)
      for (int64_t c = 0; c < cols; ++c)
        if (!std::isfinite(p[c])) return r * ldb + c;
  }
  return -1;
}

void quant_pack_b(int bits, int64_t group, bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb,
                  uint8_t* dst) {
  if (K <= 0 || N <= 0) return;
  const int64_t G = quant_groups(K, group), panels = cdiv(N, kQuantPanelN);
  const int64_t rb = quant_row_bytes(bits), bb = quant_block_bytes(bits, group);
  const int qmin = bits == 8 ? -127 : -8, qmax = bits == 8 ? 127 : 7;
  parallel_for(panels, 1, [&](int64_t q0, int64_t q1) {
    float w[128][kQuantPanelN];  // the block's weights, copied once (B's rows are far apart)
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t n0 = q * kQuantPanelN, nc = min64(kQuantPanelN, N - n0);
      for (int64_t g = 0; g < G; ++g) {
        uint8_t* blk = dst + (q * G + g) * bb;
        float* sc = reinterpret_cast<float*>(blk + group * rb);
        const int64_t kb = g * group, kn = min64(kb + group, K) - kb;
        if (kn < group) std::memset(blk + kn * rb, bits == 8 ? 0 : 0x88, static_cast<size_t>((group - kn) * rb));
        if (trans_b) {
          for (int64_t j = 0; j < nc; ++j)
            for (int64_t k = 0; k < kn; ++k) w[k][j] = B[(n0 + j) * ldb + kb + k];
        } else {
          for (int64_t k = 0; k < kn; ++k) std::memcpy(w[k], B + (kb + k) * ldb + n0, static_cast<size_t>(nc) * 4);
        }
        double dd[kQuantPanelN];
        for (int j = 0; j < kQuantPanelN; ++j) {
          float d = 0.f;
          if (j < nc) {
            double amax = 0, mx = 0;
            for (int64_t k = 0; k < kn; ++k) {
              const double v = w[k][j], av = std::fabs(v);
              if (av > amax) {
                amax = av;
                mx = v;
              }
            }
            if (amax > 0) d = static_cast<float>(bits == 8 ? amax / 127.0 : mx / -8.0);
          }
          std::memcpy(sc + j, &d, 4);  // d is +0 for an all-zero group and for padding columns
          dd[j] = d;
        }
        // Row by row, columns inner (contiguous: vectorizable); columns with d = 0 keep code 0.
        for (int64_t k = 0; k < kn; ++k) {
          int c[kQuantPanelN];
          for (int j = 0; j < kQuantPanelN; ++j) {
            double r = dd[j] == 0 ? 0.0 : rne_small(static_cast<double>(j < nc ? w[k][j] : 0.f) / dd[j]);
            r = r < qmin ? qmin : r > qmax ? qmax : r;
            c[j] = static_cast<int>(r);
          }
          uint8_t* row = blk + k * rb;
          if (bits == 8) {
            for (int j = 0; j < kQuantPanelN; ++j) row[j] = static_cast<uint8_t>(static_cast<int8_t>(c[j]));
          } else {
            for (int j = 0; j < 16; ++j) row[j] = static_cast<uint8_t>((c[j] + 8) | (c[j + 16] + 8) << 4);
          }
        }
      }
    }
  });
}

void quant_unpack(const QuantB& b, int8_t* codes, float* scales) {
  const int64_t G = quant_groups(b.K, b.group);
  const int64_t rb = quant_row_bytes(b.bits), bb = quant_block_bytes(b.bits, b.group);
  for (int64_t n = 0; n < b.N; ++n) {
    const int64_t q = n / kQuantPanelN, j = n % kQuantPanelN;
    for (int64_t g = 0; g < G; ++g) {
      const uint8_t* blk = b.data + (q * G + g) * bb;
      std::memcpy(scales + g * b.N + n, blk + b.group * rb + 4 * j, 4);
      for (int64_t k = g * b.group; k < min64((g + 1) * b.group, b.K); ++k) {
        const uint8_t* row = blk + (k - g * b.group) * rb;
        int c;
        if (b.bits == 8)
          c = static_cast<int8_t>(row[j]);
        else
          c = (j < 16 ? (row[j] & 15) : (row[j - 16] >> 4)) - 8;
        codes[k * b.N + n] = static_cast<int8_t>(c);
      }
    }
  }
}

void gemm_quant(bool trans_a, int64_t M, const float* A, int64_t lda, const QuantB& B, float* C, int64_t ldc,
                const Epilogue* ep) {
  const int64_t N = B.N, K = B.K;
  if (M <= 0 || N <= 0) return;
  const int level = static_cast<int>(params_stub.level());
  QuantParams qp;
  pick(params_stub, level)(&qp);
  const PanelsFn run = pick(panels_stub, level);
  if (trans_a) {  // the kernels read A row-major: transpose it once (M x K floats)
    float* t = t_at.get(static_cast<size_t>(M * K));
    for (int64_t k = 0; k < K; ++k)
      for (int64_t m = 0; m < M; ++m) t[m * K + k] = A[k * lda + m];
    A = t;
    lda = K;
  }
  Epilogue local;
  QuantProb p{B.bits, B.group, K, N, quant_groups(K, B.group), M, A, lda, B.data,
              quant_block_bytes(B.bits, B.group), quant_panel_bytes(B.bits, B.group, K), C, ldc,
              resolve_epilogue(ep, N, &local), M <= direct_max(qp) ? 1 : 0};
  const int64_t panels = cdiv(N, kQuantPanelN);
  const size_t wfl = static_cast<size_t>(qp.chunk_k) * kQuantPanelN;
  int n = driver::threads_for(M * N * K, get_num_threads());
  if (n > panels) n = static_cast<int>(panels);
  if (n <= 1) {
    run(&p, 0, panels, t_wbuf.get(wfl));
    return;
  }
  // Runs of panels from a shared counter: 4 runs per thread when there are enough panels.
  const int64_t runs = min64(panels, static_cast<int64_t>(n) * 4);
  std::atomic<int64_t> next{0};
  std::atomic<bool> oom{false};
  parallel_run(n, [&](int, int) {
    float* wbuf;
    try {
      wbuf = t_wbuf.get(wfl);
    } catch (const std::bad_alloc&) {
      oom = true;
      return;
    }
    for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < runs;
         i = next.fetch_add(1, std::memory_order_relaxed))
      run(&p, panels * i / runs, panels * (i + 1) / runs, wbuf);
  });
  if (oom) throw std::bad_alloc();
}

KernelInfo quant_kernel_info() {
  const int level = static_cast<int>(params_stub.level());
  QuantParams qp;
  pick(params_stub, level)(&qp);
  return {level, qp.mr, kQuantPanelN, qp.chunk_k, direct_max(qp), 0, qp.name};
}

}  // namespace ab::gemm

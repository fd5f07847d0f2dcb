// SPDX-License-Identifier: Apache-2.0
// The bf16 dot-product peak of this machine, the way anchors.cc measures the f32 FMA peak:
// register-resident vdpbf16ps chains (12 independent accumulators hide the latency), one loop per
// thread on `threads` threads (argv[1], default 1). Each vdpbf16ps zmm = 32 multiply-adds = 64
// flops. Also the f32 zmm FMA peak in the same run for the ratio. argv[2]: loop iterations per
// run (default 1M, ~3.5 ms at peak: short enough to fit between other tenants' time slices on a
// shared machine), argv[3]: runs (best of; default 40). Prints one JSON object.
// Build: g++ -O2 -mavx512f -mavx512bf16 bench/native/bf16_peak.cc -o /tmp/ab-bf16-peak -lpthread
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "fma_loop.h"

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

__attribute__((noinline)) static float dp_loop(long iters) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,
         a9 = a0, a10 = a0, a11 = a0;
  const __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), y = (__m512bh)_mm512_set1_epi32(0x33803380);
  for (long k = 0; k < iters; ++k) {
    a0 = _mm512_dpbf16_ps(a0, x, y); a1 = _mm512_dpbf16_ps(a1, x, y); a2 = _mm512_dpbf16_ps(a2, x, y);
    a3 = _mm512_dpbf16_ps(a3, x, y); a4 = _mm512_dpbf16_ps(a4, x, y); a5 = _mm512_dpbf16_ps(a5, x, y);
    a6 = _mm512_dpbf16_ps(a6, x, y); a7 = _mm512_dpbf16_ps(a7, x, y); a8 = _mm512_dpbf16_ps(a8, x, y);
    a9 = _mm512_dpbf16_ps(a9, x, y); a10 = _mm512_dpbf16_ps(a10, x, y); a11 = _mm512_dpbf16_ps(a11, x, y);
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7),
                     "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                           _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
  return _mm512_reduce_add_ps(s);
}

// Best of g_runs runs of `threads` concurrent loops; GFLOP/s summed over threads.
static long g_iters = 1000000;
static int g_runs = 40;

template <typename F>
static double peak(F loop, int threads, double flops_per_iter) {
  const long iters = g_iters;
  double best = 1e30;
  volatile float sink = 0;
  for (int r = 0; r < g_runs; ++r) {
    std::vector<std::thread> ts;
    const double t0 = now();
    for (int t = 1; t < threads; ++t) ts.emplace_back([&] { sink = sink + loop(iters); });
    sink = sink + loop(iters);
    for (auto& t : ts) t.join();
    const double dt = now() - t0;
    if (dt < best) best = dt;
  }
  return flops_per_iter * iters * threads / best * 1e-9;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  if (argc > 2) g_iters = std::atol(argv[2]);
  if (argc > 3) g_runs = std::atoi(argv[3]);
  const double bf = peak(dp_loop, threads, 12 * 64.0), f32 = peak(fma_loop_zmm, threads, 12 * 32.0);
  std::printf("{\"threads\": %d, \"bf16_dot_peak_gflops\": %.1f, \"f32_fma_peak_gflops\": %.1f}\n", threads, bf, f32);
  return 0;
}

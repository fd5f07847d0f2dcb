// SPDX-License-Identifier: Apache-2.0
// The f32 FMA rate one thread gets right now (12 independent zmm FMA chains, best of 20 runs):
// on a shared machine this is what "peak" means at the moment of a run. Built by bench/lib/probe.mjs.
#include <immintrin.h>
#include <chrono>
#include <cstdio>
int main() {
#define D(i) __m512 c##i = _mm512_set1_ps(0.001f * i);
  D(0) D(1) D(2) D(3) D(4) D(5) D(6) D(7) D(8) D(9) D(10) D(11)
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  double best = 0;
  for (int rep = 0; rep < 20; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    const long iters = 4000000;
    for (long k = 0; k < iters; ++k) {
#define F(i) c##i = _mm512_fmadd_ps(c##i, a, b);
      F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11)
      __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5), "+v"(c6), "+v"(c7), "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11));
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double g = iters * 12.0 * 16 * 2 / s / 1e9;
    if (g > best) best = g;
  }
  __m512 t = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)), _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
  t = _mm512_add_ps(t, _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
  std::printf("%.1f %g\n", best, _mm512_reduce_add_ps(t));
}

// SPDX-License-Identifier: Apache-2.0
// Standalone GEMM bench/check: sh bench/native/build.sh && /tmp/ab_gemm_bench/gemm_bench [level] [threads] [check|perf]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dispatch/isa.h"
#include "gemm/gemm.h"
#include "runtime/thread_pool.h"

using namespace ab;
static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
static void fill(std::vector<float>& v, unsigned seed) {
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = ((seed >> 8) & 0xffff) / 32768.f - 1.f;
  }
}
static double check(bool ta, bool tb, int M, int N, int K) {
  std::vector<float> A(size_t(M) * K), B(size_t(K) * N), C(size_t(M) * N, NAN);
  fill(A, 1), fill(B, 2);
  gemm::sgemm(ta, tb, M, N, K, A.data(), ta ? M : K, B.data(), tb ? K : N, C.data(), N, nullptr);
  double worst = 0;
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0, sa = 0;
      for (int k = 0; k < K; ++k) {
        double a = ta ? A[size_t(k) * M + i] : A[size_t(i) * K + k];
        double b = tb ? B[size_t(j) * K + k] : B[size_t(k) * N + j];
        s += a * b, sa += std::fabs(a * b);
      }
      double e = std::fabs(C[size_t(i) * N + j] - s) / (sa + 1e-30);
      if (!(e <= worst)) worst = e;
    }
  return worst;
}
static double bench(int M, int N, int K, bool tb, int reps) {
  std::vector<float> A(size_t(M) * K), B(size_t(K) * N), C(size_t(M) * N);
  fill(A, 1), fill(B, 2);
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t = now();
    gemm::sgemm(false, tb, M, N, K, A.data(), K, B.data(), tb ? K : N, C.data(), N, nullptr);
    t = now() - t;
    if (t < best) best = t;
  }
  return 2.0 * M * N * K / best * 1e-9;
}
// M=1, N=K=4096 over 3 cold 64 MiB weight buffers: GB/s of weights streamed.
static double bench_gemv(bool tb, int reps) {
  const int K = 4096, N = 4096, NW = 3;
  std::vector<std::vector<float>> W(NW, std::vector<float>(size_t(K) * N));
  for (auto& w : W) fill(w, 3);
  std::vector<float> x(K), y(N);
  fill(x, 4);
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t = now();
    gemm::sgemm(false, tb, 1, N, K, x.data(), K, W[r % NW].data(), tb ? K : N, y.data(), N, nullptr);
    t = now() - t;
    if (t < best) best = t;
  }
  return double(K) * N * 4 / best * 1e-9;
}
int main(int argc, char** argv) {
  if (argc > 1) {
    Isa l;
    if (isa_from_name(argv[1], &l)) isa_set(l);
  }
  if (argc > 2) set_num_threads(atoi(argv[2]));
  auto ki = gemm::kernel_info();
  std::printf("level %s: %s MR=%d NR=%d KC=%d MC=%d NC=%d threads=%d\n", isa_name(Isa(ki.level)), ki.name,
              ki.mr, ki.nr, ki.kc, ki.mc, ki.nc, get_num_threads());
  const char* mode = argc > 3 ? argv[3] : "all";
  if (!std::strcmp(mode, "all") || !std::strcmp(mode, "check")) {
    int shapes[][3] = {{1, 1, 1}, {3, 17, 65}, {65, 17, 1001}, {1, 1037, 3}, {1037, 1, 3}, {100, 200, 300}, {14, 32, 384}, {15, 33, 385}, {200, 1, 500}, {1, 300, 700}, {333, 555, 777}};
    for (auto& s : shapes)
      for (int t = 0; t < 4; ++t)
        std::printf("check %dx%dx%d ta=%d tb=%d: err %.3g\n", s[0], s[1], s[2], t & 1, t >> 1, check(t & 1, t >> 1, s[0], s[1], s[2]));
  }
  if (!std::strcmp(mode, "all") || !std::strcmp(mode, "perf")) {
    int sizes[] = {64, 256, 512, 1000, 1024, 2000, 2048};
    std::printf("gemv 4096^2 cold: %.1f GB/s (transB %.1f)\n", bench_gemv(false, 30), bench_gemv(true, 30));
    for (int n : sizes) std::printf("%5d^3: %.1f GFLOP/s  (transB %.1f)\n", n, bench(n, n, n, false, n <= 256 ? 200 : 5), bench(n, n, n, true, n <= 256 ? 200 : 5));
  }
}

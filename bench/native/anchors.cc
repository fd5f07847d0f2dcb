// SPDX-License-Identifier: Apache-2.0
// Machine anchors, measured in the same run as our kernels: the f32 FMA peak of one core (zmm and
// ymm register-resident FMA chains), the read bandwidth of one core (cold buffer, 256 MiB), and
// the libraries a user would otherwise pick: oneDNN's dnnl_sgemm and OpenBLAS's cblas_sgemm when
// their headers are installed (Debian: libdnnl-dev, libopenblas-dev). Prints one JSON object.
//
// Build: bench/native/build-anchors.sh (bench/run.mjs builds it when a C++ compiler is present).
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <vector>

#include "fma_loop.h"

#ifdef AB_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl.hpp>
#endif
#ifdef AB_HAVE_OPENBLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
#endif

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <typename F>
static double best_of(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t0 = now();
    f();
    double t = now() - t0;
    if (t < best) best = t;
  }
  return best;
}

__attribute__((noinline)) static float fma_loop_ymm(long iters) {
  __m256 a0 = _mm256_set1_ps(1.f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
         a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long k = 0; k < iters; ++k) {
    a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c); a2 = _mm256_fmadd_ps(a2, m, c);
    a3 = _mm256_fmadd_ps(a3, m, c); a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
    a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c); a8 = _mm256_fmadd_ps(a8, m, c);
    a9 = _mm256_fmadd_ps(a9, m, c); a10 = _mm256_fmadd_ps(a10, m, c); a11 = _mm256_fmadd_ps(a11, m, c);
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7),
                     "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  float b[8];
  _mm256_storeu_ps(b, s);
  return b[0];
}

__attribute__((noinline)) static float read_loop(const float* p, size_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i < n; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
    s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_load_ps(p + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_load_ps(p + i + 48));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static volatile float g_sink;

static double fma_peak_zmm() {
  const long iters = 20000000;
  return iters * 12.0 * 32 / best_of(5, [&] { g_sink = fma_loop_zmm(iters); }) / 1e9;
}

static double fma_peak_ymm() {
  const long iters = 20000000;
  return iters * 12.0 * 16 / best_of(5, [&] { g_sink = fma_loop_ymm(iters); }) / 1e9;
}

static double read_bandwidth(size_t bytes) {
  const size_t n = bytes / sizeof(float);
  float* p = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
  for (size_t i = 0; i < n; ++i) p[i] = 1.0f;
  double t = best_of(bytes < (64u << 20) ? 50 : 5, [&] { g_sink = read_loop(p, n); });
  std::free(p);
  return n * sizeof(float) / t / 1e9;
}


#ifdef AB_HAVE_DNNL
// oneDNN's own forward-inference convolution, NHWC source and destination, weights in the layout
// oneDNN picks (format_tag::any, reordered once outside the timing, as a framework would), "same"
// padding as tfjs computes it. Returns GFLOP/s (best of a few runs).
static double onednn_conv(int n, int h, int w, int c, int oc, int k, int stride, bool same) {
  using namespace dnnl;
  using tag = memory::format_tag;
  using dt = memory::data_type;
  engine eng(engine::kind::cpu, 0);
  stream st(eng);
  const int oh = same ? (h + stride - 1) / stride : (h - k) / stride + 1;
  const int ow = same ? (w + stride - 1) / stride : (w - k) / stride + 1;
  const int pad_h = same ? std::max((oh - 1) * stride + k - h, 0) : 0;
  const int pad_w = same ? std::max((ow - 1) * stride + k - w, 0) : 0;
  memory::desc src_md({n, c, h, w}, dt::f32, tag::nhwc), dst_md({n, oc, oh, ow}, dt::f32, tag::nhwc);
  memory::desc wany({oc, c, k, k}, dt::f32, tag::any), wuser({oc, c, k, k}, dt::f32, tag::hwio);
  convolution_forward::desc d(prop_kind::forward_inference, algorithm::convolution_direct, src_md, wany, dst_md,
                              {stride, stride}, {pad_h / 2, pad_w / 2}, {pad_h - pad_h / 2, pad_w - pad_w / 2});
  convolution_forward::primitive_desc pd(d, eng);
  std::vector<float> xs(size_t(n) * h * w * c, 0.5f), ws(size_t(oc) * c * k * k, 0.25f), ys(size_t(n) * oh * ow * oc);
  memory src(src_md, eng, xs.data()), wu(wuser, eng, ws.data()), dst(dst_md, eng, ys.data());
  memory wt(pd.weights_desc(), eng);
  reorder(wu, wt).execute(st, wu, wt);
  convolution_forward conv(pd);
  auto run = [&] {
    conv.execute(st, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wt}, {DNNL_ARG_DST, dst}});
    st.wait();
  };
  for (int i = 0; i < 3; ++i) run();
  const double flops = 2.0 * n * oh * ow * oc * c * k * k;
  const int reps = std::max(5, static_cast<int>(2e9 / flops));
  return flops / best_of(reps, run) / 1e9;
}
#endif

// Threads: AB_THREADS (default 1) for OpenBLAS; oneDNN (OpenMP) follows OMP_NUM_THREADS, which the
// caller sets to the same value. Nothing is pinned here: a pinned main thread would hand its
// one-core mask to the libraries' worker threads.
int main() {
  if (!__builtin_cpu_supports("avx512f")) {
    std::printf("{\"error\": \"the anchors program needs AVX-512\"}\n");
    return 0;
  }
  const int threads = getenv("AB_THREADS") ? std::atoi(getenv("AB_THREADS")) : 1;
  std::printf("{\"threads\": %d", threads);
  // AB_ANCHORS=conv: only the oneDNN convolution anchors (same shapes as bench/conv-native.mjs).
  const bool conv_only = getenv("AB_ANCHORS") && std::strcmp(getenv("AB_ANCHORS"), "conv") == 0;
#ifdef AB_HAVE_DNNL
  struct ConvShape { const char* name; int n, h, w, c, oc, k, stride; bool same; };
  const ConvShape convs[] = {
      {"3x3_64_64_56", 1, 56, 56, 64, 64, 3, 1, true},       {"3x3_128_128_28", 1, 28, 28, 128, 128, 3, 1, true},
      {"3x3_64_128_56_s2", 1, 56, 56, 64, 128, 3, 2, true}, {"1x1_64_256_56", 1, 56, 56, 64, 256, 1, 1, false},
      {"1x1_256_64_56", 1, 56, 56, 256, 64, 1, 1, false},   {"1x1_256_512_56_s2", 1, 56, 56, 256, 512, 1, 2, false},
      {"3x3_3_32_224_s2", 1, 224, 224, 3, 32, 3, 2, true}};
  for (const ConvShape& s : convs)
    std::printf(", \"onednn_conv_%s\": %.1f", s.name, onednn_conv(s.n, s.h, s.w, s.c, s.oc, s.k, s.stride, s.same));
#endif
  if (conv_only) {
    std::printf("}\n");
    return 0;
  }
  if (threads == 1)
    std::printf(", \"fma_peak_zmm_gflops\": %.1f, \"fma_peak_ymm_gflops\": %.1f, \"read_dram_gbs\": %.1f, "
                "\"read_l3_gbs\": %.1f", fma_peak_zmm(), fma_peak_ymm(), read_bandwidth(256u << 20), read_bandwidth(8u << 20));
#ifdef AB_HAVE_OPENBLAS
  openblas_set_num_threads(threads);
#endif
  for (int n : {64, 256, 1024, 2048}) {
    std::vector<float> A(size_t(n) * n, 0.5f), B(size_t(n) * n, 0.25f), C(size_t(n) * n);
    const double flops = 2.0 * n * n * n;
    const int reps = n <= 256 ? 200 : n <= 1024 ? 10 : 3;
    (void)flops;
    (void)reps;
#ifdef AB_HAVE_DNNL
    for (int w = 0; w < 3; ++w) dnnl_sgemm('N', 'N', n, n, n, 1.f, A.data(), n, B.data(), n, 0.f, C.data(), n);
    double t = best_of(reps, [&] { dnnl_sgemm('N', 'N', n, n, n, 1.f, A.data(), n, B.data(), n, 0.f, C.data(), n); });
    std::printf(", \"onednn_sgemm_%d\": %.1f", n, flops / t / 1e9);
#endif
#ifdef AB_HAVE_OPENBLAS
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, A.data(), n, B.data(), n, 0.f, C.data(), n);
    double t2 = best_of(reps, [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, A.data(), n, B.data(), n, 0.f, C.data(), n);
    });
    std::printf(", \"openblas_sgemm_%d\": %.1f", n, flops / t2 / 1e9);
#endif
  }
  std::printf("}\n");
  return 0;
}

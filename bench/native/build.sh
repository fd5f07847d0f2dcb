#!/bin/sh
# Builds the standalone GEMM bench (outside node-gyp): sh bench/native/build.sh && /tmp/ab_gemm_bench/gemm_bench
set -e
cd "$(dirname "$0")/../.."
O=${GEMM_BENCH_DIR:-/tmp/ab_gemm_bench}
mkdir -p $O
F="-O3 -std=c++17 -fno-math-errno -fno-trapping-math -Inative"
for lvl in "scalar 0" "avx2 1 -mavx2 -mfma -mf16c" "avx512 2 -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq"; do
  set -- $lvl; ns=$1; l=$2; shift 2
  for f in gemm_f32_kernel activation_kernel empty_kernel; do
    g++ $F "$@" -DAB_ISA_NS=$ns -DAB_ISA_LEVEL=$l -c native/kernels/$f.cc -o $O/${f}_$ns.o &
  done
done
g++ $F -c native/gemm/gemm.cc -o $O/gemm.o &
g++ $F -c native/runtime/thread_pool.cc -o $O/thread_pool.o &
g++ $F -DAB_BUILT_MAX=2 -c native/dispatch/isa.cc -o $O/isa.o &
g++ $F -c bench/native/gemm_bench.cc -o $O/gemm_bench.o &
wait
g++ -o $O/gemm_bench $O/*.o -lpthread

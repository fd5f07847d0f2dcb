#!/usr/bin/env bash
# Builds the anchors program (bench/native/anchors.cc) into $1 (default /tmp/ab-anchors),
# linking oneDNN and OpenBLAS when their headers are installed.
set -euo pipefail
out=${1:-/tmp/ab-anchors}
here=$(cd "$(dirname "$0")" && pwd)
flags=()
libs=()
if [ -f /usr/include/oneapi/dnnl/dnnl.h ]; then flags+=(-DAB_HAVE_DNNL); libs+=(-ldnnl); fi
if [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ]; then
  if ls /usr/lib/x86_64-linux-gnu/libopenblas.so >/dev/null 2>&1; then flags+=(-DAB_HAVE_OPENBLAS); libs+=(-lopenblas); fi
fi
${CXX:-g++} -O2 -std=c++17 -mavx2 -mfma -mavx512f -Wno-psabi "${flags[@]}" "$here/anchors.cc" -o "$out" "${libs[@]}" -lpthread
echo "$out"

// SPDX-License-Identifier: Apache-2.0
// N-API: bf16 weights (packed once) and the bf16 GEMM (native/gemm/gemm_bf16.h).
//
// bf16Pack(b, K, N, transB): ArrayBuffer
//   b: Float32Array, K x N (N x K if transB). Returns a new ArrayBuffer holding a 64-byte header
//   and the packed bf16 panels; its byteLength is the memory it holds (about K * N * 2 bytes).
//   Header (uint32 words): magic 'AB16', version 1, K, N, byte offset of the panels (64..127,
//   chosen so that they start 64-byte aligned).
// bf16Gemm(a, packed, out, M, N, K, transA, bias, biasMode, act, alpha, slope, slopeMode): undefined
//   a: Float32Array M x K (K x M if transA); packed: from bf16Pack with this K and N;
//   out: Float32Array M x N (written, never read); the epilogue arguments as in matmul.
// conv2dBf16(x, packed, out, dims: number[15] = [batch, inH, inW, inC, outH, outW, outC, fH, fW,
//            strideH, strideW, dilH, dilW, padTop, padLeft], bias|null, biasMode, act, alpha,
//            slope|null, slopeMode): undefined
//   NHWC conv2d (native/ops/conv2d_bf16.h) with the filter [fH, fW, inC, outC] packed by
//   bf16Pack(filter, fH * fW * inC, outC, false); dims and the epilogue as conv2d's.
// bf16Info(): {level, kernel, mr, nr, kc, mc, nc, summary} of the kernel the current level uses.
// Every argument is validated; violations throw TypeError/RangeError and nothing is written.
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "../gemm/gemm_bf16.h"
#include "../ops/conv2d_bf16.h"
#include "../ops/op_codes.h"
#include "arg_checks.h"
#include "capture.h"
#include "napi_util.h"
#include "runtime/memory.h"

namespace ab {
namespace {
using napi::Args;
using napi::mul_checked;
using napi::overlaps;
using napi::PackArgs;
using napi::read_pack_args;
std::string s(int64_t v) { return napi::str(v); }

constexpr uint32_t kMagic = 0x36314241u;  // "AB16"
constexpr uint32_t kVersion = 1;
constexpr size_t kHeader = 64;

struct PackedView {
  const uint32_t* data;
  size_t words;
  uint8_t* base;
  size_t bytes;
};

// Reads and checks a packed buffer for (K, N). Returns false after throwing.
bool read_packed(napi_env env, const std::string& fn, napi_value v, int64_t K, int64_t N, PackedView* out) {
  bool is_ab = false;
  if (napi_is_arraybuffer(env, v, &is_ab) != napi_ok || !is_ab)
    return napi::throw_type_error(env, fn + "argument 'packed' must be an ArrayBuffer from bf16Pack");
  void* p = nullptr;
  size_t len = 0;
  if (napi_get_arraybuffer_info(env, v, &p, &len) != napi_ok)
    return napi::throw_error(env, "ERR_AFTERBURNER_NAPI", fn + "cannot read 'packed'");
  uint32_t h[5] = {0, 0, 0, 0, 0};
  if (len >= kHeader && p) std::memcpy(h, p, sizeof h);
  if (len < kHeader || h[0] != kMagic || h[1] != kVersion)
    return napi::throw_type_error(env, fn + "argument 'packed' is not a packed bf16 matrix (made by bf16Pack)");
  if (static_cast<int64_t>(h[2]) != K || static_cast<int64_t>(h[3]) != N)
    return napi::throw_range_error(env, fn + "'packed' holds a " + s(h[2]) + " x " + s(h[3]) +
                                            " matrix, the call needs K x N = " + s(K) + " x " + s(N));
  const size_t words = static_cast<size_t>(gemm::bf16_packed_words(K, N));
  const size_t off = h[4];
  if (off < kHeader || off >= 2 * kHeader || off % 4 != 0 || off + words * 4 > len)
    return napi::throw_range_error(env, fn + "'packed' is damaged (its header does not fit its size)");
  out->data = reinterpret_cast<const uint32_t*>(static_cast<uint8_t*>(p) + off);
  out->words = words;
  out->base = static_cast<uint8_t*>(p);
  out->bytes = len;
  return true;
}

bool check_kn(napi_env env, const std::string& fn, int64_t K, int64_t N) {
  if (K < 0 || N < 0) return napi::throw_range_error(env, fn + "sizes must be non-negative, got K=" + s(K) + " N=" + s(N));
  if (K > INT32_MAX || N > INT32_MAX) return napi::throw_range_error(env, fn + "K and N must each be < 2^31");
  return true;
}

napi_value pack_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "bf16Pack", 4);
  PackArgs pa;
  if (!read_pack_args(a, &pa)) return nullptr;
  float* pb = pa.b;
  const size_t nb = pa.nb;
  const int64_t K = pa.K, N = pa.N;
  const bool tb = pa.trans_b;
  const std::string fn = "bf16Pack: ";
  if (!check_kn(env, fn, K, N)) return nullptr;
  int64_t KN;
  if (!mul_checked(K, N, &KN) || !mul_checked(gemm::bf16_packed_words(K, N), 4, &KN)) {
    napi::throw_range_error(env, fn + "sizes overflow");
    return nullptr;
  }
  if (!napi::check_length(env, fn, "b", nb, K * N, "K*N")) return nullptr;
  const size_t words = static_cast<size_t>(gemm::bf16_packed_words(K, N));
  const size_t bytes = 2 * kHeader + words * 4;
  void* mem = nullptr;
  napi_value ab;
  if (napi_create_arraybuffer(env, bytes, &mem, &ab) != napi_ok || !mem) {
    napi::throw_error(env, "ERR_AFTERBURNER_OOM", fn + "cannot allocate " + s(static_cast<int64_t>(bytes)) + " bytes");
    return nullptr;
  }
  uint8_t* base = static_cast<uint8_t*>(mem);
  const uintptr_t first = reinterpret_cast<uintptr_t>(base) + kHeader;
  const size_t off = kHeader + ((64 - first % 64) % 64) / 4 * 4;
  std::memset(base, 0, off);  // the header and the alignment gap; the panels are all written
  const uint32_t h[5] = {kMagic, kVersion, static_cast<uint32_t>(K), static_cast<uint32_t>(N), static_cast<uint32_t>(off)};
  std::memcpy(base, h, sizeof h);
  gemm::bf16_pack_b(tb, K, N, pb, tb ? (K > 0 ? K : 1) : (N > 0 ? N : 1), reinterpret_cast<uint32_t*>(base + off));
  return ab;
}

napi_value gemm_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "bf16Gemm", 13);
  napi::PackedGemmArgs g;
  if (!napi::read_packed_gemm_args(a, &g)) return nullptr;
  const std::string fn = "bf16Gemm: ";
  const int64_t M = g.M, N = g.N, K = g.K;
  if (M < 0) {
    napi::throw_range_error(env, fn + "sizes must be non-negative, got M=" + s(M));
    return nullptr;
  }
  if (!check_kn(env, fn, K, N)) return nullptr;
  if (M > INT32_MAX) {
    napi::throw_range_error(env, fn + "M must be < 2^31");
    return nullptr;
  }
  PackedView bp{};
  if (!read_packed(env, fn, a.argv[1], K, N, &bp)) return nullptr;
  if (!napi::check_packed_gemm(env, fn, &g, bp.base, bp.bytes)) return nullptr;
  const bool ta = g.trans_a;
  const float* pa = g.a;
  float* pc = g.out;
  const gemm::Epilogue ep = g.ep;
  return napi::write_output(env, fn, pc, g.MN, "packing buffers", [&] {
    AB_CAPTURED(a, gemm::gemm_bf16(ta, M, N, K, pa, ta ? (M > 0 ? M : 1) : (K > 0 ? K : 1), bp.data, pc, N, &ep));
  });
}

napi_value conv2d_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "conv2dBf16", 10);
  float *px, *py, *pbias, *pslope;
  size_t nx, ny, nbias, nslope;
  std::vector<int64_t> d;
  int32_t bias_mode, act, slope_mode;
  double alpha;
  const std::string fn = "conv2dBf16: ";
  if (!a.ok || !a.f32(0, "x", &px, &nx) || !a.f32(2, "out", &py, &ny) || !napi::read_dims(a, 3, fn, 15, &d))
    return nullptr;
  if (!a.f32_or_null(4, "bias", &pbias, &nbias) || !a.i32(5, "biasMode", &bias_mode) || !a.i32(6, "act", &act) ||
      !a.f64(7, "alpha", &alpha) || !a.f32_or_null(8, "slope", &pslope, &nslope) || !a.i32(9, "slopeMode", &slope_mode))
    return nullptr;
  Conv2DParams p;
  int64_t xin = 0, K = 0, MN = 0;
  if (!napi::conv2d_geometry(env, fn, d, &p, &xin, &K, &MN)) return nullptr;
  if (K > INT32_MAX) {
    napi::throw_range_error(env, fn + "sizes overflow");
    return nullptr;
  }
  PackedView bp{};
  if (!read_packed(env, fn, a.argv[1], K, p.out_c, &bp)) return nullptr;
  if (!napi::check_extents(env, fn, {{"x", nx, xin}, {"out", ny, MN}})) return nullptr;
  gemm::Epilogue ep;
  if (!napi::read_epilogue(env, fn, act, alpha, pbias, nbias, bias_mode, pslope, nslope, slope_mode, p.out_c, MN, &ep))
    return nullptr;
  const float* pk = reinterpret_cast<const float*>(bp.base);
  if (!napi::check_conv_out(a, fn, 10, py, ny, px, nx, "packed", pk, bp.bytes / 4, p, MN, bias_mode, pbias, nbias, act, pslope,
                            nslope, slope_mode, &ep))
    return nullptr;
  return napi::write_output(env, fn, py, MN, "the im2col / packing buffers",
                            [&] { AB_CAPTURED(a, conv2d_nhwc_bf16(px, bp.data, py, p, &ep)); });
}

// bf16ConvPath(dims): the path conv2dBf16 takes for these dims now (conv2d_bf16_path): "empty",
// "gemm", "direct", "implicit" or "im2col". For the tests and benchmarks.
napi_value conv_path_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "bf16ConvPath", 1);
  std::vector<int64_t> d;
  const std::string fn = "bf16ConvPath: ";
  if (!a.ok || !napi::read_dims(a, 0, fn, 15, &d)) return nullptr;
  Conv2DParams p;
  int64_t xin = 0, K = 0, MN = 0;
  if (!napi::conv2d_geometry(env, fn, d, &p, &xin, &K, &MN)) return nullptr;
  return napi::make_string(env, conv2d_bf16_path(p));
}

napi_value info_fn(napi_env env, napi_callback_info) {
  return napi::kernel_info_object(env, "bf16Info", gemm::bf16_kernel_info());
}

// bf16Policy(): {dotSpeedup, emulate, why} — the avx512_bf16 dispatch policy (gemm_bf16.h).
napi_value policy_fn(napi_env env, napi_callback_info) {
  const gemm::Bf16DotPolicy d = gemm::bf16_dot_policy();
  napi_value o, v;
  napi_create_object(env, &o);
  napi_create_double(env, d.speedup, &v);
  napi_set_named_property(env, o, "dotSpeedup", v);
  napi_get_boolean(env, d.emulate, &v);
  napi_set_named_property(env, o, "emulate", v);
  napi_set_named_property(env, o, "why", napi::make_string(env, d.why));
  return o;
}

AB_EXPORT("bf16Policy", policy_fn);
AB_EXPORT("bf16Pack", pack_fn);
AB_EXPORT("bf16Gemm", gemm_fn);
AB_EXPORT("bf16Info", info_fn);
AB_EXPORT("conv2dBf16", conv2d_fn);
AB_EXPORT("bf16ConvPath", conv_path_fn);

}  // namespace
}  // namespace ab

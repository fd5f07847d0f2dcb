// SPDX-License-Identifier: Apache-2.0
// N-API: int8 / int4 weight-only quantized weights and their GEMM (native/gemm/gemm_quant.h).
//
// quantPack(b, K, N, transB, bits, groupSize): ArrayBuffer
//   b: Float32Array, K x N (N x K if transB), every value finite (else RangeError naming the first
//   bad element). bits 8 or 4, groupSize 32, 64 or 128; K, N >= 1. Returns a new ArrayBuffer: a
//   64-byte header and the packed data (gemm_quant.h's layout); byteLength = the memory it holds.
//   Header (uint32 words): magic 'ABQW', version 1, bits, groupSize, K, N, byte offset of the
//   data (64..127, so that it starts 64-byte aligned).
// quantGemm(a, packed, out, M, N, K, transA, bias, biasMode, act, alpha, slope, slopeMode): undefined
//   a: Float32Array M x K (K x M if transA); packed: from quantPack with this K and N; out:
//   Float32Array M x N (written, never read); the epilogue arguments as in matmul.
// quantUnpack(packed): {bits, groupSize, K, N, codes: Int8Array (K x N), scales: Float32Array
//   (ceil(K / groupSize) x N)}: the quantized form, for tests and inspection.
// quantInfo(): {level, kernel, mr, nr, kc, mc, nc, summary}: mr rows per tile, nr the panel width,
//   kc the K rows per dequantized chunk (blocked path), mc the largest M run on the codes directly.
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "../gemm/gemm_quant.h"
#include "../ops/op_codes.h"
#include "arg_checks.h"
#include "capture.h"
#include "napi_util.h"

namespace ab {
namespace {
using napi::Args;
using napi::mul_checked;
std::string s(int64_t v) { return napi::str(v); }

constexpr uint32_t kMagic = 0x57514241u;  // "ABQW"
constexpr uint32_t kVersion = 1;
constexpr size_t kHeader = 64;

struct QuantView {
  gemm::QuantB b;
  uint8_t* base;
  size_t bytes;
};

// Reads and checks a quantPack buffer; K < 0 / N < 0 accept any size. Returns false after throwing.
bool read_packed(napi_env env, const std::string& fn, napi_value v, int64_t K, int64_t N, QuantView* out) {
  bool is_ab = false;
  if (napi_is_arraybuffer(env, v, &is_ab) != napi_ok || !is_ab)
    return napi::throw_type_error(env, fn + "argument 'packed' must be an ArrayBuffer from quantPack");
  void* p = nullptr;
  size_t len = 0;
  if (napi_get_arraybuffer_info(env, v, &p, &len) != napi_ok)
    return napi::throw_error(env, "ERR_AFTERBURNER_NAPI", fn + "cannot read 'packed'");
  uint32_t h[7] = {0, 0, 0, 0, 0, 0, 0};
  if (len >= kHeader && p) std::memcpy(h, p, sizeof h);
  if (len < kHeader || h[0] != kMagic || h[1] != kVersion || (h[2] != 8 && h[2] != 4) ||
      !gemm::quant_group_ok(h[3]) || h[4] < 1 || h[5] < 1)
    return napi::throw_type_error(env, fn + "argument 'packed' is not a quantized matrix (made by quantPack)");
  if ((K >= 0 && static_cast<int64_t>(h[4]) != K) || (N >= 0 && static_cast<int64_t>(h[5]) != N))
    return napi::throw_range_error(env, fn + "'packed' holds a " + s(h[4]) + " x " + s(h[5]) +
                                            " matrix, the call needs K x N = " + s(K) + " x " + s(N));
  const int bits = static_cast<int>(h[2]);
  const size_t need = static_cast<size_t>(gemm::quant_packed_bytes(bits, h[3], h[4], h[5]));
  const size_t off = h[6];
  if (off < kHeader || off >= 2 * kHeader || off % 4 != 0 || off + need > len)
    return napi::throw_range_error(env, fn + "'packed' is damaged (its header does not fit its size)");
  out->b = gemm::QuantB{bits, static_cast<int64_t>(h[3]), static_cast<int64_t>(h[4]), static_cast<int64_t>(h[5]),
                        static_cast<uint8_t*>(p) + off};
  out->base = static_cast<uint8_t*>(p);
  out->bytes = len;
  return true;
}

napi_value pack_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "quantPack", 6);
  napi::PackArgs pa;
  int32_t bits, group;
  if (!napi::read_pack_args(a, &pa) || !a.i32(4, "bits", &bits) || !a.i32(5, "groupSize", &group)) return nullptr;
  const std::string fn = "quantPack: ";
  const int64_t K = pa.K, N = pa.N;
  if (bits != 8 && bits != 4) {
    napi::throw_range_error(env, fn + "'bits' must be 8 or 4, got " + s(bits));
    return nullptr;
  }
  if (!gemm::quant_group_ok(group)) {
    napi::throw_range_error(env, fn + "'groupSize' must be 32, 64 or 128, got " + s(group));
    return nullptr;
  }
  if (K < 1 || N < 1 || K > INT32_MAX || N > INT32_MAX) {
    napi::throw_range_error(env, fn + "K and N must be in [1, 2^31), got K=" + s(K) + " N=" + s(N));
    return nullptr;
  }
  int64_t KN, bytes64;
  const int64_t panels = (N + gemm::kQuantPanelN - 1) / gemm::kQuantPanelN;
  if (!mul_checked(K, N, &KN) || !mul_checked(panels, gemm::quant_panel_bytes(bits, group, K), &bytes64)) {
    napi::throw_range_error(env, fn + "sizes overflow");
    return nullptr;
  }
  if (!napi::check_length(env, fn, "b", pa.nb, KN, "K*N")) return nullptr;
  const int64_t ldb = pa.trans_b ? K : N;
  const int64_t bad = gemm::quant_first_nonfinite(pa.trans_b, K, N, pa.b, ldb);
  if (bad >= 0) {
    const float x = pa.b[bad];
    napi::throw_range_error(env, fn + "b[" + s(bad) + "] is " + (x != x ? "NaN" : x > 0 ? "Infinity" : "-Infinity") +
                                     ": weights to quantize must be finite");
    return nullptr;
  }
  const size_t bytes = 2 * kHeader + static_cast<size_t>(bytes64);
  void* mem = nullptr;
  napi_value ab;
  if (napi_create_arraybuffer(env, bytes, &mem, &ab) != napi_ok || !mem) {
    napi::throw_error(env, "ERR_AFTERBURNER_OOM", fn + "cannot allocate " + s(static_cast<int64_t>(bytes)) + " bytes");
    return nullptr;
  }
  uint8_t* base = static_cast<uint8_t*>(mem);
  const uintptr_t first = reinterpret_cast<uintptr_t>(base) + kHeader;
  const size_t off = kHeader + ((64 - first % 64) % 64) / 4 * 4;
  std::memset(base, 0, off);
  const uint32_t h[7] = {kMagic, kVersion, static_cast<uint32_t>(bits), static_cast<uint32_t>(group),
                         static_cast<uint32_t>(K), static_cast<uint32_t>(N), static_cast<uint32_t>(off)};
  std::memcpy(base, h, sizeof h);
  gemm::quant_pack_b(bits, group, pa.trans_b, K, N, pa.b, ldb, base + off);
  return ab;
}

napi_value gemm_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "quantGemm", 13);
  napi::PackedGemmArgs g;
  if (!napi::read_packed_gemm_args(a, &g)) return nullptr;
  const std::string fn = "quantGemm: ";
  const int64_t M = g.M, N = g.N, K = g.K;
  if (M < 0 || M > INT32_MAX) {
    napi::throw_range_error(env, fn + "M must be in [0, 2^31), got M=" + s(M));
    return nullptr;
  }
  if (K < 1 || N < 1) {
    napi::throw_range_error(env, fn + "K and N must be >= 1, got K=" + s(K) + " N=" + s(N));
    return nullptr;
  }
  QuantView bp{};
  if (!read_packed(env, fn, a.argv[1], K, N, &bp)) return nullptr;
  if (!napi::check_packed_gemm(env, fn, &g, bp.base, bp.bytes)) return nullptr;
  const bool ta = g.trans_a;
  const float* pa = g.a;
  float* pc = g.out;
  const gemm::Epilogue ep = g.ep;
  return napi::write_output(env, fn, pc, g.MN, "its buffers", [&] {
    AB_CAPTURED(a, gemm::gemm_quant(ta, M, pa, ta ? (M > 0 ? M : 1) : K, bp.b, pc, N, &ep));
  });
}

napi_value unpack_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "quantUnpack", 1);
  if (!a.ok) return nullptr;
  QuantView bp{};
  if (!read_packed(env, "quantUnpack: ", a.argv[0], -1, -1, &bp)) return nullptr;
  const gemm::QuantB& b = bp.b;
  const int64_t G = gemm::quant_groups(b.K, b.group);
  napi_value codes_ab, scales_ab, codes, scales, obj;
  void *pc = nullptr, *ps = nullptr;
  const size_t nc = static_cast<size_t>(b.K * b.N), ns = static_cast<size_t>(G * b.N);
  if (napi_create_arraybuffer(env, nc, &pc, &codes_ab) != napi_ok ||
      napi_create_arraybuffer(env, ns * 4, &ps, &scales_ab) != napi_ok) {
    napi::throw_error(env, "ERR_AFTERBURNER_OOM", "quantUnpack: cannot allocate the result");
    return nullptr;
  }
  gemm::quant_unpack(b, static_cast<int8_t*>(pc), static_cast<float*>(ps));
  AB_NAPI_CALL(env, napi_create_typedarray(env, napi_int8_array, nc, codes_ab, 0, &codes));
  AB_NAPI_CALL(env, napi_create_typedarray(env, napi_float32_array, ns, scales_ab, 0, &scales));
  AB_NAPI_CALL(env, napi_create_object(env, &obj));
  AB_NAPI_CALL(env, napi_set_named_property(env, obj, "bits", napi::make_int(env, b.bits)));
  AB_NAPI_CALL(env, napi_set_named_property(env, obj, "groupSize", napi::make_int(env, b.group)));
  AB_NAPI_CALL(env, napi_set_named_property(env, obj, "K", napi::make_int(env, b.K)));
  AB_NAPI_CALL(env, napi_set_named_property(env, obj, "N", napi::make_int(env, b.N)));
  AB_NAPI_CALL(env, napi_set_named_property(env, obj, "codes", codes));
  AB_NAPI_CALL(env, napi_set_named_property(env, obj, "scales", scales));
  return obj;
}

napi_value info_fn(napi_env env, napi_callback_info) {
  return napi::kernel_info_object(env, "quantInfo", gemm::quant_kernel_info());
}

AB_EXPORT("quantPack", pack_fn);
AB_EXPORT("quantGemm", gemm_fn);
AB_EXPORT("quantUnpack", unpack_fn);
AB_EXPORT("quantInfo", info_fn);

}  // namespace
}  // namespace ab

// SPDX-License-Identifier: Apache-2.0
// N-API: matmul (batched f32 GEMM with fused epilogue) and gemmInfo.
//
// matmul(a, b, out, batch, M, N, K, transA, transB, aBatchIdx, bBatchIdx,
//        bias, biasMode, act, alpha, slope, slopeMode[, packedB[, addend]]): undefined
//   a: Float32Array, batches of M x K (K x M if transA);  b: batches of K x N (N x K if transB)
//   out: Float32Array, batch x M x N (written, never read unless it is the addend)
//   addend (optional): batch x M x N added after the bias, before the activation (a residual);
//     it may be out itself (the result written in place over it).
//   aBatchIdx / bBatchIdx: Int32Array of length batch or null. null means batch i uses operand
//     batch i, or operand batch 0 when the operand holds exactly one batch.
//   bias/slope: Float32Array or null, with biasMode/slopeMode EpilogueOperand codes
//     (0 none, 1 scalar, 2 row [N], 3 matrix [M*N]); act: Activation code; alpha: leakyrelu.
//   packedB (optional): a packWeight(b, K, N, transB) handle for a b holding one batch; the raw b
//     is still required (it serves when the handle does not fit the current kernel).
// Every argument is validated; violations throw TypeError/RangeError and nothing is written.
#include <cstdint>
#include <new>
#include <string>

#include "../gemm/gemm.h"
#include "../ops/op_codes.h"
#include "arg_checks.h"
#include "capture.h"
#include "napi_util.h"
#include "packed_handle.h"
#include "runtime/memory.h"

namespace ab {
namespace {
using napi::Args;

using napi::mul_checked;
using napi::overlaps;
std::string s(int64_t v) { return napi::str(v); }

// Resolves one operand's batch mapping. Returns false after throwing.
bool batch_map(napi_env env, const char* opname, const char* idxname, size_t len, int64_t per,
               int64_t batch, const int32_t* idx, size_t idx_len, int64_t* stride) {
  const std::string fn = "matmul: ";
  // per == 0: the operand has no elements, any batch count fits.
  const int64_t count = per > 0 ? static_cast<int64_t>(len) / per : INT64_MAX;
  *stride = per;
  if (idx) {
    if (static_cast<int64_t>(idx_len) != batch)
      return napi::throw_range_error(env, fn + "'" + idxname + "' must have length batch (" + s(batch) +
                                              "), got " + s(static_cast<int64_t>(idx_len)));
    for (int64_t i = 0; i < batch; ++i)
      if (idx[i] < 0 || idx[i] >= count)
        return napi::throw_range_error(env, fn + idxname + "[" + s(i) + "] = " + s(idx[i]) +
                                                " is out of range: '" + opname + "' holds " + s(count) +
                                                " batch(es) of " + s(per) + " elements");
    return true;
  }
  if (batch == 0 || per == 0) return true;
  if (count == 1) {
    *stride = 0;  // broadcast the single batch
    return true;
  }
  if (count < batch)
    return napi::throw_range_error(env, fn + "'" + opname + "' has " + s(static_cast<int64_t>(len)) +
                                            " elements, too few for " + s(batch) + " batches of " + s(per) +
                                            " (or exactly one batch to broadcast)");
  return true;
}

napi_value matmul_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "matmul", 17);
  float *pa, *pb, *pc, *pbias, *pslope;
  size_t na, nb, nc, nbias, nslope;
  int64_t batch, M, N, K;
  bool ta, tb;
  int32_t *ia, *ib;
  size_t nia, nib;
  int32_t bias_mode, act, slope_mode;
  double alpha;
  if (!a.ok || !a.f32(0, "a", &pa, &na) || !a.f32(1, "b", &pb, &nb) || !a.f32(2, "out", &pc, &nc) ||
      !a.i64(3, "batch", &batch) || !a.i64(4, "M", &M) || !a.i64(5, "N", &N) || !a.i64(6, "K", &K) ||
      !a.boolean(7, "transA", &ta) || !a.boolean(8, "transB", &tb) ||
      !a.i32_array_or_null(9, "aBatchIdx", &ia, &nia) || !a.i32_array_or_null(10, "bBatchIdx", &ib, &nib) ||
      !a.f32_or_null(11, "bias", &pbias, &nbias) || !a.i32(12, "biasMode", &bias_mode) ||
      !a.i32(13, "act", &act) || !a.f64(14, "alpha", &alpha) || !a.f32_or_null(15, "slope", &pslope, &nslope) ||
      !a.i32(16, "slopeMode", &slope_mode))
    return nullptr;
  const gemm::PackedB* packed = nullptr;
  gemm::PackedB* const* packed_slot;
  if (!napi::packed_or_null(a, 17, "packedB", &packed, &packed_slot)) return nullptr;
  const std::string fn = "matmul: ";
  if (batch < 0 || M < 0 || N < 0 || K < 0) {
    napi::throw_range_error(env, fn + "sizes must be non-negative, got batch=" + s(batch) + " M=" + s(M) +
                                     " N=" + s(N) + " K=" + s(K));
    return nullptr;
  }
  if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) {
    napi::throw_range_error(env, fn + "M, N and K must each be < 2^31");
    return nullptr;
  }
  int64_t MK, KN, MN, total_out;
  if (!mul_checked(M, K, &MK) || !mul_checked(K, N, &KN) || !mul_checked(M, N, &MN) ||
      !mul_checked(batch, MN, &total_out)) {
    napi::throw_range_error(env, fn + "sizes overflow");
    return nullptr;
  }
  if (!napi::check_length(env, fn, "out", nc, total_out, "batch*M*N")) return nullptr;
  int64_t stride_a, stride_b;
  if (!batch_map(env, "a", "aBatchIdx", na, MK, batch, ia, nia, &stride_a) ||
      !batch_map(env, "b", "bBatchIdx", nb, KN, batch, ib, nib, &stride_b))
    return nullptr;
  if (packed && (gemm::packed_b_k(packed) != K || gemm::packed_b_n(packed) != N || stride_b != 0 || ib)) {
    napi::throw_range_error(env, fn + "'packedB' was packed for K=" + s(gemm::packed_b_k(packed)) + " N=" +
                                     s(gemm::packed_b_n(packed)) + ", but this call has K=" + s(K) + " N=" + s(N) +
                                     (stride_b != 0 || ib ? " and several batches of b" : ""));
    return nullptr;
  }
  gemm::Epilogue ep;
  if (!napi::read_epilogue(env, fn, act, alpha, pbias, nbias, bias_mode, pslope, nslope, slope_mode, N, MN, &ep))
    return nullptr;
  if (total_out > 0 && (overlaps(pc, nc, pa, na) || overlaps(pc, nc, pb, nb) ||
                        napi::overlaps_epilogue(pc, nc, bias_mode, pbias, nbias, act, pslope, nslope))) {
    napi::throw_range_error(env, fn + "'out' must not share memory with a, b, bias or slope");
    return nullptr;
  }
  if (!napi::read_addend(a, 18, fn, pc, nc, total_out, &ep)) return nullptr;
  return napi::write_output(env, fn, pc, total_out, "packing buffers", [&] {
    AB_CAPTURED(a, gemm::sgemm_batched(ta, tb, batch, M, N, K, pa, ta ? M : K, stride_a, ia, pb, tb ? K : N, stride_b,
                                       ib, pc, N, MN, &ep, napi::packed_now(packed_slot)));
  });
}

napi_value gemm_info_fn(napi_env env, napi_callback_info) {
  return napi::kernel_info_object(env, "gemmInfo", gemm::kernel_info());
}

AB_EXPORT("matmul", matmul_fn);
AB_EXPORT("gemmInfo", gemm_info_fn);

}  // namespace
}  // namespace ab

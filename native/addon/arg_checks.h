// SPDX-License-Identifier: Apache-2.0
// Argument checks shared by the N-API area files (gemm, conv, elementwise, affine).
#pragma once
#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <new>
#include <string>
#include <vector>

#include "dispatch/isa.h"
#include "gemm/gemm.h"
#include "napi_util.h"
#include "ops/conv2d.h"
#include "ops/op_codes.h"
#include "runtime/memory.h"

namespace ab::napi {

inline std::string str(int64_t v) { return std::to_string(v); }

// a * b, false on overflow or past 2^53 - 1 (beyond what a JS number holds exactly).
inline bool mul_checked(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_mul_overflow(a, b, out) && *out <= 9007199254740991LL;
}

// Whether two float ranges share memory (empty or null ranges never do).
inline bool overlaps(const float* p, size_t np, const float* q, size_t nq) {
  if (!p || !q || np == 0 || nq == 0) return false;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p), b = reinterpret_cast<uintptr_t>(q);
  return a < b + nq * sizeof(float) && b < a + np * sizeof(float);
}

// Why shape d (rank r) does not broadcast to out (rank ro) under numpy/tfjs rules (ranks right-
// aligned, each dim 1 or equal), or "" when it does.
inline std::string broadcast_mismatch(const int64_t* d, int r, const int64_t* out, int ro) {
  if (r > ro) return "it has a higher rank";
  for (int i = 0; i < r; ++i) {
    const int64_t o = out[ro - r + i];
    if (d[i] != 1 && d[i] != o) return "dim " + str(i) + " is " + str(d[i]) + ", expected 1 or " + str(o);
  }
  return "";
}

// Whether `out` shares memory with the epilogue operands the call reads: bias unless its mode is
// none, slope when act is prelu.
inline bool overlaps_epilogue(const float* out, size_t nout, int bias_mode, const float* bias, size_t nbias, int act,
                              const float* slope, size_t nslope) {
  return (bias_mode != kOperandNone && overlaps(out, nout, bias, nbias)) ||
         (act == kActPrelu && overlaps(out, nout, slope, nslope));
}

// Argument `name` holds n elements and needs `need` (`what` says how it is counted, e.g. "M*K").
// Throws (and returns false) when it is too short.
inline bool check_length(napi_env env, const std::string& fn, const char* name, size_t n, int64_t need,
                         const char* what) {
  if (static_cast<int64_t>(n) >= need) return true;
  return throw_range_error(env, fn + "'" + name + "' has " + str(static_cast<int64_t>(n)) + " elements, needs " + what +
                                    " = " + str(need));
}

// One array argument against its shape: its name, its length, the elements its shape needs.
struct Extent {
  const char* name;
  size_t len;
  int64_t need;
};

// Throws (and returns false) when any array is shorter than its shape, naming them all with their
// lengths: "x, filter or out is smaller than its shape (x 4/8, filter 9/9, out 8/8)".
inline bool check_extents(napi_env env, const std::string& fn, std::initializer_list<Extent> xs) {
  bool short_one = false;
  for (const Extent& x : xs) short_one = short_one || static_cast<int64_t>(x.len) < x.need;
  if (!short_one) return true;
  std::string names, counts;
  size_t i = 0;
  for (const Extent& x : xs) {
    names += std::string(i == 0 ? "" : i + 1 == xs.size() ? " or " : ", ") + x.name;
    counts += std::string(i == 0 ? "" : ", ") + x.name + " " + str(static_cast<int64_t>(x.len)) + "/" + str(x.need);
    ++i;
  }
  return throw_range_error(env, fn + names + " is smaller than its shape (" + counts + ")");
}

// Reads `dims` (argument i) and checks it: exactly `count` integers, the first count - 2 in
// [0, 2^31), the last two (the pads) in (-2^31, 2^31). Throws and returns false otherwise.
// The arguments of the weight-packing functions (packWeight, bf16Pack): (b, K, N, transB).
struct PackArgs {
  float* b;
  size_t nb;
  int64_t K, N;
  bool trans_b;
};
inline bool read_pack_args(Args& a, PackArgs* p) {
  return a.ok && a.f32(0, "b", &p->b, &p->nb) && a.i64(1, "K", &p->K) && a.i64(2, "N", &p->N) &&
         a.boolean(3, "transB", &p->trans_b);
}

inline bool read_dims(Args& a, size_t i, const std::string& fn, size_t count, std::vector<int64_t>* d) {
  if (!a.i64_list(i, "dims", d)) return false;
  if (d->size() != count)
    return throw_range_error(a.env, fn + "'dims' must hold " + str(static_cast<int64_t>(count)) + " integers, got " +
                                        str(static_cast<int64_t>(d->size())));
  for (size_t j = 0; j + 2 < count; ++j)
    if ((*d)[j] < 0 || (*d)[j] > INT32_MAX)
      return throw_range_error(a.env, fn + "dims[" + str(static_cast<int64_t>(j)) + "] must be in [0, 2^31), got " + str((*d)[j]));
  for (size_t j = count - 2; j < count; ++j)
    if ((*d)[j] < -INT32_MAX || (*d)[j] > INT32_MAX) return throw_range_error(a.env, fn + "pads are out of range");
  return true;
}

// conv2d's 15 dims (checked by read_dims) as Conv2DParams, with the element counts of x (*xn) and
// of the output (*MN), and im2col's K = f_h * f_w * in_c. Throws (and returns false) when a stride
// or dilation is < 1 or a size overflows.
inline bool conv2d_geometry(napi_env env, const std::string& fn, const std::vector<int64_t>& d, Conv2DParams* p,
                            int64_t* xn, int64_t* K, int64_t* MN) {
  *p = Conv2DParams{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14]};
  if (p->stride_h < 1 || p->stride_w < 1 || p->dil_h < 1 || p->dil_w < 1)
    return throw_range_error(env, fn + "strides and dilations must be >= 1");
  int64_t M;
  if (!mul_checked(p->batch, p->in_h, xn) || !mul_checked(*xn, p->in_w, xn) || !mul_checked(*xn, p->in_c, xn) ||
      !mul_checked(p->f_h, p->f_w, K) || !mul_checked(*K, p->in_c, K) || !mul_checked(p->batch, p->out_h, &M) ||
      !mul_checked(M, p->out_w, &M) || !mul_checked(M, p->out_c, MN))
    return throw_range_error(env, fn + "sizes overflow");
  return true;
}

// An epilogue operand (bias, prelu slope) given with its EpilogueOperand mode, for an output of
// N columns and M*N elements. Throws (and returns false) when the mode is unknown, the array is
// missing, or it is too short for the mode.
inline bool check_epilogue_operand(napi_env env, const std::string& fn, const char* name, const char* modename,
                                   int mode, const float* p, size_t len, int64_t N, int64_t MN) {
  if (mode < 0 || mode >= kOperandCount)
    return throw_range_error(env, fn + "'" + modename + "' must be 0 (none), 1 (scalar), 2 (row) or 3 (matrix), got " + str(mode));
  if (mode == kOperandNone) return true;
  const int64_t need = mode == kOperandScalar ? 1 : mode == kOperandRow ? N : MN;
  const char* what = mode == kOperandScalar ? "scalar mode needs 1 value" :
                     mode == kOperandRow ? "row mode needs N values" : "matrix mode needs M*N values";
  if (!p) return throw_type_error(env, fn + "'" + name + "' must be a Float32Array when " + modename + " is " + str(mode));
  if (static_cast<int64_t>(len) < need)
    return throw_range_error(env, fn + "'" + name + "' has " + str(static_cast<int64_t>(len)) + " elements, needs " +
                                      str(need) + " (" + what + ")");
  return true;
}

// The fused-epilogue arguments of matmul and conv2d: checks the activation code, the bias and (for
// prelu) the slope against their modes, and fills *ep. Throws and returns false on a bad one.
inline bool read_epilogue(napi_env env, const std::string& fn, int act, double alpha, const float* bias, size_t nbias,
                          int bias_mode, const float* slope, size_t nslope, int slope_mode, int64_t N, int64_t MN,
                          gemm::Epilogue* ep) {
  if (act < 0 || act >= kActCount)
    return throw_range_error(env, fn + "'act' must be an activation code in [0, " + str(kActCount - 1) + "], got " + str(act));
  if (!check_epilogue_operand(env, fn, "bias", "biasMode", bias_mode, bias, nbias, N, MN)) return false;
  if (act == kActPrelu) {
    if (slope_mode == kOperandNone)
      return throw_range_error(env, fn + "act prelu needs a slope (slopeMode 1 (scalar), 2 (row) or 3 (matrix))");
    if (!check_epilogue_operand(env, fn, "slope", "slopeMode", slope_mode, slope, nslope, N, MN)) return false;
  } else if (slope_mode < 0 || slope_mode >= kOperandCount) {
    return throw_range_error(env, fn + "'slopeMode' must be in [0, 3], got " + str(slope_mode));
  }
  *ep = gemm::Epilogue();
  ep->bias = bias;
  ep->bias_mode = bias_mode;
  ep->act = act;
  ep->alpha = static_cast<float>(alpha);
  ep->slope = act == kActPrelu ? slope : nullptr;
  ep->slope_mode = act == kActPrelu ? slope_mode : kOperandNone;
  return true;
}

// Whether a conv may write its output over x (out === x, native/ops/conv2d_inplace.h): output
// rows no more and no longer than the input's, and no epilogue operand indexed by position.
inline bool conv_in_place_ok(const float* out, const float* x, const Conv2DParams& p, int bias_mode, int act,
                             int slope_mode) {
  return out == x && p.out_h <= p.in_h && p.out_w * p.out_c <= p.in_w * p.in_c && bias_mode != kOperandMatrix &&
         !(act == kActPrelu && slope_mode == kOperandMatrix);
}

// The optional residual operand of a conv (argument i, named 'addend'; absent, undefined or null:
// none): MN floats added to the output after the bias, before the activation. It may be `out`
// itself (same start: the sum is written in place over it) but must not otherwise overlap out (it
// may share memory with the other inputs: all of them are only read). Sets ep->addend.
inline bool read_addend(Args& a, size_t i, const std::string& fn, const float* out, size_t nout, int64_t MN,
                        gemm::Epilogue* ep) {
  float* p;
  size_t n;
  if (!a.f32_or_null(i, "addend", &p, &n)) return false;
  if (p == nullptr) return true;
  if (!check_length(a.env, fn, "addend", n, MN, "the output's size")) return false;
  if (MN > 0 && p != out && overlaps(p, static_cast<size_t>(MN), out, nout))
    return throw_range_error(a.env, fn + "'addend' must be 'out' itself (in place) or not share memory with it");
  ep->addend = p;
  ep->addend_ld = 0;
  return true;
}

// The output checks of conv2d / conv2dBf16 after their epilogue is read: out shares memory with
// none of x (unless it is x itself and conv_in_place_ok), the weights (named wname), bias or slope;
// then the optional addend (argument addend_arg, read_addend), which an in-place conv may not take.
inline bool check_conv_out(Args& a, const std::string& fn, size_t addend_arg, const float* py, size_t ny,
                           const float* px, size_t nx, const char* wname, const float* pw, size_t nw,
                           const Conv2DParams& p, int64_t MN, int bias_mode, const float* pbias, size_t nbias, int act,
                           const float* pslope, size_t nslope, int slope_mode, gemm::Epilogue* ep) {
  const bool in_place = conv_in_place_ok(py, px, p, bias_mode, act, slope_mode);
  if (MN > 0 && ((!in_place && overlaps(py, ny, px, nx)) || overlaps(py, ny, pw, nw) ||
                 overlaps_epilogue(py, ny, bias_mode, pbias, nbias, act, pslope, nslope)))
    return throw_range_error(a.env, fn + "'out' must not share memory with x, " + wname + ", bias or slope (except out === x " +
                                        "with out_h <= in_h, out_w * out_c <= in_w * in_c and no per-position operand)");
  if (!read_addend(a, addend_arg, fn, py, ny, MN, ep)) return false;
  if (in_place && ep->addend) return throw_range_error(a.env, fn + "a conv written in place over x takes no addend");
  return true;
}

// Runs compute(), which writes n floats at out (n == 0: nothing to do), and returns undefined; a
// std::bad_alloc from it throws ERR_AFTERBURNER_OOM "<fn>out of memory for <buffers>" instead.
template <typename Compute>
napi_value write_output(napi_env env, const std::string& fn, float* out, int64_t n, const char* buffers,
                        Compute&& compute) {
  if (n == 0) return make_undefined(env);
  hint_fresh_output(out, static_cast<size_t>(n) * sizeof(float));
  try {
    compute();
  } catch (const std::bad_alloc&) {
    throw_error(env, "ERR_AFTERBURNER_OOM", fn + "out of memory for " + buffers);
    return nullptr;
  }
  return make_undefined(env);
}

// {level, kernel, mr, nr, kc, mc, nc, summary} of a GEMM kernel (gemmInfo, bf16Info).
inline napi_value kernel_info_object(napi_env env, const char* fn, const gemm::KernelInfo& k) {
  napi_value obj;
  AB_NAPI_CALL(env, napi_create_object(env, &obj));
  auto set = [&](const char* key, napi_value v) { return napi_set_named_property(env, obj, key, v) == napi_ok; };
  const char* level = isa_name(static_cast<Isa>(k.level));
  const std::string summary = std::string(level) + ": " + k.name + ", MR=" + str(k.mr) + " NR=" + str(k.nr) +
                              " KC=" + str(k.kc) + " MC=" + str(k.mc) + " NC=" + str(k.nc);
  if (!set("level", make_string(env, level)) || !set("kernel", make_string(env, k.name)) ||
      !set("mr", make_int(env, k.mr)) || !set("nr", make_int(env, k.nr)) || !set("kc", make_int(env, k.kc)) ||
      !set("mc", make_int(env, k.mc)) || !set("nc", make_int(env, k.nc)) ||
      !set("summary", make_string(env, summary.c_str()))) {
    throw_error(env, "ERR_AFTERBURNER_NAPI", std::string(fn) + ": cannot build the result");
    return nullptr;
  }
  return obj;
}

// The arguments of a GEMM on a packed B (bf16Gemm, quantGemm): (a, packed, out, M, N, K, transA,
// bias, biasMode, act, alpha, slope, slopeMode); `packed` (argument 1) is read by the caller.
struct PackedGemmArgs {
  float *a = nullptr, *out = nullptr, *bias = nullptr, *slope = nullptr;
  size_t na = 0, nout = 0, nbias = 0, nslope = 0;
  int64_t M = 0, N = 0, K = 0, MN = 0;
  bool trans_a = false;
  int32_t bias_mode = 0, act = 0, slope_mode = 0;
  double alpha = 0;
  gemm::Epilogue ep;
};

inline bool read_packed_gemm_args(Args& a, PackedGemmArgs* g) {
  return a.ok && a.f32(0, "a", &g->a, &g->na) && a.f32(2, "out", &g->out, &g->nout) && a.i64(3, "M", &g->M) &&
         a.i64(4, "N", &g->N) && a.i64(5, "K", &g->K) && a.boolean(6, "transA", &g->trans_a) &&
         a.f32_or_null(7, "bias", &g->bias, &g->nbias) && a.i32(8, "biasMode", &g->bias_mode) && a.i32(9, "act", &g->act) &&
         a.f64(10, "alpha", &g->alpha) && a.f32_or_null(11, "slope", &g->slope, &g->nslope) &&
         a.i32(12, "slopeMode", &g->slope_mode);
}

// After the caller checked M, N, K and read `packed` (bytes at `base`): sizes, the lengths of a and
// out, the epilogue (into g->ep), and that out shares memory with none of a, packed, bias, slope.
inline bool check_packed_gemm(napi_env env, const std::string& fn, PackedGemmArgs* g, const void* base, size_t bytes) {
  int64_t MK;
  if (!mul_checked(g->M, g->K, &MK) || !mul_checked(g->M, g->N, &g->MN)) {
    throw_range_error(env, fn + "sizes overflow");
    return false;
  }
  if (!check_length(env, fn, "a", g->na, MK, "M*K") || !check_length(env, fn, "out", g->nout, g->MN, "M*N")) return false;
  if (!read_epilogue(env, fn, g->act, g->alpha, g->bias, g->nbias, g->bias_mode, g->slope, g->nslope, g->slope_mode, g->N,
                     g->MN, &g->ep))
    return false;
  const float* pk = static_cast<const float*>(base);
  if (g->MN > 0 && (overlaps(g->out, g->nout, g->a, g->na) || overlaps(g->out, g->nout, pk, bytes / 4) ||
                    overlaps_epilogue(g->out, g->nout, g->bias_mode, g->bias, g->nbias, g->act, g->slope, g->nslope))) {
    throw_range_error(env, fn + "'out' must not share memory with a, packed, bias or slope");
    return false;
  }
  return true;
}

}  // namespace ab::napi

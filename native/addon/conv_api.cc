// SPDX-License-Identifier: Apache-2.0
// N-API: conv2d (NHWC, f32) on the GEMM engine, with the fused epilogue.
#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "arg_checks.h"
#include "capture.h"
#include "napi_util.h"
#include "ops/conv2d.h"
#include "packed_handle.h"
#include "ops/depthwise.h"
#include "ops/pool.h"
#include "ops/op_codes.h"
#include "runtime/memory.h"

namespace ab {
namespace {
using napi::Args;
using napi::mul_checked;
using napi::overlaps;
std::string s(int64_t v) { return napi::str(v); }

// conv2d(x, filter, out, dims: number[15] = [batch, inH, inW, inC, outH, outW, outC, fH, fW,
//        strideH, strideW, dilH, dilW, padTop, padLeft], bias|null, biasMode, act, alpha,
//        slope|null, slopeMode[, packedFilter[, addend]]): undefined
// packedFilter (optional): a packWeight(filter, fH * fW * inC, outC, false) handle.
// addend (optional): a residual added after the bias, before the activation (out's size); it may
// be out itself: the result is then written in place over it.
napi_value conv2d_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "conv2d", 10);
  float *px, *pw, *py, *pbias, *pslope;
  size_t nx, nw, ny, nbias, nslope;
  std::vector<int64_t> d;
  int32_t bias_mode, act, slope_mode;
  double alpha;
  const std::string fn = "conv2d: ";
  if (!a.ok || !a.f32(0, "x", &px, &nx) || !a.f32(1, "filter", &pw, &nw) || !a.f32(2, "out", &py, &ny) ||
      !napi::read_dims(a, 3, fn, 15, &d) || !a.f32_or_null(4, "bias", &pbias, &nbias) || !a.i32(5, "biasMode", &bias_mode) ||
      !a.i32(6, "act", &act) || !a.f64(7, "alpha", &alpha) || !a.f32_or_null(8, "slope", &pslope, &nslope) ||
      !a.i32(9, "slopeMode", &slope_mode))
    return nullptr;
  const gemm::PackedB* packed = nullptr;
  gemm::PackedB* const* packed_slot;
  if (!napi::packed_or_null(a, 10, "packedFilter", &packed, &packed_slot)) return nullptr;
  Conv2DParams p;
  int64_t xin = 0, K = 0, MN = 0, KN;
  if (!napi::conv2d_geometry(env, fn, d, &p, &xin, &K, &MN)) return nullptr;
  if (!mul_checked(K, p.out_c, &KN)) {
    napi::throw_range_error(env, fn + "sizes overflow");
    return nullptr;
  }
  if (!napi::check_extents(env, fn, {{"x", nx, xin}, {"filter", nw, KN}, {"out", ny, MN}})) return nullptr;
  if (packed && (gemm::packed_b_k(packed) != K || gemm::packed_b_n(packed) != p.out_c)) {
    napi::throw_range_error(env, fn + "'packedFilter' was packed for K=" + s(gemm::packed_b_k(packed)) + " N=" +
                                     s(gemm::packed_b_n(packed)) + ", but this convolution has K=" + s(K) +
                                     " N=" + s(p.out_c));
    return nullptr;
  }
  gemm::Epilogue ep;
  if (!napi::read_epilogue(env, fn, act, alpha, pbias, nbias, bias_mode, pslope, nslope, slope_mode, p.out_c, MN, &ep))
    return nullptr;
  if (!napi::check_conv_out(a, fn, 11, py, ny, px, nx, "filter", pw, nw, p, MN, bias_mode, pbias, nbias, act, pslope, nslope,
                            slope_mode, &ep))
    return nullptr;
  return napi::write_output(env, fn, py, MN, "the im2col / packing buffers",
                            [&] { AB_CAPTURED(a, conv2d_nhwc_f32(px, pw, py, p, &ep, napi::packed_now(packed_slot))); });
}

// depthwiseConv2d(x, filter, out, dims: number[15] = [batch, inH, inW, inC, outH, outW, mult, fH, fW,
//                 strideH, strideW, dilH, dilW, padTop, padLeft], bias|null, act, alpha, slope|null)
// bias and slope, when given, hold one value per output channel (inC * mult). out may be x itself
// (in place: the same start, out no longer than x, mult 1, outH * outW <= inH * inW).
napi_value depthwise_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "depthwiseConv2d", 8);
  float *px, *pw, *py, *pbias, *pslope;
  size_t nx, nw, ny, nbias, nslope;
  std::vector<int64_t> d;
  int32_t act;
  double alpha;
  const std::string fn = "depthwiseConv2d: ";
  if (!a.ok || !a.f32(0, "x", &px, &nx) || !a.f32(1, "filter", &pw, &nw) || !a.f32(2, "out", &py, &ny) ||
      !napi::read_dims(a, 3, fn, 15, &d) || !a.f32_or_null(4, "bias", &pbias, &nbias) || !a.i32(5, "act", &act) ||
      !a.f64(6, "alpha", &alpha) || !a.f32_or_null(7, "slope", &pslope, &nslope))
    return nullptr;
  DepthwiseParams p{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14]};
  if (p.stride_h < 1 || p.stride_w < 1 || p.dil_h < 1 || p.dil_w < 1) {
    napi::throw_range_error(env, fn + "strides and dilations must be >= 1");
    return nullptr;
  }
  int64_t xin, oc, wn, yn;
  if (!mul_checked(p.batch, p.in_h, &xin) || !mul_checked(xin, p.in_w, &xin) || !mul_checked(xin, p.in_c, &xin) ||
      !mul_checked(p.in_c, p.mult, &oc) || !mul_checked(p.f_h, p.f_w, &wn) || !mul_checked(wn, oc, &wn) ||
      !mul_checked(p.batch, p.out_h, &yn) || !mul_checked(yn, p.out_w, &yn) || !mul_checked(yn, oc, &yn)) {
    napi::throw_range_error(env, fn + "sizes overflow");
    return nullptr;
  }
  if (!napi::check_extents(env, fn, {{"x", nx, xin}, {"filter", nw, wn}, {"out", ny, yn}})) return nullptr;
  if (act < 0 || act >= kActCount) {
    napi::throw_range_error(env, fn + "'act' must be an activation code in [0, " + s(kActCount - 1) + "], got " + s(act));
    return nullptr;
  }
  if (pbias && static_cast<int64_t>(nbias) < oc) {
    napi::throw_range_error(env, fn + "'bias' has " + s(static_cast<int64_t>(nbias)) + " elements, needs " + s(oc));
    return nullptr;
  }
  if (act == kActPrelu && (!pslope || static_cast<int64_t>(nslope) < oc)) {
    napi::throw_range_error(env, fn + "act prelu needs a 'slope' of " + s(oc) + " values");
    return nullptr;
  }
  // In place: out === x exactly (same start, out no longer than x), channel multiplier 1 and no
  // more output than input elements. Any other overlap is an error.
  const bool in_place = yn > 0 && py == px && ny <= nx;
  if (in_place && !depthwise_in_place_ok(p)) {
    napi::throw_range_error(env, fn + "in place (out === x) needs channel multiplier 1 and an output no larger than x, got mult " +
                                     s(p.mult) + ", " + s(yn) + " output elements for " + s(xin) + " input elements");
    return nullptr;
  }
  if (yn > 0 && ((!in_place && overlaps(py, ny, px, nx)) || overlaps(py, ny, pw, nw) ||
                 overlaps(py, ny, pbias, pbias ? nbias : 0) || (act == kActPrelu && overlaps(py, ny, pslope, nslope)))) {
    napi::throw_range_error(env, fn + "'out' must not share memory with x, filter, bias or slope (in place: out must "
                                      "start where x starts and be no longer than x)");
    return nullptr;
  }
  if (yn == 0) return napi::make_undefined(env);
  if (!in_place) hint_fresh_output(py, static_cast<size_t>(yn) * sizeof(float));
  AB_CAPTURED(a, depthwise_nhwc_f32(px, pw, py, p, pbias, act == kActPrelu ? pslope : nullptr, act, static_cast<float>(alpha)));
  return napi::make_undefined(env);
}

// pool2d(type: 0 max | 1 avg, x, out, dims: number[14] = [batch, inH, inW, channels, outH, outW,
//        fH, fW, strideH, strideW, dilH, dilW, padTop, padLeft]): undefined
napi_value pool_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "pool2d", 4);
  int32_t type;
  float *px, *py;
  size_t nx, ny;
  std::vector<int64_t> d;
  const std::string fn = "pool2d: ";
  if (!a.ok || !a.i32(0, "type", &type) || !a.f32(1, "x", &px, &nx) || !a.f32(2, "out", &py, &ny))
    return nullptr;
  if (type != kPoolMax && type != kPoolAvg) {
    napi::throw_range_error(env, fn + "'type' must be 0 (max) or 1 (avg), got " + s(type));
    return nullptr;
  }
  if (!napi::read_dims(a, 3, fn, 14, &d)) return nullptr;
  PoolParams p{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13]};
  if (p.stride_h < 1 || p.stride_w < 1 || p.dil_h < 1 || p.dil_w < 1 || p.f_h < 1 || p.f_w < 1) {
    napi::throw_range_error(env, fn + "filter sizes, strides and dilations must be >= 1");
    return nullptr;
  }
  int64_t xin, yn;
  if (!mul_checked(p.batch, p.in_h, &xin) || !mul_checked(xin, p.in_w, &xin) || !mul_checked(xin, p.channels, &xin) ||
      !mul_checked(p.batch, p.out_h, &yn) || !mul_checked(yn, p.out_w, &yn) || !mul_checked(yn, p.channels, &yn)) {
    napi::throw_range_error(env, fn + "sizes overflow");
    return nullptr;
  }
  if (!napi::check_extents(env, fn, {{"x", nx, xin}, {"out", ny, yn}})) return nullptr;
  // In place: out may start where x starts when no output row is longer or more numerous than the
  // input's (the planner's in-place rule); any other overlap is refused.
  const bool in_place = py == px && p.out_h <= p.in_h && p.out_w <= p.in_w;
  if (yn > 0 && !in_place && overlaps(py, ny, px, nx)) {
    napi::throw_range_error(env, fn + "'out' must not share memory with x (except out === x with out_h <= in_h, out_w <= in_w)");
    return nullptr;
  }
  if (yn == 0) return napi::make_undefined(env);
  if (!in_place) hint_fresh_output(py, static_cast<size_t>(yn) * sizeof(float));
  AB_CAPTURED(a, pool_nhwc_f32(px, py, p, type));
  return napi::make_undefined(env);
}

AB_EXPORT("conv2d", conv2d_fn);
AB_EXPORT("pool2d", pool_fn);
AB_EXPORT("depthwiseConv2d", depthwise_fn);

}  // namespace
}  // namespace ab

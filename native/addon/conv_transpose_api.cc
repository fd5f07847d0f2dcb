// SPDX-License-Identifier: Apache-2.0
// N-API: conv2dTranspose (tfjs Conv2DBackpropInput) and conv2dBackpropFilter (Conv2DBackpropFilter), NHWC, f32.
#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "arg_checks.h"
#include "capture.h"
#include "napi_util.h"
#include "ops/conv_transpose.h"
#include "runtime/memory.h"

namespace ab {
namespace {
using napi::Args;
using napi::mul_checked;
using napi::overlaps;
std::string s(int64_t v) { return napi::str(v); }

// Reads dims (argument 3: [batch, inH, inW, inC, outH, outW, outC, fH, fW, strideH, strideW, padTop,
// padLeft]) into *p and the element counts of x/dx (*xn), dy (*dyn) and the filter (*wn). Throws and
// returns false on a bad value.
bool read_params(Args& a, const std::string& fn, ConvTransposeParams* p, int64_t* xn, int64_t* dyn, int64_t* wn) {
  std::vector<int64_t> d;
  if (!napi::read_dims(a, 3, fn, 13, &d)) return false;
  *p = ConvTransposeParams{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12]};
  if (p->stride_h < 1 || p->stride_w < 1) return napi::throw_range_error(a.env, fn + "strides must be >= 1");
  if (!mul_checked(p->batch, p->in_h, xn) || !mul_checked(*xn, p->in_w, xn) || !mul_checked(*xn, p->in_c, xn) ||
      !mul_checked(p->batch, p->out_h, dyn) || !mul_checked(*dyn, p->out_w, dyn) || !mul_checked(*dyn, p->out_c, dyn) ||
      !mul_checked(p->f_h, p->f_w, wn) || !mul_checked(*wn, p->in_c, wn) || !mul_checked(*wn, p->out_c, wn))
    return napi::throw_range_error(a.env, fn + "sizes overflow");
  return true;
}

// conv2dTranspose(dy, filter, dx, dims: number[13], algo: 0 auto | 1 gemm | 2 phase): undefined
// in* are dx's (the conv's input) dims, out* dy's; filter is [fH, fW, inC, outC].
napi_value conv2d_transpose_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "conv2dTranspose", 5);
  float *pdy, *pw, *pdx;
  size_t ndy, nw, ndx;
  int32_t algo;
  ConvTransposeParams p;
  int64_t dxn, dyn, wn;
  const std::string fn = "conv2dTranspose: ";
  if (!a.ok || !a.f32(0, "dy", &pdy, &ndy) || !a.f32(1, "filter", &pw, &nw) || !a.f32(2, "dx", &pdx, &ndx) ||
      !read_params(a, fn, &p, &dxn, &dyn, &wn) || !a.i32(4, "algo", &algo))
    return nullptr;
  if (algo < kConvTAuto || algo > kConvTPhase) {
    napi::throw_range_error(env, fn + "'algo' must be 0 (auto), 1 (gemm) or 2 (phase), got " + s(algo));
    return nullptr;
  }
  if (!napi::check_extents(env, fn, {{"dy", ndy, dyn}, {"filter", nw, wn}, {"dx", ndx, dxn}})) return nullptr;
  if (dxn > 0 && (overlaps(pdx, ndx, pdy, ndy) || overlaps(pdx, ndx, pw, nw))) {
    napi::throw_range_error(env, fn + "'dx' must not share memory with dy or filter");
    return nullptr;
  }
  return napi::write_output(env, fn, pdx, dxn, "the column / packing buffers",
                            [&] { AB_CAPTURED(a, conv2d_transpose_nhwc_f32(pdy, pw, pdx, p, algo)); });
}

// conv2dBackpropFilter(x, dy, dw, dims: number[13]): undefined — dims as for conv2dTranspose
// (in* = x's dims, out* = dy's); dw is [fH, fW, inC, outC].
napi_value conv2d_backprop_filter_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "conv2dBackpropFilter", 4);
  float *px, *pdy, *pdw;
  size_t nx, ndy, ndw;
  ConvTransposeParams p;
  int64_t xn, dyn, wn;
  const std::string fn = "conv2dBackpropFilter: ";
  if (!a.ok || !a.f32(0, "x", &px, &nx) || !a.f32(1, "dy", &pdy, &ndy) || !a.f32(2, "dw", &pdw, &ndw) ||
      !read_params(a, fn, &p, &xn, &dyn, &wn))
    return nullptr;
  if (!napi::check_extents(env, fn, {{"x", nx, xn}, {"dy", ndy, dyn}, {"dw", ndw, wn}})) return nullptr;
  if (wn > 0 && (overlaps(pdw, ndw, px, nx) || overlaps(pdw, ndw, pdy, ndy))) {
    napi::throw_range_error(env, fn + "'dw' must not share memory with x or dy");
    return nullptr;
  }
  if (wn == 0) return napi::make_undefined(env);
  try {
    AB_CAPTURED(a, conv2d_backprop_filter_nhwc_f32(px, pdy, pdw, p));
  } catch (const std::bad_alloc&) {
    napi::throw_error(env, "ERR_AFTERBURNER_OOM", fn + "out of memory for the column / packing buffers");
    return nullptr;
  }
  return napi::make_undefined(env);
}

AB_EXPORT("conv2dTranspose", conv2d_transpose_fn);
AB_EXPORT("conv2dBackpropFilter", conv2d_backprop_filter_fn);

}  // namespace
}  // namespace ab

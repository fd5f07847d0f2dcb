// SPDX-License-Identifier: Apache-2.0
// N-API for graph mode's fused ops (native/ops/graph_ops.h):
//   normRows(rms, x, gamma|null, beta|null, out, rows, cols, eps)
//   sdpa(q, k, v, mask|null, maskBatch, dims [B, Sq, Sk, D, Dv], scale, out)
// Every length is checked against the dims; the output must not overlap an input (normRows
// allows out === x).
#include <string>
#include <tuple>
#include <vector>

#include "arg_checks.h"
#include "capture.h"
#include "napi_util.h"
#include "ops/graph_ops.h"

namespace ab::napi {
namespace {

bool fail(Args& a, const std::string& msg) {
  throw_range_error(a.env, std::string(a.fn) + ": " + msg);
  a.ok = false;
  return false;
}

bool need(Args& a, const char* name, size_t have, int64_t want) {
  if (static_cast<int64_t>(have) == want) return true;
  return fail(a, std::string("'") + name + "' has " + str(static_cast<int64_t>(have)) + " elements, the dims need " + str(want));
}

napi_value norm_rows_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "normRows", 8);
  int32_t rms;
  float *x, *gamma, *beta, *out;
  size_t nx, ng, nb, no;
  int64_t rows, cols;
  double eps;
  if (!a.i32(0, "rms", &rms) || !a.f32(1, "x", &x, &nx) || !a.f32_or_null(2, "gamma", &gamma, &ng) ||
      !a.f32_or_null(3, "beta", &beta, &nb) || !a.f32(4, "out", &out, &no) || !a.i64(5, "rows", &rows) ||
      !a.i64(6, "cols", &cols) || !a.f64(7, "eps", &eps))
    return nullptr;
  int64_t n;
  if (rms != 0 && rms != 1) return fail(a, "'rms' must be 0 (LayerNorm) or 1 (RMSNorm)"), nullptr;
  if (rows < 0 || cols < 0 || !mul_checked(rows, cols, &n)) return fail(a, "'rows' and 'cols' must be >= 0"), nullptr;
  if (!need(a, "x", nx, n) || !need(a, "out", no, n)) return nullptr;
  if (gamma && !need(a, "gamma", ng, cols)) return nullptr;
  if (beta && !need(a, "beta", nb, cols)) return nullptr;
  if (overlaps(x, nx, out, no) && x != out) return fail(a, "'out' overlaps 'x' without being it"), nullptr;
  if (overlaps(gamma, ng, out, no) || overlaps(beta, nb, out, no)) return fail(a, "'out' overlaps 'gamma' or 'beta'"), nullptr;
  if (!(eps >= 0)) return fail(a, "'eps' must be >= 0"), nullptr;
  AB_CAPTURED(a, norm_rows(rms, x, gamma, beta, out, rows, cols, static_cast<float>(eps)));
  return nullptr;
}

napi_value sdpa_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "sdpa", 8);
  float *q, *k, *v, *mask, *out;
  size_t nq, nk, nv, nm, no;
  int64_t mask_batch;
  std::vector<int64_t> d;
  double scale;
  if (!a.f32(0, "q", &q, &nq) || !a.f32(1, "k", &k, &nk) || !a.f32(2, "v", &v, &nv) ||
      !a.f32_or_null(3, "mask", &mask, &nm) || !a.i64(4, "maskBatch", &mask_batch) || !a.i64_list(5, "dims", &d) ||
      !a.f64(6, "scale", &scale) || !a.f32(7, "out", &out, &no))
    return nullptr;
  if (d.size() != 5) return fail(a, "'dims' must be [B, Sq, Sk, D, Dv]"), nullptr;
  for (int64_t x : d)
    if (x < 0) return fail(a, "'dims' must be >= 0"), nullptr;
  const int64_t B = d[0], Sq = d[1], Sk = d[2], D = d[3], Dv = d[4];
  int64_t t1, t2, want;
  auto prod3 = [&](int64_t x, int64_t y, int64_t z, int64_t* r) { return mul_checked(x, y, &t1) && mul_checked(t1, z, r); };
  if (!prod3(B, Sq, D, &want) || !need(a, "q", nq, want)) return a.ok ? (fail(a, "dims overflow"), nullptr) : nullptr;
  if (!prod3(B, Sk, D, &want) || !need(a, "k", nk, want)) return a.ok ? (fail(a, "dims overflow"), nullptr) : nullptr;
  if (!prod3(B, Sk, Dv, &want) || !need(a, "v", nv, want)) return a.ok ? (fail(a, "dims overflow"), nullptr) : nullptr;
  if (!prod3(B, Sq, Dv, &want) || !need(a, "out", no, want)) return a.ok ? (fail(a, "dims overflow"), nullptr) : nullptr;
  if (mask) {
    if (mask_batch != 1 && mask_batch != B) return fail(a, "'maskBatch' must be 1 or B"), nullptr;
    if (!prod3(mask_batch, Sq, Sk, &t2) || !need(a, "mask", nm, t2)) return a.ok ? (fail(a, "dims overflow"), nullptr) : nullptr;
  }
  for (auto [p, n, name] : {std::tuple<const float*, size_t, const char*>{q, nq, "q"}, {k, nk, "k"}, {v, nv, "v"}, {mask, nm, "mask"}})
    if (overlaps(p, n, out, no)) return fail(a, std::string("'out' overlaps '") + name + "'"), nullptr;
  AB_CAPTURED(a, sdpa(q, k, v, mask, mask_batch, B, Sq, Sk, D, Dv, static_cast<float>(scale), out));
  return nullptr;
}

}  // namespace

AB_EXPORT("normRows", norm_rows_fn);
AB_EXPORT("sdpa", sdpa_fn);

}  // namespace ab::napi

// SPDX-License-Identifier: Apache-2.0
// Argument checks shared by the N-API area files (gemm, conv, elementwise, affine).
#pragma once
#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "gemm/gemm.h"
#include "napi_util.h"
#include "ops/op_codes.h"

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

}  // namespace ab::napi

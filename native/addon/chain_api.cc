// SPDX-License-Identifier: Apache-2.0
// N-API: ewChain(prog: Int32Array, imms: Float32Array, inputs: Float32Array[], out: Float32Array),
// graph mode's fused elementwise chain (native/ops/ew_chain.h). The program is checked in full
// before anything runs: instruction kinds, op codes, registers written before they are read,
// operand indices, the output written last, input lengths, overlaps with the output.
#include <string>
#include <vector>

#include "arg_checks.h"
#include "capture.h"
#include "napi_util.h"
#include "ops/ew_chain.h"
#include "ops/op_codes.h"

namespace ab::napi {
namespace {

napi_value ew_chain_fn(napi_env env, napi_callback_info info) {
  Args a(env, info, "ewChain", 4);
  int32_t* prog;
  size_t nprog;
  float *imms, *out;
  size_t nimm, nout;
  if (!a.i32_array_or_null(0, "prog", &prog, &nprog) || !a.f32(1, "imms", &imms, &nimm) || !a.f32(3, "out", &out, &nout))
    return nullptr;
  auto fail = [&](const std::string& msg) -> napi_value {
    throw_range_error(env, std::string("ewChain: ") + msg);
    return nullptr;
  };
  if (prog == nullptr || nprog == 0 || nprog % kChainInsnWords != 0)
    return fail("'prog' must hold a multiple of " + std::to_string(kChainInsnWords) + " int32 words, at least one instruction");
  const int ninsn = static_cast<int>(nprog / kChainInsnWords);
  if (ninsn > 256) return fail("'prog' has " + std::to_string(ninsn) + " instructions (at most 256)");
  bool is_array = false;
  AB_NAPI_CALL(env, napi_is_array(env, a.argv[2], &is_array));
  if (!is_array) {
    throw_type_error(env, "ewChain: 'inputs' must be an array of Float32Arrays");
    return nullptr;
  }
  uint32_t nin = 0;
  AB_NAPI_CALL(env, napi_get_array_length(env, a.argv[2], &nin));
  if (nin > 64) return fail("'inputs' has " + std::to_string(nin) + " arrays (at most 64)");
  std::vector<const float*> inputs(nin);
  for (uint32_t i = 0; i < nin; ++i) {
    napi_value el;
    AB_NAPI_CALL(env, napi_get_element(env, a.argv[2], i, &el));
    napi_typedarray_type type;
    size_t len = 0;
    void* p = nullptr;
    bool is_ta = false;
    AB_NAPI_CALL(env, napi_is_typedarray(env, el, &is_ta));
    if (!is_ta || napi_get_typedarray_info(env, el, &type, &len, &p, nullptr, nullptr) != napi_ok || type != napi_float32_array) {
      throw_type_error(env, "ewChain: inputs[" + std::to_string(i) + "] is not a Float32Array");
      return nullptr;
    }
    if (len != nout) return fail("inputs[" + std::to_string(i) + "] has " + std::to_string(len) + " elements, 'out' " + std::to_string(nout));
    if (overlaps(static_cast<const float*>(p), len, out, nout)) return fail("'out' overlaps inputs[" + std::to_string(i) + "]");
    inputs[i] = static_cast<const float*>(p);
  }
  bool written[kChainMaxRegs] = {};
  auto operand_ok = [&](int32_t code, std::string* why) {
    const int32_t kind = code & kChainKindMask, idx = code & ~kChainKindMask;
    if (code < 0) return *why = "is negative", false;
    if (kind == kChainIn) return idx < static_cast<int32_t>(nin) ? true : (*why = "names input " + std::to_string(idx) + " of " + std::to_string(nin), false);
    if (kind == kChainReg) {
      if (idx >= kChainMaxRegs) return *why = "names register " + std::to_string(idx), false;
      return written[idx] ? true : (*why = "reads register " + std::to_string(idx) + " before it is written", false);
    }
    if (kind == kChainImm) return idx < static_cast<int32_t>(nimm) ? true : (*why = "names immediate " + std::to_string(idx) + " of " + std::to_string(nimm), false);
    return *why = "has an unknown operand kind", false;
  };
  for (int i = 0; i < ninsn; ++i) {
    const int32_t* in = prog + i * kChainInsnWords;
    const std::string at = "instruction " + std::to_string(i) + ": ";
    std::string why;
    if (in[0] != 0 && in[0] != 1) return fail(at + "kind must be 0 (unary) or 1 (binary)");
    if (in[1] < 0 || in[1] >= (in[0] == 0 ? static_cast<int>(kUnCount) : static_cast<int>(kBinCount))) return fail(at + "op code " + std::to_string(in[1]) + " is out of range");
    if (in[2] < 0 || in[2] >= kChainMaxRegs) return fail(at + "destination register " + std::to_string(in[2]) + " is out of range");
    if (!operand_ok(in[3], &why)) return fail(at + "operand a " + why);
    if ((in[3] & kChainKindMask) == kChainImm && in[0] == 0) return fail(at + "a unary op's operand must be an array");
    if (in[0] == 0) {
      if (in[4] < -1 || in[4] >= static_cast<int32_t>(nimm)) return fail(at + "alpha immediate " + std::to_string(in[4]) + " is out of range");
    } else {
      if (!operand_ok(in[4], &why)) return fail(at + "operand b " + why);
      if ((in[3] & kChainKindMask) == kChainImm && (in[4] & kChainKindMask) == kChainImm) return fail(at + "both operands are immediates");
    }
    written[in[2]] = true;
  }
  if (prog[(ninsn - 1) * kChainInsnWords + 2] != 0) return fail("the last instruction must write register 0 (the output)");
  AB_CAPTURED(a, ew_chain(prog, ninsn, imms, inputs.data(), out, static_cast<int64_t>(nout)));
  return nullptr;
}

}  // namespace

AB_EXPORT("ewChain", ew_chain_fn);

}  // namespace ab::napi

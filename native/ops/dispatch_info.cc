// SPDX-License-Identifier: Apache-2.0
// A probe kernel whose only job is to say which per-level library it came from, so tests can
// check that the stub picks the right slot at each level.
#include "dispatch/dispatch.h"
#include "addon/napi_util.h"

AB_DECLARE_KERNEL_BF16(int, compiled_level, ())

namespace ab {
namespace {
const DispatchStub<int (*)()> compiled_level_stub = {AB_STUB_SLOTS_BF16(compiled_level)};

napi_value probe_fn(napi_env env, napi_callback_info) {
  return napi::make_string(env, isa_name(static_cast<Isa>(compiled_level_stub.get()())));
}
AB_EXPORT("dispatchProbe", probe_fn);
}  // namespace
}  // namespace ab

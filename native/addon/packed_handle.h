// SPDX-License-Identifier: Apache-2.0
// Prepacked weights across N-API: a handle (a JS external) owning one gemm::PackedB, made by
// packWeight(), released early by packedFree() (or by the GC when the handle is collected).
#pragma once
#include <node_api.h>

#include <cstddef>

#include "gemm/gemm.h"
#include "napi_util.h"

namespace ab::napi {

// Argument i as a packed weight: undefined / null / absent -> *out = nullptr (true); a live handle
// -> its PackedB; a freed handle -> nullptr (the caller packs per call); anything else throws a
// TypeError naming fn and `name` and returns false.
// With `slot`: *slot is where the handle's current PackedB is read at each run of a captured call
// (packed_now(slot): nullptr once packedFree freed it; a slot of nullptr for no handle).
bool packed_or_null(Args& a, size_t i, const char* name, const gemm::PackedB** out,
                    gemm::PackedB* const** slot = nullptr);
inline const gemm::PackedB* packed_now(gemm::PackedB* const* slot) { return __atomic_load_n(slot, __ATOMIC_ACQUIRE); }

}  // namespace ab::napi

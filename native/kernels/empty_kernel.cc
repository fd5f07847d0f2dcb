// SPDX-License-Identifier: Apache-2.0
// Reports which level this library was compiled for (used by tests of the dispatcher).
// ab-extra-levels: avx512_bf16 amx
#include "dispatch/dispatch.h"
namespace ab { namespace AB_ISA_NS {
int compiled_level() { return AB_ISA_LEVEL; }
} }

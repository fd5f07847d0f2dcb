// SPDX-License-Identifier: Apache-2.0
// Declaring per-level kernels and filling DispatchStubs.
//
// Kernel files in native/kernels/ are compiled once per "f32 level" (scalar, avx2, avx512), each
// time with that level's flags and with AB_ISA_NS defined to the level's namespace. A kernel is
// declared for all those levels with AB_DECLARE_KERNEL and a stub is built with AB_STUB.
// The higher levels (avx512_vnni, avx512_bf16, amx) fall back to the avx512 slot for kernels
// that have no body of their own there. A few kernels also have avx512_bf16 and amx bodies
// (AB_DECLARE_KERNEL_BF16 / AB_STUB_SLOTS_BF16, below).
#pragma once
#include "isa.h"

#if defined(__x86_64__) || defined(_M_X64)
#define AB_X86 1
#else
#define AB_X86 0
#endif

#if AB_X86
#define AB_DECLARE_KERNEL(ret, name, params)  \
  namespace ab { namespace scalar { ret name params; } \
                 namespace avx2 { ret name params; }   \
                 namespace avx512 { ret name params; } }
#define AB_STUB_SLOTS(name) \
  { &::ab::scalar::name, &::ab::avx2::name, &::ab::avx512::name, nullptr, nullptr, nullptr }
// Kernels that also have avx512_bf16 and amx bodies (their file has the line
// `// ab-extra-levels: avx512_bf16 amx`, so ab_kernels_avx512_bf16 compiles it with AB_ISA_LEVEL 4
// and ab_kernels_amx with AB_ISA_LEVEL 5).
#define AB_DECLARE_KERNEL_BF16(ret, name, params)           \
  namespace ab { namespace scalar { ret name params; }      \
                 namespace avx2 { ret name params; }        \
                 namespace avx512 { ret name params; }      \
                 namespace avx512_bf16 { ret name params; } \
                 namespace amx { ret name params; } }
#define AB_STUB_SLOTS_BF16(name)                                                                        \
  { &::ab::scalar::name, &::ab::avx2::name, &::ab::avx512::name, nullptr, &::ab::avx512_bf16::name, \
    &::ab::amx::name }
#else
#define AB_DECLARE_KERNEL(ret, name, params) \
  namespace ab { namespace scalar { ret name params; } }
#define AB_STUB_SLOTS(name) \
  { &::ab::scalar::name, nullptr, nullptr, nullptr, nullptr, nullptr }
#define AB_DECLARE_KERNEL_BF16(ret, name, params) AB_DECLARE_KERNEL(ret, name, params)
#define AB_STUB_SLOTS_BF16(name) AB_STUB_SLOTS(name)
#endif

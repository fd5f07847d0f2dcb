// SPDX-License-Identifier: Apache-2.0
// The ISA ladder, CPU/OS detection and the DispatchStub.
//
// Ladder (ordered): scalar < avx2 < avx512 < avx512_vnni < avx512_bf16 < amx.
//   avx2        = AVX2 + FMA + F16C                       (-mavx2 -mfma -mf16c)
//   avx512      = AVX-512 F/BW/VL/DQ (+ avx2 level)       (-mavx512f -mavx512bw -mavx512vl -mavx512dq)
//   avx512_vnni = avx512 + AVX512_VNNI                    (-mavx512vnni)
//   avx512_bf16 = avx512_vnni + AVX512_BF16               (-mavx512bf16)
//   amx         = avx512_bf16 + AMX-TILE/INT8/BF16, OS permission via arch_prctl (-mamx-*)
// The effective level is min(cpu+os, built, override). A DispatchStub has one slot per level;
// a call picks the highest filled slot <= the effective level, and the scalar slot must exist.
#pragma once
#include <cstdint>

namespace ab {

enum class Isa : int {
  kScalar = 0,
  kAvx2 = 1,
  kAvx512 = 2,
  kAvx512Vnni = 3,
  kAvx512Bf16 = 4,
  kAmx = 5,
};
constexpr int kIsaCount = 6;

const char* isa_name(Isa level);
// Parses a level name; returns false if the name is unknown.
bool isa_from_name(const char* name, Isa* out);
// Highest level this CPU and OS can run (AMX permission is requested from the OS here).
Isa isa_cpu_max();
// Highest level compiled into this binary.
Isa isa_built_max();
// Whether a level has a kernel library of its own in this binary (scalar, avx2, avx512 and
// avx512_bf16 on x86-64; avx512_vnni has none, its stubs use the avx512 bodies).
bool isa_built_has(Isa level);
// Effective level: min(cpu, built, cap). Reads AFTERBURNER_ISA once at first use; an invalid
// value there is remembered and reported by isa_env_error().
Isa isa_current();
// Caps the level (a cap above what was built is allowed: the built maximum still applies).
// Returns nullptr on success, else a static message (the CPU/OS cannot run that level).
const char* isa_set(Isa level);
// "available" when the amx level runs here, else why not (no AMX in CPUID, XCR0 without the tile
// state, arch_prctl refused, AFTERBURNER_AMX=0, a lower level missing). Never null.
const char* isa_amx_status();
// Non-null if AFTERBURNER_ISA held a bad value (the message says which and why).
const char* isa_env_error();

// One slot per ladder level. Fill with AB_DISPATCH_SLOTS(name) from dispatch.h.
template <typename Fn>
struct DispatchStub {
  Fn slots[kIsaCount];
  Fn get() const {
    for (int l = static_cast<int>(isa_current()); l >= 0; --l)
      if (slots[l]) return slots[l];
    return slots[0];
  }
  // The level whose slot get() would use (for reporting and tests).
  Isa level() const {
    for (int l = static_cast<int>(isa_current()); l >= 0; --l)
      if (slots[l]) return static_cast<Isa>(l);
    return Isa::kScalar;
  }
};

}  // namespace ab

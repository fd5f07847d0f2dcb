// SPDX-License-Identifier: Apache-2.0
#include "isa.h"

#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <mutex>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#endif

namespace ab {
namespace {

const char* const kNames[kIsaCount] = {"scalar", "avx2", "avx512", "avx512_vnni", "avx512_bf16", "amx"};

#if defined(__x86_64__) || defined(_M_X64)
inline uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

bool request_amx_permission() {
#if defined(__linux__)
  // ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18. Linux >= 5.16.
  return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
  return false;
#endif
}

Isa detect() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::kScalar;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), f16c = c & (1u << 29), avx = c & (1u << 28);
  if (!osxsave || !avx) return Isa::kScalar;
  const uint64_t xcr0 = xgetbv0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf < 7) return Isa::kScalar;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = b & (1u << 5);
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
             avx512vl = b & (1u << 31);
  const bool vnni = c & (1u << 11);
  const bool amx_bf16 = d & (1u << 22), amx_tile = d & (1u << 24), amx_int8 = d & (1u << 25);
  unsigned a1 = 0, b1, c1, d1;
  __cpuid_count(7, 1, a1, b1, c1, d1);
  const bool avx512_bf16 = a1 & (1u << 5);

  if (!(os_ymm && avx2 && fma && f16c)) return Isa::kScalar;
  if (!(os_zmm && avx512f && avx512dq && avx512bw && avx512vl)) return Isa::kAvx2;
  if (!vnni) return Isa::kAvx512;
  if (!avx512_bf16) return Isa::kAvx512Vnni;
  if (!(amx_tile && amx_bf16 && amx_int8 && os_amx && request_amx_permission())) return Isa::kAvx512Bf16;
  return Isa::kAmx;
}
#else
Isa detect() { return Isa::kScalar; }
#endif

std::once_flag g_init;
Isa g_cpu = Isa::kScalar;
std::atomic<int> g_cap{kIsaCount - 1};
const char* g_env_error = nullptr;
char g_env_error_buf[256];

void init() {
  g_cpu = detect();
  const char* env = std::getenv("AFTERBURNER_ISA");
  if (env && *env) {
    Isa want;
    if (!isa_from_name(env, &want)) {
      std::snprintf(g_env_error_buf, sizeof g_env_error_buf,
                    "AFTERBURNER_ISA='%.64s' is not an ISA level (expected one of scalar, avx2, avx512, "
                    "avx512_vnni, avx512_bf16, amx)", env);
      g_env_error = g_env_error_buf;
    } else if (static_cast<int>(want) > static_cast<int>(g_cpu)) {
      std::snprintf(g_env_error_buf, sizeof g_env_error_buf,
                    "AFTERBURNER_ISA='%s' is above what this CPU and OS support (%s)", kNames[int(want)],
                    kNames[int(g_cpu)]);
      g_env_error = g_env_error_buf;
    } else {
      g_cap.store(static_cast<int>(want));
    }
  }
}

}  // namespace

const char* isa_name(Isa level) {
  int l = static_cast<int>(level);
  return (l >= 0 && l < kIsaCount) ? kNames[l] : "unknown";
}

bool isa_from_name(const char* name, Isa* out) {
  for (int i = 0; i < kIsaCount; ++i)
    if (std::strcmp(name, kNames[i]) == 0) {
      *out = static_cast<Isa>(i);
      return true;
    }
  return false;
}

Isa isa_cpu_max() {
  std::call_once(g_init, init);
  return g_cpu;
}

Isa isa_built_max() {
  // AB_BUILT_MAX is set by binding.gyp to the highest level that has a kernel library of its own.
#if defined(AB_BUILT_MAX)
  return static_cast<Isa>(AB_BUILT_MAX);
#else
  return Isa::kScalar;
#endif
}

bool isa_built_has(Isa level) {
#if defined(AB_BUILT_LEVELS)
  const unsigned mask = AB_BUILT_LEVELS;
#else
  const unsigned mask = 1u;
#endif
  const int l = static_cast<int>(level);
  return l >= 0 && l < kIsaCount && ((mask >> l) & 1u);
}

Isa isa_current() {
  std::call_once(g_init, init);
  int l = g_cap.load(std::memory_order_relaxed);
  if (l > static_cast<int>(g_cpu)) l = static_cast<int>(g_cpu);
  if (l > static_cast<int>(isa_built_max())) l = static_cast<int>(isa_built_max());
  return static_cast<Isa>(l);
}

const char* isa_set(Isa level) {
  std::call_once(g_init, init);
  if (static_cast<int>(level) > static_cast<int>(g_cpu))
    return "that ISA level is above what this CPU and OS support";
  g_cap.store(static_cast<int>(level));
  return nullptr;
}

const char* isa_env_error() {
  std::call_once(g_init, init);
  return g_env_error;
}

}  // namespace ab

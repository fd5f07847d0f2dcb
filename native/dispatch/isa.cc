// SPDX-License-Identifier: Apache-2.0
#include "isa.h"

#include <atomic>
#include <cerrno>
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

char g_amx_buf[200];
const char* g_amx_status = "not x86-64: no AMX";

// Asks Linux (>= 5.16) for the right to use the AMX tile data, once per process (the permission
// is process-wide: every thread, the pool's workers too). On failure the reason is kept.
bool request_amx_permission() {
#if defined(__linux__)
  // ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18.
  if (syscall(SYS_arch_prctl, 0x1023, 18) == 0) return true;
  const int err = errno;
  std::snprintf(g_amx_buf, sizeof g_amx_buf,
                "the OS refused AMX tile data: arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA) failed: %s (Linux >= 5.16 "
                "needed)", std::strerror(err));
  g_amx_status = g_amx_buf;
  return false;
#else
  g_amx_status = "AMX needs Linux (arch_prctl permission); not requested on this OS";
  return false;
#endif
}

// AFTERBURNER_AMX=0 keeps the amx level off (the bf16 GEMM then runs avx512_bf16).
bool amx_disabled_by_env() {
  const char* e = std::getenv("AFTERBURNER_AMX");
  return e && (std::strcmp(e, "0") == 0 || std::strcmp(e, "off") == 0 || std::strcmp(e, "false") == 0);
}

Isa detect() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::kScalar;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), f16c = c & (1u << 29), avx = c & (1u << 28);
  g_amx_status = "the CPU lacks AVX-512 (the amx level builds on avx512_bf16)";
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
  if (!vnni) {
    g_amx_status = "the CPU lacks AVX512_VNNI and AVX512_BF16 (the amx level builds on avx512_bf16)";
    return Isa::kAvx512;
  }
  if (!avx512_bf16) {
    g_amx_status = "the CPU lacks AVX512_BF16 (the amx level builds on avx512_bf16)";
    return Isa::kAvx512Vnni;
  }
  if (!(amx_tile && amx_bf16 && amx_int8)) {
    g_amx_status = "the CPU has no AMX (CPUID.(7,0):EDX bits 22 AMX-BF16, 24 AMX-TILE, 25 AMX-INT8)";
    return Isa::kAvx512Bf16;
  }
  if (!os_amx) {
    g_amx_status = "the OS has not enabled the AMX state in XCR0 (bits 17 XTILECFG, 18 XTILEDATA)";
    return Isa::kAvx512Bf16;
  }
  if (amx_disabled_by_env()) {
    g_amx_status = "disabled by AFTERBURNER_AMX=0";
    return Isa::kAvx512Bf16;
  }
  if (!request_amx_permission()) return Isa::kAvx512Bf16;
  g_amx_status = "available";
  return Isa::kAmx;
}
#else
const char* g_amx_status = "not x86-64: no AMX";
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

const char* isa_amx_status() {
  std::call_once(g_init, init);
  return g_amx_status;
}

const char* isa_env_error() {
  std::call_once(g_init, init);
  return g_env_error;
}

}  // namespace ab

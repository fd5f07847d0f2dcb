# SPDX-License-Identifier: Apache-2.0
# Sources are found by folder, so adding a file needs no edit here:
#   native/kernels/*.cc       per-ISA kernel bodies, compiled once per level (ab_kernels_<level>);
#                             ab_kernels_avx512_bf16 and ab_kernels_amx compile only the files that
#                             name that level on an `// ab-extra-levels:` line (scripts/native-sources.cjs)
#   everything else in native/ ISA-neutral, compiled once at the baseline
{
  "variables": {
    "ab_common_cflags": ["-O3", "-std=c++17", "-fvisibility=hidden", "-fno-math-errno",
                         "-fno-trapping-math", "-Wall", "-Wno-unused-function", "-Wno-unused-parameter"],
  },
  "target_defaults": {
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++17"],
    "cflags_cc": ["<@(ab_common_cflags)"],
    "include_dirs": ["native"],
  },
  "targets": [
    {
      "target_name": "afterburner",
      "sources": ["<!@(node scripts/native-sources.cjs neutral)"],
      "conditions": [
        ["target_arch=='x64'", {
          "dependencies": ["ab_kernels_scalar", "ab_kernels_avx2", "ab_kernels_avx512", "ab_kernels_avx512_bf16",
                           "ab_kernels_amx"],
          # AB_BUILT_LEVELS: bit l set = ladder level l has a kernel library (scalar, avx2, avx512,
          # avx512_bf16, amx); AB_BUILT_MAX: the highest of them.
          "defines": ["AB_BUILT_MAX=5", "AB_BUILT_LEVELS=0x37"],
        }, {
          "dependencies": ["ab_kernels_scalar"],
          "defines": ["AB_BUILT_MAX=0", "AB_BUILT_LEVELS=0x1"],
        }],
        ["OS=='linux'", {"libraries": ["-lpthread"]}],
      ],
    },
    {
      "target_name": "ab_kernels_scalar",
      "type": "static_library",
      "sources": ["<!@(node scripts/native-sources.cjs kernels)"],
      "defines": ["AB_ISA_NS=scalar", "AB_ISA_LEVEL=0"],
    },
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "ab_kernels_avx2",
          "type": "static_library",
          "sources": ["<!@(node scripts/native-sources.cjs kernels)"],
          "defines": ["AB_ISA_NS=avx2", "AB_ISA_LEVEL=1"],
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c"],
        },
        {
          "target_name": "ab_kernels_avx512",
          "type": "static_library",
          "sources": ["<!@(node scripts/native-sources.cjs kernels)"],
          "defines": ["AB_ISA_NS=avx512", "AB_ISA_LEVEL=2"],
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq"],
        },
        {
          # Only the kernels with a body of their own at this level (the bf16 GEMM, the probe);
          # every other stub falls back to the avx512 slot.
          "target_name": "ab_kernels_avx512_bf16",
          "type": "static_library",
          "sources": ["<!@(node scripts/native-sources.cjs kernels avx512_bf16)"],
          "defines": ["AB_ISA_NS=avx512_bf16", "AB_ISA_LEVEL=4"],
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq",
                        "-mavx512vnni", "-mavx512bf16"],
        },
        {
          # The AMX tiles (TDPBF16PS): only the files marked `// ab-extra-levels: ... amx`.
          "target_name": "ab_kernels_amx",
          "type": "static_library",
          "sources": ["<!@(node scripts/native-sources.cjs kernels amx)"],
          "defines": ["AB_ISA_NS=amx", "AB_ISA_LEVEL=5"],
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq",
                        "-mavx512vnni", "-mavx512bf16", "-mamx-tile", "-mamx-bf16"],
        },
      ],
    }],
  ],
}

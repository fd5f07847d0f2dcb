// SPDX-License-Identifier: Apache-2.0
// The ISA ladder as seen from TypeScript: ab.isa.current(), supported(), built(), set().
import {native} from './binding';
import {invalidateIsaLevel} from './backend/weight-cache';

/** The ladder, lowest first. */
export const ISA_LEVELS = ['scalar', 'avx2', 'avx512', 'avx512_vnni', 'avx512_bf16', 'amx'] as const;
export type IsaLevel = typeof ISA_LEVELS[number];

function upTo(level: string): IsaLevel[] {
  const i = ISA_LEVELS.indexOf(level as IsaLevel);
  return ISA_LEVELS.slice(0, i + 1);
}

function requireNative(what: string) {
  if (native == null) throw new Error(`afterburner: ${what} needs the native addon, which is not loaded`);
  return native;
}

export const isa = {
  /** The level kernels run at now: min(CPU and OS, built, cap). 'scalar' without the addon. */
  current(): IsaLevel {
    return (native ? native.isaCurrent() : 'scalar') as IsaLevel;
  },
  /** Every level this CPU and OS can run, lowest first. */
  supported(): IsaLevel[] {
    return native ? upTo(native.isaCpu()) : [];
  },
  /**
   * Every level that has a kernel library of its own in this build, lowest first (on x86-64:
   * scalar, avx2, avx512, avx512_bf16, amx; avx512_vnni runs the avx512 bodies, amx has only the
   * bf16 GEMM of its own).
   */
  built(): IsaLevel[] {
    return native ? (native.isaBuiltLevels() as IsaLevel[]) : [];
  },
  /**
   * Caps the level (like AFTERBURNER_ISA). A level above what the CPU supports is refused.
   * Returns the level now in effect.
   */
  set(level: IsaLevel): IsaLevel {
    if (!(ISA_LEVELS as readonly string[]).includes(level)) {
      throw new RangeError(`afterburner: '${level}' is not an ISA level (expected one of ${ISA_LEVELS.join(', ')})`);
    }
    const now = requireNative('isa.set').isaSet(level) as IsaLevel;
    invalidateIsaLevel();
    return now;
  },
  /**
   * 'available' when the amx level (AMX tiles, TDPBF16PS: the bf16 GEMM) runs here, else why not:
   * no AMX in CPUID, the OS has not enabled the tile state (XCR0) or refused it (arch_prctl),
   * AFTERBURNER_AMX=0, or no addon.
   */
  amxStatus(): string {
    return native ? native.isaAmxStatus() : 'the native addon is not loaded';
  },
  /**
   * The distinct levels kernels can actually run at on this machine (supported levels capped by
   * what was built): what the tests iterate over.
   */
  effective(): IsaLevel[] {
    const built = this.built();
    return this.supported().filter((l) => built.includes(l));
  },
};

/** Sets the number of native threads (default: the number of physical cores). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`afterburner: setNumThreads(n) needs an integer n >= 1, got ${n}`);
  requireNative('setNumThreads').setNumThreads(n);
}

/** The number of native threads parallel kernels use. */
export function getNumThreads(): number {
  return native ? native.getNumThreads() : 1;
}

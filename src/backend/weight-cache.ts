// SPDX-License-Identifier: Apache-2.0
// Prepacked weights: a weight used again as a GEMM's B operand (a dense kernel, a conv filter) is
// packed once into the blocked layout its kernel wants, cached on the backend by dataId, and
// released when the tensor's data is disposed. A one-off operand is never packed: the first use of
// a (dataId, layout) only marks it, the second packs it.
//
// Aliasing: tfjs reshapes share dataIds, so an entry is keyed by dataId and layout — the K x N
// interpretation, transposition, format and ISA level it was packed for. An entry also remembers the
// values array it was packed from; if the backend's storage for that dataId ever holds another
// array (move, or anything else that rewrites it), the entry is stale and is dropped. Memory is
// bounded by a byte budget (AFTERBURNER_PREPACK_MB, default 1024; 0 turns prepacking off): past it
// new weights are simply not packed.
import {DataId, engine, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {native, NativeBinding, PackedHandle} from '../binding';

/** The packed formats an entry can hold (bf16 is for the bf16 GEMM, wired in later). */
export type PackedFormat = 'f32'|'bf16';

export interface PackedEntry {
  format: PackedFormat;
  /** `${format}:${K}x${N}:${'n'|'t'}:${isaLevel}` */
  layout: string;
  handle: PackedHandle;
  bytes: number;
  /** The stored values it was packed from (identity check against rewrites). */
  source: unknown;
}

/** How a tensor is used: B of a matmul ([..., K, N]), B of a matmul with transposeB ([..., N, K]), or a conv2d filter. */
export type WeightKind = 'matmul'|'matmulT'|'conv2d';

export interface PrepackStats {
  /** Live packed entries and their bytes. */
  count: number;
  bytes: number;
  /** Calls served from the cache, packs made, packs refused by the budget (since the backend was made). */
  hits: number;
  packs: number;
  skipped: number;
  budgetBytes: number;
}

function defaultBudget(): number {
  const env = typeof process !== 'undefined' ? process.env.AFTERBURNER_PREPACK_MB : undefined;
  const mb = env != null && env !== '' ? Number(env) : 1024;
  return Number.isFinite(mb) && mb > 0 ? mb * 1024 * 1024 : 0;
}

// The ISA level in layout keys, read from the addon once and again after isa.set() (a caller that
// changes the level behind isa.set's back only loses the cache: the addon ignores a handle packed
// for another level).
let levelCache: string|null = null;
export function invalidateIsaLevel(): void {
  levelCache = null;
}
function level(nat: NativeBinding): string {
  return levelCache ?? (levelCache = nat.isaCurrent());
}

function asF32(values: unknown): Float32Array {
  return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
}

export class WeightCache {
  private readonly entries = new Map<DataId, Map<string, PackedEntry>>();
  /** (dataId, layout) seen once as a B operand and not packed yet. Weak: no leak for one-offs. */
  private readonly seen = new WeakMap<DataId, Set<string>>();
  private bytes = 0;
  private count = 0;
  private hits = 0;
  private packs = 0;
  private skipped = 0;
  budgetBytes = defaultBudget();

  constructor(private readonly backend: MathBackendCPU) {}

  /**
   * The packed f32 form of `t` as a K x N B operand (stored N x K when transB), or null: null on
   * the first use of this (dataId, layout), when prepacking is off, or past the budget.
   */
  f32(nat: NativeBinding, t: TensorInfo, K: number, N: number, transB: boolean): PackedHandle|null {
    if (this.budgetBytes <= 0) return null;
    const layout = `f32:${K}x${N}:${transB ? 't' : 'n'}:${level(nat)}`;
    const e = this.entries.get(t.dataId)?.get(layout);
    if (e) {
      if (e.source === this.backend.data.get(t.dataId)?.values) {
        ++this.hits;
        return e.handle;
      }
      this.drop(t.dataId, layout);  // the data was rewritten under this dataId
    }
    let s = this.seen.get(t.dataId);
    if (s == null) this.seen.set(t.dataId, s = new Set());
    if (!s.has(layout)) {
      s.add(layout);
      return null;
    }
    return this.pack(nat, t, K, N, transB, layout);
  }

  /** Packs now (eagerly), whatever the use count. Returns the handle, or null past the budget. */
  pack(nat: NativeBinding, t: TensorInfo, K: number, N: number, transB: boolean,
       layout = `f32:${K}x${N}:${transB ? 't' : 'n'}:${level(nat)}`): PackedHandle|null {
    const existing = this.entries.get(t.dataId)?.get(layout);
    if (existing) return existing.handle;
    const stored = this.backend.data.get(t.dataId);
    if (stored == null || K < 1 || N < 1) return null;
    const nr = nat.gemmInfo().nr;
    const bytes = Math.ceil(N / nr) * nr * K * 4;
    // An entry of the same shape packed at another ISA level is of no use any more.
    const prefix = layout.slice(0, layout.lastIndexOf(':') + 1);
    for (const l of [...(this.entries.get(t.dataId)?.keys() ?? [])]) if (l.startsWith(prefix)) this.drop(t.dataId, l);
    if (this.bytes + bytes > this.budgetBytes) {
      ++this.skipped;
      return null;
    }
    const handle = nat.packWeight(asF32(stored.values), K, N, transB);
    let m = this.entries.get(t.dataId);
    if (m == null) this.entries.set(t.dataId, m = new Map());
    m.set(layout, {format: 'f32', layout, handle, bytes, source: stored.values});
    this.bytes += bytes;
    ++this.count;
    ++this.packs;
    this.seen.get(t.dataId)?.delete(layout);
    return handle;
  }

  /** Frees every entry of a dataId (its data was disposed or rewritten). */
  release(dataId: DataId): void {
    const m = this.entries.get(dataId);
    if (m == null) return;
    for (const l of [...m.keys()]) this.drop(dataId, l);
  }

  clear(): void {
    for (const id of [...this.entries.keys()]) this.release(id);
  }

  stats(): PrepackStats {
    return {count: this.count, bytes: this.bytes, hits: this.hits, packs: this.packs, skipped: this.skipped,
            budgetBytes: this.budgetBytes};
  }

  private drop(dataId: DataId, layout: string): void {
    const m = this.entries.get(dataId);
    const e = m?.get(layout);
    if (m == null || e == null) return;
    m.delete(layout);
    if (m.size === 0) this.entries.delete(dataId);
    this.bytes -= e.bytes;
    --this.count;
    // A format without a native handle of ours (none yet) would be freed by its own owner.
    if (e.format === 'f32' && native != null) native.packedFree(e.handle);
  }
}

/** The cache of a backend, if it has one (the afterburner backend does). */
export function weightCacheOf(backend: unknown): WeightCache|null {
  return (backend as {weightCache?: WeightCache}).weightCache ?? null;
}

function afterburnerCache(): {cache: WeightCache, backend: MathBackendCPU}|null {
  const backend = engine().findBackend('afterburner') as MathBackendCPU|null;
  const cache = backend ? weightCacheOf(backend) : null;
  return backend && cache ? {cache, backend} : null;
}

/**
 * Packs a weight now, for the way it will be used (internal API, for ab.optimize()): 'matmul' =
 * the B operand [..., K, N] of a matMul, 'matmulT' = the B operand [..., N, K] of a matMul with
 * transposeB, 'conv2d' = a conv2d filter [fH, fW, inC, outC]. Returns whether a packed form is
 * now cached (false: not float32 on the afterburner backend, no addon, or past the budget).
 */
export function prepackWeight(t: TensorInfo, kind: WeightKind): boolean {
  const c = afterburnerCache();
  if (c == null || native == null || t.dtype !== 'float32' || !c.backend.data.has(t.dataId)) return false;
  const s = t.shape, r = s.length;
  let K: number, N: number;
  if (kind === 'conv2d') {
    if (r !== 4) throw new Error(`prepackWeight: a conv2d filter is [fH, fW, inC, outC], got [${s}]`);
    K = s[0] * s[1] * s[2];
    N = s[3];
  } else {
    if (r < 2 || s.slice(0, r - 2).some((d) => d !== 1)) {
      throw new Error(`prepackWeight: a matmul weight is one matrix (leading dims of 1), got [${s}]`);
    }
    [K, N] = kind === 'matmul' ? [s[r - 2], s[r - 1]] : [s[r - 1], s[r - 2]];
  }
  return c.cache.pack(native, t, K, N, kind === 'matmulT') != null;
}

/** Packed-weight statistics of the afterburner backend (zeros when it is not created). */
export function prepackStats(): PrepackStats {
  const c = afterburnerCache();
  return c ? c.cache.stats() : {count: 0, bytes: 0, hits: 0, packs: 0, skipped: 0, budgetBytes: defaultBudget()};
}

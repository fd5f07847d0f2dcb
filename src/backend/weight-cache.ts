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
//
// bf16 (opt-in: it changes numerics): a weight marked by toBf16Weight() is packed with bf16Pack
// (eagerly, for each K x N interpretation it is used in) and from then on every matmul that takes it
// as B and every conv2d that takes it as the filter runs the bf16 GEMM (activations rounded to bf16
// inside the GEMM, f32 accumulation, the same epilogue); its f32 packed forms are dropped. The bf16
// layout is the same at every ISA level (the lower levels emulate the same arithmetic). The mark
// lives as long as the data: released with it on dispose (a Variable.assign() gives the variable
// new data, unmarked).
import {backend_util, DataId, engine, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {native, NativeBinding, PackedHandle} from '../binding';
import {markJsRead} from './kernel-utils';

/** The packed formats an entry can hold: f32 (packWeight handles), bf16 (bf16Pack buffers), int8/int4 (quantPack buffers). */
export type PackedFormat = 'f32'|'bf16'|'int8'|'int4';

/** A weight-only quantization: int8 or int4 codes per group of `groupSize` rows along K (native/gemm/gemm_quant.h). */
export interface QuantSpec {
  bits: 8|4;
  groupSize: 32|64|128;
}

export interface PackedEntry {
  format: PackedFormat;
  /** `${format}:${K}x${N}:${'n'|'t'}:${isaLevel}` for f32 */
  layout: string;
  /** The native object the kernel takes (for f32: a packWeight handle). */
  handle: unknown;
  bytes: number;
  /** The stored values it was packed from (identity check against rewrites). */
  source: unknown;
  /** Frees the native object. */
  release: () => void;
}

/** How to make one packed form of a weight (another format plugs in through this). */
export interface Packer {
  format: PackedFormat;
  /** Bytes it will hold (checked against the budget before packing). */
  bytes: number;
  /** Entries whose layout starts with this are the same weight for another ISA level: dropped first. */
  stalePrefix: string;
  pack(values: backend_util.BackendValues): {handle: unknown, release: () => void};
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
  /** Of count / bytes: the bf16 entries. */
  bf16Count: number;
  bf16Bytes: number;
  /** Weights marked bf16 (toBf16Weight) whose data is alive. */
  bf16Weights: number;
  /** Of count / bytes: the int8 / int4 entries (quantPack buffers). */
  quantCount: number;
  quantBytes: number;
  /** Weights marked int8 / int4 (quantizeWeight) whose data is alive. */
  quantWeights: number;
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

/** The ISA level kernels run at now (cached until isa.set()); graph mode's native plans compare it. */
export function currentIsaLevel(nat: NativeBinding): string {
  return level(nat);
}

function asF32(values: unknown): Float32Array {
  return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
}

/** Marks of weights whose data is on another backend for now (WeightCache.departing / arrived). */
const travelling = new WeakMap<DataId, {bf16: boolean, quant?: QuantSpec}>();

export class WeightCache {
  private readonly entries = new Map<DataId, Map<string, PackedEntry>>();
  /** (dataId, layout) seen once as a B operand and not packed yet. Weak: no leak for one-offs. */
  private readonly seen = new WeakMap<DataId, Set<string>>();
  /** dataIds marked for bf16 (toBf16Weight); cleared when their data is released. */
  private readonly bf16Marks = new Set<DataId>();
  /** dataIds marked for int8 / int4 (quantizeWeight); cleared when their data is released. */
  private readonly quantMarks = new Map<DataId, QuantSpec>();
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
  f32(nat: NativeBinding, t: TensorInfo, K: number, N: number, transB: boolean, eager = false): PackedHandle|null {
    if (K < 1 || N < 1) return null;
    const layout = `f32:${K}x${N}:${transB ? 't' : 'n'}:${level(nat)}`;
    return this.use(t, layout, eager, () => {
      const nr = nat.gemmInfo().nr;
      return {
        format: 'f32',
        bytes: Math.ceil(N / nr) * nr * K * 4,
        stalePrefix: layout.slice(0, layout.lastIndexOf(':') + 1),
        pack: (values) => {
          const handle = nat.packWeight(asF32(values), K, N, transB);
          return {handle, release: () => void nat.packedFree(handle)};
        },
      };
    }) as PackedHandle | null;
  }

  /** Whether t's data is marked for bf16. */
  isBf16(t: TensorInfo): boolean {
    return this.bf16Marks.has(t.dataId);
  }

  /** Marks t's data for bf16 (or unmarks it) and drops its f32 and int8/int4 packed forms and quantization mark. */
  markBf16(t: TensorInfo, on: boolean): void {
    if (!on) {
      this.bf16Marks.delete(t.dataId);
      return;
    }
    this.bf16Marks.add(t.dataId);
    this.quantMarks.delete(t.dataId);  // the latest choice wins
    const m = this.entries.get(t.dataId);
    if (m) for (const [l, e] of [...m]) if (e.format !== 'bf16') this.drop(t.dataId, l);
  }

  /**
   * The bf16 packed form (a bf16Pack buffer) of `t` as a K x N B operand (stored N x K when
   * transB) if t's data is marked for bf16 (packed now if this layout is new), else null. Null too
   * when prepacking is off or past the budget (the caller then computes in f32).
   */
  bf16(nat: NativeBinding, t: TensorInfo, K: number, N: number, transB: boolean): ArrayBuffer|null {
    if (K < 1 || N < 1 || !this.bf16Marks.has(t.dataId)) return null;
    const layout = `bf16:${K}x${N}:${transB ? 't' : 'n'}`;
    return this.use(t, layout, true, () => ({
      format: 'bf16',
      bytes: 128 + Math.ceil(N / 32) * 32 * Math.ceil(K / 2) * 4,  // bf16Pack's byteLength
      stalePrefix: layout,  // one layout at every ISA level
      pack: (values) => ({handle: nat.bf16Pack(asF32(values), K, N, transB), release: () => {}}),
    })) as ArrayBuffer | null;
  }

  /** t's quantization mark, if any. */
  quantOf(t: TensorInfo): QuantSpec|undefined {
    return this.quantMarks.get(t.dataId);
  }

  /**
   * Marks t's data for int8 / int4 (or unmarks it, spec null): drops its bf16 mark and every packed
   * form that is not this quantization (f32, bf16, or another bits / group size).
   */
  markQuant(t: TensorInfo, spec: QuantSpec|null): void {
    if (spec == null) {
      this.quantMarks.delete(t.dataId);
      return;
    }
    this.quantMarks.set(t.dataId, spec);
    this.bf16Marks.delete(t.dataId);
    const keep = `int${spec.bits}:g${spec.groupSize}:`;
    const m = this.entries.get(t.dataId);
    if (m) for (const l of [...m.keys()]) if (!l.startsWith(keep)) this.drop(t.dataId, l);
  }

  /**
   * The quantPack buffer of `t` as a K x N B operand (stored N x K when transB) if t's data is
   * marked int8 / int4 (packed now if this layout is new), else null. Null too when prepacking is
   * off or past the budget (the caller then computes in f32).
   */
  quant(nat: NativeBinding, t: TensorInfo, K: number, N: number, transB: boolean): ArrayBuffer|null {
    const spec = this.quantMarks.get(t.dataId);
    if (K < 1 || N < 1 || spec == null) return null;
    const {bits, groupSize: g} = spec;
    const layout = `int${bits}:g${g}:${K}x${N}:${transB ? 't' : 'n'}`;
    return this.use(t, layout, true, () => ({
      format: bits === 8 ? 'int8' : 'int4',
      // quantPack's byteLength: header + panels of 32 columns x groups x (codes + 32 f32 scales)
      bytes: 128 + Math.ceil(N / 32) * Math.ceil(K / g) * (g * (bits === 8 ? 32 : 16) + 128),
      stalePrefix: layout,  // one layout at every ISA level
      pack: (values) => ({handle: nat.quantPack(asF32(values), K, N, transB, bits, g), release: () => {}}),
    })) as ArrayBuffer | null;
  }

  /**
   * The generic lookup: the cached handle of (t.dataId, layout), made by `packer()` on the second
   * use (or now, if eager). Null on a first use, when prepacking is off, or past the budget.
   */
  use(t: TensorInfo, layout: string, eager: boolean, packer: () => Packer): unknown {
    if (this.budgetBytes <= 0) return null;
    const stored = this.backend.data.get(t.dataId);
    if (stored == null || stored.values == null) return null;
    const e = this.entries.get(t.dataId)?.get(layout);
    if (e) {
      if (e.source === stored.values) {
        ++this.hits;
        markJsRead(t);  // packed from t's data as it is now (graph mode's native executor: fine for constants)
        return e.handle;
      }
      this.drop(t.dataId, layout);  // the data was rewritten under this dataId
    }
    if (!eager) {
      let s = this.seen.get(t.dataId);
      if (s == null) this.seen.set(t.dataId, s = new Set());
      if (!s.has(layout)) {
        s.add(layout);
        return null;
      }
    }
    const p = packer();
    const m0 = this.entries.get(t.dataId);
    if (m0) for (const l of [...m0.keys()]) if (l.startsWith(p.stalePrefix)) this.drop(t.dataId, l);
    if (this.bytes + p.bytes > this.budgetBytes) {
      ++this.skipped;
      return null;
    }
    const values = stored.values;
    const {handle, release} = p.pack(values);
    let m = this.entries.get(t.dataId);
    if (m == null) this.entries.set(t.dataId, m = new Map());
    m.set(layout, {format: p.format, layout, handle, bytes: p.bytes, source: values, release});
    this.bytes += p.bytes;
    ++this.count;
    ++this.packs;
    this.seen.get(t.dataId)?.delete(layout);
    markJsRead(t);
    return handle;
  }

  /**
   * dataId's data leaves this backend for another (engine.moveData): its packed forms are freed,
   * its bf16 / int8 / int4 mark travels with the dataId (weakly held), so that the weight computes
   * as marked again when its data comes back (arrived()).
   */
  departing(dataId: DataId): void {
    const bf16 = this.bf16Marks.has(dataId), quant = this.quantMarks.get(dataId);
    if (bf16 || quant) travelling.set(dataId, {bf16, quant});
    this.release(dataId);
  }

  /** dataId's data moves (back) to this backend: the mark it left with, if any, is restored. */
  arrived(dataId: DataId): void {
    this.release(dataId);
    const t = travelling.get(dataId);
    if (t == null) return;
    travelling.delete(dataId);
    if (t.bf16) this.bf16Marks.add(dataId);
    if (t.quant) this.quantMarks.set(dataId, t.quant);
  }

  /** Frees every entry of a dataId (its data was disposed or rewritten). */
  release(dataId: DataId): void {
    this.bf16Marks.delete(dataId);
    this.quantMarks.delete(dataId);
    const m = this.entries.get(dataId);
    if (m == null) return;
    for (const l of [...m.keys()]) this.drop(dataId, l);
  }

  clear(): void {
    for (const id of [...this.entries.keys()]) this.release(id);
    this.bf16Marks.clear();
    this.quantMarks.clear();
  }

  stats(): PrepackStats {
    let bf16Count = 0, bf16Bytes = 0, quantCount = 0, quantBytes = 0;
    for (const m of this.entries.values()) {
      for (const e of m.values()) {
        if (e.format === 'bf16') {
          ++bf16Count;
          bf16Bytes += e.bytes;
        } else if (e.format === 'int8' || e.format === 'int4') {
          ++quantCount;
          quantBytes += e.bytes;
        }
      }
    }
    return {count: this.count, bytes: this.bytes, hits: this.hits, packs: this.packs, skipped: this.skipped,
            budgetBytes: this.budgetBytes, bf16Count, bf16Bytes, bf16Weights: this.bf16Marks.size, quantCount, quantBytes,
            quantWeights: this.quantMarks.size};
  }

  private drop(dataId: DataId, layout: string): void {
    const m = this.entries.get(dataId);
    const e = m?.get(layout);
    if (m == null || e == null) return;
    m.delete(layout);
    if (m.size === 0) this.entries.delete(dataId);
    this.bytes -= e.bytes;
    --this.count;
    e.release();
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
  const [K, N] = weightKN('prepackWeight', t, kind);
  if (c.cache.isBf16(t) || c.cache.quantOf(t)) return false;  // computed in bf16 / int8 / int4: an f32 form would go unused
  return c.cache.f32(native, t, K, N, kind === 'matmulT', true) != null;
}

/** The K x N GEMM operand a weight of `kind` is. */
function weightKN(fn: string, t: TensorInfo, kind: WeightKind): [number, number] {
  const s = t.shape, r = s.length;
  if (kind === 'conv2d') {
    if (r !== 4) throw new Error(`${fn}: a conv2d filter is [fH, fW, inC, outC], got [${s}]`);
    return [s[0] * s[1] * s[2], s[3]];
  }
  if (kind !== 'matmul' && kind !== 'matmulT') throw new Error(`${fn}: unknown weight kind '${kind}'`);
  if (r < 2 || s.slice(0, r - 2).some((d) => d !== 1)) {
    throw new Error(`${fn}: a matmul weight is one matrix (leading dims of 1), got [${s}]`);
  }
  return kind === 'matmul' ? [s[r - 2], s[r - 1]] : [s[r - 1], s[r - 2]];
}

/**
 * Marks a weight bf16 (internal API, for ab.optimize({dtype: 'bfloat16'})): packs it now with
 * bf16Pack for the way it will be used (kinds as prepackWeight's), and from then on every
 * matmul using it as B and every conv2d using it as the filter computes with the bf16 GEMM
 * (operands rounded to bf16, f32 accumulation; the tensor itself stays float32 and unchanged).
 * Returns whether it is now bf16 (false: not float32 on the afterburner backend, no addon, empty,
 * or past the prepack budget — then it stays f32).
 */
export function toBf16Weight(t: TensorInfo, kind: WeightKind): boolean {
  const c = afterburnerCache();
  if (c == null || native == null || t.dtype !== 'float32' || !c.backend.data.has(t.dataId)) return false;
  const [K, N] = weightKN('toBf16Weight', t, kind);
  if (K < 1 || N < 1) return false;
  const was = c.cache.isBf16(t);
  c.cache.markBf16(t, true);
  if (c.cache.bf16(native, t, K, N, kind === 'matmulT') != null) return true;
  if (!was) c.cache.markBf16(t, false);
  return false;
}

/**
 * Whether t's data is marked for bf16 (toBf16Weight, ab.optimize({dtype: 'bfloat16'})), wherever
 * that data is now: on the afterburner backend, or visiting another backend (departing()).
 */
export function isBf16Weight(t: TensorInfo): boolean {
  return (afterburnerCache()?.cache.isBf16(t) ?? false) || (travelling.get(t.dataId)?.bf16 ?? false);
}

/** Packed-weight statistics of the afterburner backend (zeros when it is not created). */
export function prepackStats(): PrepackStats {
  const c = afterburnerCache();
  return c ? c.cache.stats() : {count: 0, bytes: 0, hits: 0, packs: 0, skipped: 0, budgetBytes: defaultBudget(), bf16Count: 0, bf16Bytes: 0,
                 bf16Weights: 0, quantCount: 0, quantBytes: 0, quantWeights: 0};
}

/** Options of quantizeWeight(). */
export interface QuantizeOptions {
  /** 'int8' (codes -127..127) or 'int4' (codes -8..7, two per byte). */
  dtype: 'int8'|'int4';
  /** Rows of K per scale: 32, 64 or 128. Default: 128 for int8, 64 for int4. */
  groupSize?: number;
  /** How the weight is used: 'matmul' (default; B [K, N]) or 'matmulT' (B [N, K] with transposeB). */
  kind?: 'matmul'|'matmulT';
}

/** The QuantSpec of quantize options (validated; throws a TypeError/RangeError naming `fn`). */
export function quantSpec(fn: string, options: unknown): QuantSpec {
  if (options == null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object with a dtype ('int8' or 'int4')`);
  const o = options as Record<string, unknown>;
  if (o.dtype !== 'int8' && o.dtype !== 'int4') {
    throw new TypeError(`${fn}: option 'dtype' must be 'int8' or 'int4', got ${JSON.stringify(o.dtype)}`);
  }
  const bits = o.dtype === 'int8' ? 8 : 4;
  const g = o.groupSize === undefined ? (bits === 8 ? 128 : 64) : o.groupSize;
  if (g !== 32 && g !== 64 && g !== 128) {
    throw new RangeError(`${fn}: option 'groupSize' must be 32, 64 or 128, got ${JSON.stringify(o.groupSize)}`);
  }
  return {bits, groupSize: g};
}

/**
 * Quantizes a matmul weight (weight-only int8 / int4; the LLM linear layers' format): packs it now
 * with quantPack (symmetric, per group of `groupSize` rows along K, f32 scales; see
 * native/gemm/gemm_quant.h), and from then on every MatMul / BatchMatMul / _FusedMatMul that takes
 * it as the one B matrix runs the quantized GEMM (activations stay f32; the tensor itself stays
 * float32 and unchanged; conv filters are not quantized). Returns whether it is now quantized
 * (false: not float32 on the afterburner backend, no addon, empty, or past the prepack budget —
 * then it stays f32). Throws on bad options, a weight that is not one matrix, or non-finite values.
 */
export function quantizeWeight(t: TensorInfo, options: QuantizeOptions): boolean {
  const spec = quantSpec('quantizeWeight', options);
  const kind = options.kind ?? 'matmul';
  if (kind !== 'matmul' && kind !== 'matmulT') {
    throw new TypeError(`quantizeWeight: option 'kind' must be 'matmul' or 'matmulT', got ${JSON.stringify(kind)}`);
  }
  return toQuantWeight(t, kind, spec);
}

/** quantizeWeight's work (internal API, for ab.optimize({dtype: 'int8' | 'int4'})). */
export function toQuantWeight(t: TensorInfo, kind: 'matmul'|'matmulT', spec: QuantSpec): boolean {
  const c = afterburnerCache();
  if (c == null || native == null || t.dtype !== 'float32' || !c.backend.data.has(t.dataId)) return false;
  const [K, N] = weightKN('quantizeWeight', t, kind);
  if (K < 1 || N < 1) return false;
  const was = c.cache.quantOf(t);
  c.cache.markQuant(t, spec);
  try {
    if (c.cache.quant(native, t, K, N, kind === 'matmulT') != null) return true;
  } catch (e) {
    c.cache.markQuant(t, was ?? null);
    throw e;
  }
  c.cache.markQuant(t, was ?? null);
  return false;
}

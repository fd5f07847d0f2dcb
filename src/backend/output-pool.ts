// SPDX-License-Identifier: Apache-2.0
// The eager output pool: float32 output arrays of native kernels are recycled when their tensor
// is disposed, instead of being left to V8's garbage collector while every new output comes from
// fresh memory. A fresh multi-megabyte Float32Array costs calloc, page faults on first touch and GC
// pressure — measured here, more than the kernel that fills it (a 4.8 MB clipByValue: 12.7 ms eager
// with fresh outputs against ~0.5 ms of work).
//
// Only arrays this pool allocated are recycled (newOutput() in kernel-utils.ts), and only when
// nothing else can still see them. The backend reports to the pool:
//   - stored(values, dataId): every array the backend stores (write, makeTensorInfo, move). The
//     first store of a pool array under one dataId makes that dataId its owner; any other store of
//     its buffer (the same array under a second dataId, or a subarray view of it: zero-copy Slice,
//     Cast, Reshape-like kernels of tfjs-cpu) marks it shared, and a shared array is never reused;
//   - exposed(values): readSync/read hand the stored array itself to the caller (dataSync(),
//     data()): such an array is never reused either;
//   - disposed(values, dataId): the owner's data was deleted: the array goes back to the pool.
// Arrays the graph executor or the prepack cache keep for themselves must be retained (retain()).
// Pooled arrays are not zeroed: every kernel that takes its output from newOutput() writes all of
// it (graph mode's arena has relied on that since it was written).
//
// AFTERBURNER_POOL_MB (default 256; 0 turns the pool off) bounds the bytes held while unused.
// Arrays below MIN_ELEMENTS come fresh (V8 serves small ones cheaply).
import type {DataId} from '@tensorflow/tfjs-core';

interface Record {
  array: Float32Array;
  owner: DataId|null;
  /** Stored twice, viewed, read out or retained: never reused. */
  pinned: boolean;
}

const MIN_ELEMENTS = 8192;
const records = new WeakMap<ArrayBufferLike, Record>();
const free = new Map<number, Float32Array[]>();
let freeBytes = 0;
let limitBytes = (() => {
  const v = typeof process !== 'undefined' ? process.env.AFTERBURNER_POOL_MB : undefined;
  const mb = v == null || v === '' ? 256 : Number(v);
  return Number.isFinite(mb) && mb >= 0 ? mb * 1024 * 1024 : 256 * 1024 * 1024;
})();
const stats = {allocated: 0, reused: 0, recycled: 0, dropped: 0};

/** A float32 array of n elements: a recycled one when the pool has it, else a fresh one. */
export function takeArray(n: number): Float32Array {
  if (n >= MIN_ELEMENTS && limitBytes > 0) {
    const list = free.get(n);
    const a = list?.pop();
    if (a != null) {
      freeBytes -= a.byteLength;
      records.get(a.buffer)!.owner = null;
      ++stats.reused;
      return a;
    }
    const fresh = new Float32Array(n);
    records.set(fresh.buffer, {array: fresh, owner: null, pinned: false});
    ++stats.allocated;
    return fresh;
  }
  return new Float32Array(n);
}

function recordOf(values: unknown): Record|undefined {
  const buf = (values as ArrayBufferView|null)?.buffer;
  return buf == null ? undefined : records.get(buf);
}

/** The backend stored `values` under `dataId`. */
export function stored(values: unknown, dataId: DataId): void {
  const r = recordOf(values);
  if (r == null) return;
  if (values === r.array && r.owner == null && !r.pinned) r.owner = dataId;
  else r.pinned = true;
}

/** `values` was handed out (readSync / read), or is kept by someone outside the backend's storage. */
export function retain(values: unknown): void {
  const r = recordOf(values);
  if (r != null) r.pinned = true;
}

/** The backend deleted the data of `dataId`, which held `values`. */
export function disposed(values: unknown, dataId: DataId): void {
  const r = recordOf(values);
  if (r == null || values !== r.array || r.owner !== dataId || r.pinned) return;
  r.owner = null;
  const a = r.array;
  if (freeBytes + a.byteLength > limitBytes) {
    ++stats.dropped;
    return;
  }
  let list = free.get(a.length);
  if (list == null) free.set(a.length, list = []);
  list.push(a);
  freeBytes += a.byteLength;
  ++stats.recycled;
}

export interface OutputPoolStats {
  /** Bytes of unused arrays held for reuse, and the bound (AFTERBURNER_POOL_MB). */
  freeBytes: number;
  limitBytes: number;
  /** Arrays made fresh, handed out again, returned on dispose, and not kept (pool full). */
  allocated: number;
  reused: number;
  recycled: number;
  dropped: number;
}

export function outputPoolStats(): OutputPoolStats {
  return {freeBytes, limitBytes, ...stats};
}

/** Empties the pool; `limitMB` (optional) sets its bound (0: off). */
export function clearOutputPool(limitMB?: number): void {
  free.clear();
  freeBytes = 0;
  if (limitMB != null) {
    if (!(Number.isFinite(limitMB) && limitMB >= 0)) throw new Error(`afterburner: the output pool's bound must be a number of MB >= 0, not ${limitMB}`);
    limitBytes = limitMB * 1024 * 1024;
  }
}

// SPDX-License-Identifier: Apache-2.0
// The afterburner KernelBackend: tfjs-backend-cpu's storage (tensor data lives in JS typed
// arrays, which native kernels read and write zero-copy) with native kernels registered on top.
import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';
import {backend_util, DataId, DataType} from '@tensorflow/tfjs-core';
import type {BackendValues} from '@tensorflow/tfjs-core';

import {noteRead} from '../graph/hook';
import * as pool from './output-pool';
import {WeightCache} from './weight-cache';

export const BACKEND_NAME = 'afterburner';
/** Above cpu (1), wasm (2) and webgl (2), so tfjs picks afterburner without a setBackend call. */
export const BACKEND_PRIORITY = 5;

export class AfterburnerBackend extends MathBackendCPU {
  /** Prepacked weights by dataId (see weight-cache.ts). */
  readonly weightCache = new WeightCache(this);

  constructor() {
    super();
    // MathBackendCPU prints a "install tfjs-node" hint on first use in Node; we are the fast path.
    (this as unknown as {firstUse: boolean}).firstUse = false;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.storedValues(dataId);
    const disposed = super.disposeData(dataId, force);
    if (disposed && !this.data.has(dataId)) {
      // force: the engine moves the data to another backend (engine.moveData); a weight's bf16 /
      // int8 / int4 mark goes with it and comes back with it (move()).
      if (force) this.weightCache.departing(dataId);
      else this.weightCache.release(dataId);
      pool.disposed(values, dataId);
    }
    return disposed;
  }

  /** The array stored for dataId, if this backend has it (DataStorage.get() would move it here). */
  private storedValues(dataId: DataId): unknown {
    return this.data.has(dataId) ? this.data.get(dataId).values : undefined;
  }

  // Every array the storage takes is reported to the output pool (a second store of a pooled
  // array, or a view of one, pins it).
  override write(values: backend_util.BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = super.write(values, shape, dtype);
    pool.stored(values, dataId);
    return dataId;
  }

  override move(dataId: DataId, values: backend_util.BackendValues, shape: number[], dtype: DataType,
                refCount: number): void {
    this.weightCache.arrived(dataId);
    super.move(dataId, values, shape, dtype, refCount);
    pool.stored(values, dataId);
  }

  override dispose(): void {
    this.weightCache.clear();
    super.dispose();
  }

  override floatPrecision(): 16|32 {
    return 32;
  }

  // Reads from outside kernels are what makes a traced function data-dependent (graph mode).
  // They also hand the stored array itself to the caller: it is never recycled (output-pool.ts).
  override readSync(dataId: DataId): BackendValues {
    noteRead(dataId);
    pool.retain(this.storedValues(dataId));
    return super.readSync(dataId);
  }

  override read(dataId: DataId): Promise<BackendValues> {
    noteRead(dataId);
    pool.retain(this.storedValues(dataId));
    return super.read(dataId);
  }
}

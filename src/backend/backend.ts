// SPDX-License-Identifier: Apache-2.0
// The afterburner KernelBackend: tfjs-backend-cpu's storage (tensor data lives in JS typed
// arrays, which native kernels read and write zero-copy) with native kernels registered on top.
import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';
import type {BackendValues, DataId} from '@tensorflow/tfjs-core';

import {noteRead} from '../graph/hook';

export const BACKEND_NAME = 'afterburner';
/** Above cpu (1), wasm (2) and webgl (2), so tfjs picks afterburner without a setBackend call. */
export const BACKEND_PRIORITY = 5;

export class AfterburnerBackend extends MathBackendCPU {
  constructor() {
    super();
    // MathBackendCPU prints a "install tfjs-node" hint on first use in Node; we are the fast path.
    (this as unknown as {firstUse: boolean}).firstUse = false;
  }

  override floatPrecision(): 16|32 {
    return 32;
  }

  // Reads from outside kernels are what makes a traced function data-dependent (graph mode).
  override readSync(dataId: DataId): BackendValues {
    noteRead(dataId);
    return super.readSync(dataId);
  }

  override read(dataId: DataId): Promise<BackendValues> {
    noteRead(dataId);
    return super.read(dataId);
  }
}

// SPDX-License-Identifier: Apache-2.0
// Shared plumbing for kernels: zero-copy data access, outputs, and the cpu fallback.
import {getKernel, KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {native, NativeBinding} from '../binding';
import {BACKEND_NAME} from './backend';
import {takeArray} from './output-pool';

export interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: MathBackendCPU;
  attrs?: NamedAttrMap;
}

/**
 * The float32 data of a tensor, without copying when it is stored as a Float32Array. tfjs-backend-cpu's
 * Cast from int32 or bool to float32 has no encoding loss, so it keeps the input's buffer (an
 * Int32Array or Uint8Array) under the new dtype: such data is converted here (a copy).
 */
export function f32(backend: MathBackendCPU, t: TensorInfo): Float32Array {
  return asF32(backend.data.get(t.dataId).values as ArrayLike<number>);
}

/** `values` as a Float32Array: itself, or converted as Float32Array.from(values) converts. */
export function asF32(values: ArrayLike<number>): Float32Array {
  if (values instanceof Float32Array) return values;
  // V8's Float32Array.from takes ~9 ns an element from a Uint8Array (11 ms for centernet's mask).
  if (native != null && values.length >= 64 && (values instanceof Uint8Array || values instanceof Int32Array)) {
    const out = new Float32Array(values.length);
    native.toF32(values, out);  // captured by a native plan: replays with the data of each run
    return out;
  }
  markJsCompute();
  return Float32Array.from(values as ArrayLike<number>);
}

/** False for an Int32Array holding a value beyond +-2^24 (not exact in float32). */
function exactInF32(values: unknown): boolean {
  if (!(values instanceof Int32Array)) return true;
  for (let i = 0; i < values.length; ++i) {
    const v = values[i];
    if (v > 16777216 || v < -16777216) return false;
  }
  return true;
}

/**
 * Graph mode's native executor (src/graph/native-plan.ts) replays a node's native calls only if
 * the node computed nothing in JS: kernels report JS-side computation on tensor data here.
 * `jsCompute.count` counts computations (cpu fallbacks, conversions); `jsCompute.reads`, while
 * the executor collects them, the tensors whose data a kernel used in JS (fine when constant).
 */
export const jsCompute: {count: number, reads: TensorInfo[]|null} = {count: 0, reads: null};

export function markJsCompute(): void {
  ++jsCompute.count;
}

export function markJsRead(...infos: Array<TensorInfo|null|undefined>): void {
  if (jsCompute.reads != null) for (const t of infos) if (t != null) jsCompute.reads.push(t);
}

/**
 * Graph mode's arena: while the executor runs a node it may hand out the node's planned arena
 * slot for its output (src/graph/executor.ts). Returns null to mean "allocate as usual".
 */
let outputAllocator: ((n: number) => Float32Array|null)|null = null;

export function setOutputAllocator(f: ((n: number) => Float32Array|null)|null): void {
  outputAllocator = f;
}

/**
 * The array a kernel writes its output into: the graph executor's arena slot, or one from the
 * eager output pool (output-pool.ts: recycled, so not zeroed — the kernel must write all of it).
 */
export function newOutput(n: number): Float32Array {
  return (outputAllocator != null ? outputAllocator(n) : null) ?? takeArray(n);
}

/** A new float32 tensor whose data is `values` (taken, not copied). */
export function output(backend: MathBackendCPU, shape: number[], values: Float32Array): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}

/** The cpu backend's implementation of a kernel (our backend stores data the same way). */
export function cpuKernel(name: string): KernelFunc {
  const k = getKernel(name, 'cpu');
  if (k == null) throw new Error(`afterburner: the cpu backend has no kernel '${name}'`);
  return k.kernelFunc;
}

/**
 * A kernel config that runs `run` natively when every listed input is float32 and the addon is
 * loaded, and the cpu kernel otherwise (int32, bool, complex64 inputs, or no addon).
 */
export function nativeKernel(
    name: string, inputNames: string[],
    run: (args: KernelArgs, nat: NativeBinding, fallback: KernelFunc) => TensorInfo | TensorInfo[]): KernelConfig {
  const fallback = cpuKernel(name);
  const jsFallback = ((args: never) => {
    markJsCompute();
    return (fallback as KernelFunc)(args);
  }) as KernelFunc;
  return {
    kernelName: name,
    backendName: BACKEND_NAME,
    kernelFunc: ((args: KernelArgs) => {
      if (native != null) {
        let allF32 = true;
        for (const n of inputNames) {
          const t = args.inputs[n];
          if (t == null) continue;
          if (t.dtype !== 'float32') {
            allF32 = false;
            continue;
          }
          const values = args.backend.data.get(t.dataId).values;
          if (!(values instanceof Int32Array)) continue;  // Uint8Array (bool Cast) widens exactly
          // A float32 tensor that Cast left as an Int32Array: tfjs-cpu computes on the exact
          // integers, a float32 kernel on rounded ones past 2^24. (The check reads the data in JS:
          // a native plan may replay the node only if it is constant.)
          markJsRead(t);
          if (!exactInF32(values)) allF32 = false;
        }
        if (allF32) return run(args, native, jsFallback);
      }
      return jsFallback(args as never);
    }) as unknown as KernelFunc,
  };
}

/**
 * A kernel config that runs `run` when the addon is loaded; `run` returns null to hand the call to
 * the cpu kernel (dtypes, storages or cases it does not handle natively).
 */
export function nativeOrCpu(
    name: string, run: (args: KernelArgs, nat: NativeBinding) => TensorInfo | TensorInfo[] | null): KernelConfig {
  const fallback = cpuKernel(name);
  return {
    kernelName: name,
    backendName: BACKEND_NAME,
    kernelFunc: ((args: KernelArgs) => {
      if (native != null) {
        const r = run(args, native);
        if (r != null) return r;
      }
      markJsCompute();  // the cpu kernel computes in JS: a native plan runs this node from JS
      return (fallback as KernelFunc)(args as never);
    }) as unknown as KernelFunc,
  };
}

export const sizeOf = util.sizeFromShape;

// SPDX-License-Identifier: Apache-2.0
// The kernel hook: every kernel registered for the afterburner backend is wrapped so that a tracer
// can observe the top-level kernel calls (a kernel calling another kernel is not observed) and the
// reads of tensor data made outside kernels (which make a function data-dependent). With no
// observer installed the wrapper costs one depth counter and one null check per kernel call.
import type {DataId, KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';

export interface KernelCall {
  name: string;
  inputs: NamedTensorInfoMap;
  attrs: NamedAttrMap|undefined;
  outputs: TensorInfo|TensorInfo[];
}

export interface KernelObserver {
  /** A top-level kernel call that returned. */
  call(c: KernelCall): void;
  /** Tensor data read outside any kernel (dataSync, data, arraySync, ...). */
  read(dataId: DataId): void;
  /**
   * Before a top-level kernel runs: outputs to return instead of running it, or undefined to run
   * it (a replay that checks an instantiated graph without computing, generalize.ts). call() is
   * still told, with these outputs.
   */
  replace?(name: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap|undefined): TensorInfo[]|undefined;
}

let observer: KernelObserver|null = null;
let depth = 0;

/** Installs `o` (or none) and returns the observer it replaces. */
export function setKernelObserver(o: KernelObserver|null): KernelObserver|null {
  const prev = observer;
  observer = o;
  return prev;
}

/** Whether a tracer is observing (graph mode's native executor then runs the kernels instead). */
export function observing(): boolean {
  return observer != null;
}

/** Called by the backend's read and readSync. */
export function noteRead(dataId: DataId): void {
  if (observer != null && depth === 0) observer.read(dataId);
}

/** `config` with its kernelFunc wrapped for observation (setupFunc and disposeFunc kept). */
export function observedKernel(config: KernelConfig): KernelConfig {
  const inner = config.kernelFunc;
  const name = config.kernelName;
  const kernelFunc = ((args: {inputs: NamedTensorInfoMap, attrs?: NamedAttrMap}) => {
    if (observer?.replace != null && depth === 0) {
      const outs = observer.replace(name, args.inputs, args.attrs);
      if (outs != null) {
        const outputs = outs.length === 1 ? outs[0] : outs;
        observer.call({name, inputs: args.inputs, attrs: args.attrs, outputs});
        return outputs;
      }
    }
    ++depth;
    let outputs: TensorInfo|TensorInfo[];
    try {
      outputs = (inner as (a: unknown) => TensorInfo|TensorInfo[])(args);
    } finally {
      --depth;
    }
    if (observer != null && depth === 0) observer.call({name, inputs: args.inputs, attrs: args.attrs, outputs});
    return outputs;
  }) as unknown as KernelFunc;
  // The kernel it wraps, for tests and tools that compare kernel functions.
  Object.defineProperty(kernelFunc, 'abInner', {value: inner});
  return {...config, kernelFunc};
}

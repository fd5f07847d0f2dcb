// SPDX-License-Identifier: Apache-2.0
// Shared by the data-movement kernels (Transpose, Slice, StridedSlice, Tile, PadV2, MirrorPad,
// Concat, GatherV2): float32 and int32 tensors move natively as 4-byte elements; bool, string and
// complex64 tensors, and the cases where tfjs-cpu shares the input's data instead of copying
// (contiguous slices, identity concat), run the cpu kernel.
import {KernelConfig, KernelFunc, slice_util, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {Data4, NativeBinding} from '../../binding';
import {asF32, cpuKernel, KernelArgs, markJsCompute, nativeOrCpu, newOutput} from '../kernel-utils';

/** A movement kernel: `run` natively, or (it returns null) the cpu kernel — kernel-utils' nativeOrCpu. */
export const movementKernel: (name: string, run: (args: KernelArgs, nat: NativeBinding) => TensorInfo | null) => KernelConfig = nativeOrCpu;

/**
 * The data of a float32 or int32 tensor as the cpu kernels' output arrays hold it. tfjs-cpu stores
 * some tensors in another array type (Cast int32 / bool -> float32 shares an Int32Array / Uint8Array;
 * ResizeNearestNeighbor of int32 images and bool -> int32 casts leave a Float32Array / Uint8Array
 * under int32): those are converted, as the cpu kernels' element-by-element copy into their
 * Float32Array / Int32Array output would. Null for other dtypes.
 */
export function data4(backend: MathBackendCPU, t: TensorInfo): Data4 | null {
  const values = backend.data.get(t.dataId).values;
  const plain = values instanceof Float32Array || values instanceof Int32Array || values instanceof Uint8Array;
  if (t.dtype === 'float32' && plain) return asF32(values);
  if (t.dtype === 'int32' && plain) return values instanceof Int32Array ? values : (markJsCompute(), Int32Array.from(values));
  return null;
}

/**
 * The output array of a float32 or int32 tensor of n elements. `sole`: the kernel's only output
 * (multi-output kernels take fresh arrays, so a later output never takes the first one's slot).
 */
export function newData4(dtype: string, n: number, sole = true): Float32Array | Int32Array {
  if (dtype === 'int32') return new Int32Array(n);
  // Graph mode's arena: the executor hands a node's first float32 allocation its planned slot.
  return sole ? newOutput(n) : new Float32Array(n);
}

/** Row-major strides of every dim (the last is 1). */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let n = 1;
  for (let k = shape.length - 1; k >= 0; --k) {
    s[k] = n;
    n *= shape[k];
  }
  return s;
}

export const product = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/** out = x viewed through (shape, offset, strides), as a new tensor of `outShape` (same size). */
export function stridedCopy(
    backend: MathBackendCPU, nat: NativeBinding, x: TensorInfo, xData: Data4, shape: readonly number[], offset: number,
    strides: readonly number[], outShape: number[], sole = true): TensorInfo {
  const out = newData4(x.dtype, product(shape), sole);
  nat.stridedCopy(xData, out, shape, offset, strides);
  return backend.makeTensorInfo(outShape, x.dtype, out);
}

const cpuSlice = cpuKernel('Slice');

/**
 * Slice(x, begin, size) with parsed, valid parameters: tfjs-cpu's shared view when the slice is
 * contiguous, else a native strided copy (null: the dtype or storage is not handled natively).
 */
export function sliceOrView(
    backend: MathBackendCPU, nat: NativeBinding, x: TensorInfo, begin: number[], size: number[], sole = true): TensorInfo | null {
  if (slice_util.isSliceContinous(x.shape, begin, size)) {
    return (cpuSlice as KernelFunc)({inputs: {x}, backend, attrs: {begin, size}} as never) as TensorInfo;
  }
  const xData = data4(backend, x);
  if (xData == null) return null;
  const xs = stridesOf(x.shape);
  return stridedCopy(backend, nat, x, xData, size, begin.reduce((o, b, k) => o + b * xs[k], 0), xs, size, sole);
}

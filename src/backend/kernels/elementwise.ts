// SPDX-License-Identifier: Apache-2.0
// Builders shared by the binary and unary kernel files.
import {backend_util, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {native, NativeBinding} from '../../binding';
import {BinaryOp, BinaryOpName, UnaryOp, UnaryOpName, WideBinaryOp, WideBinaryOpName} from '../../op-codes';
import {cpuKernel, f32, KernelArgs, markJsCompute, nativeKernel, newOutput, output, sizeOf} from '../kernel-utils';
import {BACKEND_NAME} from '../backend';

/**
 * A broadcasting binary kernel (numpy rules). float32 inputs stored as Float32Arrays run the float32
 * kernel; the ops tfjs-cpu also computes on int32 (WideBinaryOp) run the wide kernel for int32
 * tensors and for float32 tensors stored in another array (a Cast from int32 or bool keeps its
 * Int32Array / Uint8Array), computing as tfjs-cpu's JS does (float64 from the stored values, stored
 * as the output's typed array stores a number). Anything else is the cpu kernel.
 */
export function binaryKernel(name: BinaryOpName, inputs: [string, string] = ['a', 'b']): KernelConfig {
  const op = BinaryOp[name];
  const f32Path = nativeKernel(name, inputs, ({inputs: ins, backend}, nat) => {
    const a = ins[inputs[0]] as TensorInfo, b = ins[inputs[1]] as TensorInfo;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = newOutput(sizeOf(outShape));
    nat.binary(op, f32(backend, a), a.shape, f32(backend, b), b.shape, out, outShape);
    return output(backend, outShape, out);
  });
  if (!(name in WideBinaryOp)) return f32Path;
  const wideOp = WideBinaryOp[name as WideBinaryOpName];
  const f32Func = f32Path.kernelFunc;
  return {
    ...f32Path,
    kernelFunc: ((args: KernelArgs) => {
      if (native != null) {
        const r = runWide(name, wideOp, args, native, inputs, true);
        if (r != null) return r;
      }
      return (f32Func as unknown as (x: KernelArgs) => TensorInfo)(args);
    }) as unknown as KernelConfig['kernelFunc'],
  };
}

/** A binary kernel tfjs-cpu computes on any dtype and that has no float32 kernel here (FloorDiv, Mod): wide or cpu. */
export function wideKernel(name: WideBinaryOpName): KernelConfig {
  const wideOp = WideBinaryOp[name];
  const fallback = cpuKernel(name);
  return {
    kernelName: name,
    backendName: BACKEND_NAME,
    kernelFunc: ((args: KernelArgs) => {
      if (native != null) {
        const r = runWide(name, wideOp, args, native, ['a', 'b'], false);
        if (r != null) return r;
      }
      markJsCompute();  // the cpu kernel computes in JS: a native plan runs this node from JS
      return (fallback as unknown as (x: KernelArgs) => TensorInfo)(args);
    }) as unknown as KernelConfig['kernelFunc'],
  };
}

type WideArray = Float32Array|Int32Array|Uint8Array;
export const isWide = (v: unknown): v is WideArray => v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array;

/**
 * The wide kernel for float32/int32 inputs stored in typed arrays, or null. With `leaveF32`, two
 * float32 inputs both stored as Float32Arrays are left to the float32 kernel (null).
 * Output dtype as tfjs-cpu's binaryKernelFunc gives it: int32 for FloorDiv, a's dtype otherwise.
 */
function runWide(name: string, op: number, {inputs, backend}: KernelArgs, nat: NativeBinding, names: string[],
                 leaveF32: boolean): TensorInfo|null {
  const a = inputs[names[0]] as TensorInfo, b = inputs[names[1]] as TensorInfo;
  if (a == null || b == null) return null;
  const okDtype = (d: string) => d === 'float32' || d === 'int32';
  if (!okDtype(a.dtype) || !okDtype(b.dtype)) return null;
  const av = backend.data.get(a.dataId).values, bv = backend.data.get(b.dataId).values;
  if (!isWide(av) || !isWide(bv)) return null;
  if (leaveF32 && a.dtype === 'float32' && b.dtype === 'float32' && av instanceof Float32Array && bv instanceof Float32Array) return null;
  const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const dtype = name === 'FloorDiv' ? 'int32' : a.dtype;
  const n = sizeOf(outShape);
  const out = dtype === 'float32' ? newOutput(n) : new Int32Array(n);
  nat.binaryWide(op, av, a.shape, bv, b.shape, out, outShape);
  return backend.makeTensorInfo(outShape, dtype, out);
}

/** A float32 unary kernel; `alphaAttr` names the attribute passed as alpha (LeakyRelu). */
export function unaryKernel(name: UnaryOpName, alphaAttr?: string): KernelConfig {
  const op = UnaryOp[name];
  return nativeKernel(name, ['x'], ({inputs, backend, attrs}, nat) => {
    const x = inputs.x as TensorInfo;
    const out = newOutput(sizeOf(x.shape));
    const alpha = alphaAttr ? Number(attrs![alphaAttr]) : 0;
    nat.unary(op, f32(backend, x), out, alpha);
    return output(backend, x.shape.slice(), out);
  });
}

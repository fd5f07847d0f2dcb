// SPDX-License-Identifier: Apache-2.0
// NCHW support for the convolution kernels: x goes NCHW -> NHWC through the registered Transpose
// kernel of this backend (whichever implementation is registered, native or cpu), the NHWC native
// kernel runs, and the result goes back to NCHW. FusedConv2D's NCHW bias / PReLU weights follow
// tfjs-cpu: a 1-D operand of C values is per channel, a scalar is a scalar, and PReLU weights of
// another shape broadcast against the NCHW result (applied after the transpose back).
import {getKernel, KernelFunc, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import type {NativeBinding} from '../../binding';
import {Activation, ActivationName, BinaryOp, Operand} from '../../op-codes';
import {BACKEND_NAME} from '../backend';
import {f32, output, sizeOf} from '../kernel-utils';
import type {Epilogue} from './fused';

export const TO_NHWC = [0, 2, 3, 1];
export const TO_NCHW = [0, 3, 1, 2];

/**
 * Whether running an NCHW convolution natively between two transposes pays: always once a native
 * Transpose is registered on this backend; while it is still tfjs-cpu's element-by-element loop
 * (~100 ns an element here, against ~4-9 ns a multiply-add in tfjs-cpu's convolution loops), only
 * when the convolution's multiply-adds exceed 24x the elements transposed (measured crossover
 * 16-32: 1x1 32->32 at 56x56, ratio 16: cpu kernel 28 ms, transposes + native 36 ms; 1x1 64->64 at
 * 28x28, ratio 32: 29 against 19 ms; 3x3 64->64 at 56x56: 1100 against 81 ms).
 * AFTERBURNER_NCHW=native skips the estimate (the tests use it to reach the native path).
 */
export function nchwNativePays(macs: number, elementsTransposed: number): boolean {
  if (typeof process !== 'undefined' && process.env?.AFTERBURNER_NCHW === 'native') return true;
  const mine = getKernel('Transpose', BACKEND_NAME), cpu = getKernel('Transpose', 'cpu');
  if (mine == null || cpu == null || mine.kernelFunc !== cpu.kernelFunc) return true;
  return macs > 24 * elementsTransposed;
}

/** NCHW attrs' padding for the NHWC kernel: tfjs reads explicit pads in the data format's order. */
export function nhwcPad<P>(pad: P): P {
  return (Array.isArray(pad) ? [pad[0], pad[2], pad[3], pad[1]] : pad) as P;
}

/** x transposed by `perm` with this backend's registered Transpose kernel. */
export function transpose(backend: MathBackendCPU, x: TensorInfo, perm: number[]): TensorInfo {
  const k = getKernel('Transpose', BACKEND_NAME) ?? getKernel('Transpose', 'cpu');
  if (k == null) throw new Error('afterburner: no Transpose kernel is registered');
  return (k.kernelFunc as KernelFunc)({inputs: {x}, backend, attrs: {perm}}) as TensorInfo;
}

/** NHWC -> `run` -> NCHW: x is transposed in, the NHWC result transposed back, temporaries disposed. */
export function viaNHWC(backend: MathBackendCPU, x: TensorInfo, run: (xT: TensorInfo) => TensorInfo): TensorInfo {
  const xT = transpose(backend, x, TO_NHWC);
  let yT: TensorInfo;
  try {
    yT = run(xT);
  } finally {
    backend.disposeIntermediateTensorInfo(xT);
  }
  const y = transpose(backend, yT, TO_NCHW);
  backend.disposeIntermediateTensorInfo(yT);
  return y;
}

/** An NCHW operand's epilogue mode on C channels: scalar, row (one per channel) or -1 (does not fit). */
function nchwMode(t: TensorInfo, C: number, prelu: boolean): number {
  const s = t.shape;
  if (sizeOf(s) === 1 && s.length <= 4) return Operand.scalar;
  if (s.length === 1 && s[0] === C) return Operand.row;
  if (prelu && s.length === 3 && s[0] === C && s[1] === 1 && s[2] === 1) return Operand.row;
  return -1;
}

export interface NchwFused {
  bias?: TensorInfo;
  prelu?: TensorInfo;
  activation?: string;
  leakyreluAlpha?: number;
}

/**
 * FusedConv2D in NCHW: bias and activation go into the NHWC kernel's epilogue; PReLU weights that
 * are not per channel are applied to the NCHW result afterwards. Returns null when tfjs-cpu would
 * treat the operands in a way this does not reproduce (a bias that is not a scalar or C values,
 * PReLU weights whose broadcast changes the output shape): the caller then runs the cpu kernel.
 */
export function fusedNCHW(
    backend: MathBackendCPU, nat: NativeBinding, x: TensorInfo, C: number, outShape: number[], f: NchwFused,
    run: (xT: TensorInfo, ep: Epilogue) => TensorInfo): TensorInfo|null {
  const act = (f.activation ?? 'linear') as ActivationName;
  util.assert(act in Activation, () => `afterburner: unknown fused activation '${act}'`);
  const biasMode = f.bias ? nchwMode(f.bias, C, false) : Operand.none;
  if (biasMode < 0) return null;
  let slopeMode: number = Operand.none;
  let post = false;
  if (act === 'prelu') {
    if (f.prelu == null) return null;
    slopeMode = nchwMode(f.prelu, C, true);
    if (slopeMode < 0) {
      const s = f.prelu.shape;
      if (s.length === 1 || s.length > 4) return null;  // tfjs-cpu reshapes 1-D weights to [n, 1, 1]
      for (let i = 0; i < s.length; ++i) {
        const d = s[s.length - 1 - i], o = outShape[outShape.length - 1 - i];
        if (d !== 1 && d !== o) return null;  // broadcasting would change (or reject) the output shape
      }
      post = true;
    }
  }
  const ep: Epilogue = {
    bias: f.bias ? f32(backend, f.bias) : null, biasMode,
    act: post ? Activation.linear : Activation[act], alpha: f.leakyreluAlpha ?? 0.2,
    slope: act === 'prelu' && !post ? f32(backend, f.prelu!) : null, slopeMode: post ? Operand.none : slopeMode,
  };
  const y = viaNHWC(backend, x, (xT) => run(xT, ep));
  if (!post) return y;
  const out = new Float32Array(sizeOf(y.shape));
  nat.binary(BinaryOp.Prelu, f32(backend, y), y.shape, f32(backend, f.prelu!), f.prelu!.shape, out, y.shape);
  backend.disposeIntermediateTensorInfo(y);
  return output(backend, y.shape.slice(), out);
}

// SPDX-License-Identifier: Apache-2.0
// Fused epilogues (bias + activation) shared by _FusedMatMul and FusedConv2D: what fits the GEMM
// epilogue goes there; any other broadcast runs as native elementwise passes after the GEMM
// (same result, one more pass over the output).
import {backend_util, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import type {NativeBinding} from '../../binding';
import {Activation, ActivationName, BinaryOp, Operand, UnaryOp} from '../../op-codes';
import {f32, newOutput, output, sizeOf} from '../kernel-utils';

/** What the native epilogue gets (bias / slope as scalar, row of N or [M, N] matrix). */
export interface Epilogue {
  bias: Float32Array|null;
  biasMode: number;
  act: number;
  alpha: number;
  slope: Float32Array|null;
  slopeMode: number;
  /** A residual (the output's shape) added after the bias, before the activation; may be the output itself (in place). */
  addend?: Float32Array|null;
}

export const NO_EPILOGUE: Epilogue =
    {bias: null, biasMode: Operand.none, act: Activation.linear, alpha: 0, slope: null, slopeMode: Operand.none};

/**
 * The epilogue mode for an operand of `shape` broadcast onto an output whose last two dims are
 * [M, N] (matmul) — or, with M = -1, onto [..., N] by channel only (conv): -1 if none fits.
 */
export function operandMode(shape: number[], M: number, N: number): number {
  const size = sizeOf(shape);
  if (size === 1) return Operand.scalar;
  const r = shape.length;
  const lead1 = (k: number) => shape.slice(0, r - k).every((d) => d === 1);
  if (shape[r - 1] === N && lead1(1)) return Operand.row;
  if (M >= 0 && r >= 2 && shape[r - 1] === N && shape[r - 2] === M && lead1(2)) return Operand.matrix;
  return -1;
}

export interface FusedInputs {
  bias?: TensorInfo;
  prelu?: TensorInfo;
  activation?: string;
  leakyreluAlpha?: number;
  /** A residual of the output's shape: act(compute + bias + addend) (ab.FusedConv2DAdd). */
  addend?: TensorInfo;
}

/**
 * Runs `compute(epilogue)` (a native GEMM-based op producing `outShape`) with as much of the fused
 * bias/activation (and residual addend) in its epilogue as fits, and applies the rest afterwards
 * in the same order: bias, addend, activation.
 */
export function runFused(
    backend: MathBackendCPU, nat: NativeBinding, outShape: number[], M: number, N: number, f: FusedInputs,
    compute: (ep: Epilogue) => TensorInfo): TensorInfo {
  const act = (f.activation ?? 'linear') as ActivationName;
  util.assert(act in Activation, () => `afterburner: unknown fused activation '${act}'`);
  const alpha = f.leakyreluAlpha ?? 0.2;
  const {bias, prelu} = f;
  const biasMode = bias ? operandMode(bias.shape, M, N) : Operand.none;
  const slopeMode = prelu ? operandMode(prelu.shape, M, N) : Operand.none;
  const biasInEpilogue = biasMode >= 0;
  const actInEpilogue = biasInEpilogue && (act !== 'prelu' || slopeMode >= 0);
  const res = compute({
    bias: bias && biasInEpilogue ? f32(backend, bias) : null,
    biasMode: biasInEpilogue ? biasMode : Operand.none,
    act: actInEpilogue ? Activation[act] : Activation.linear,
    alpha,
    slope: actInEpilogue && act === 'prelu' ? f32(backend, prelu!) : null,
    slopeMode: actInEpilogue && act === 'prelu' ? slopeMode : Operand.none,
    addend: f.addend && biasInEpilogue ? f32(backend, f.addend) : null,
  });
  if (actInEpilogue) return res;
  let cur = res;
  if (bias && !biasInEpilogue) {
    const shape = backend_util.assertAndGetBroadcastShape(outShape, bias.shape);
    const out = newOutput(sizeOf(shape));
    nat.binary(BinaryOp.Add, f32(backend, cur), cur.shape, f32(backend, bias), bias.shape, out, shape);
    backend.disposeIntermediateTensorInfo(cur);
    cur = output(backend, shape, out);
  }
  if (f.addend && !biasInEpilogue) {
    const vals = f32(backend, cur);  // our own fresh output: safe to update in place
    nat.binary(BinaryOp.Add, vals, cur.shape, f32(backend, f.addend), f.addend.shape, vals, cur.shape);
  }
  if (act === 'prelu') {
    const out = newOutput(sizeOf(cur.shape));
    nat.binary(BinaryOp.Prelu, f32(backend, cur), cur.shape, f32(backend, prelu!), prelu!.shape, out, cur.shape);
    backend.disposeIntermediateTensorInfo(cur);
    cur = output(backend, cur.shape.slice(), out);
  } else if (act !== 'linear') {
    const vals = f32(backend, cur);  // our own fresh output: safe to update in place
    const op = act === 'relu' ? UnaryOp.Relu : act === 'relu6' ? UnaryOp.Relu6 : act === 'elu' ? UnaryOp.Elu :
        act === 'leakyrelu' ? UnaryOp.LeakyRelu : UnaryOp.Sigmoid;
    nat.unary(op, vals, vals, alpha);
  }
  return cur;
}

// SPDX-License-Identifier: Apache-2.0
// tf.fused.matMul: act(op(a) x op(b) + bias). Bias and prelu slopes that are a scalar, a row of N
// or one [M, N] matrix go into the GEMM epilogue; any other broadcast falls back to native
// elementwise kernels after the GEMM (same result, one more pass over the output).
import {_FusedMatMulAttrs, backend_util, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {Activation, ActivationName, BinaryOp, Operand, UnaryOp} from '../../op-codes';
import {f32, nativeKernel, output, sizeOf} from '../kernel-utils';
import {matmulShape, runMatMul} from './matmul';

/** The epilogue mode for an operand of `shape` broadcast onto [..., M, N], or -1 if none fits. */
export function operandMode(shape: number[], M: number, N: number): number {
  const size = sizeOf(shape);
  if (size === 1) return Operand.scalar;
  const r = shape.length;
  const lead1 = (k: number) => shape.slice(0, r - k).every((d) => d === 1);
  if (shape[r - 1] === N && (r === 1 || (shape[r - 2] === 1 && lead1(2)))) return Operand.row;
  if (r >= 2 && shape[r - 1] === N && shape[r - 2] === M && lead1(2)) return Operand.matrix;
  return -1;
}

function applyUnary(backend: MathBackendCPU, nat: NonNullable<typeof import('../../binding').native>, t: TensorInfo, act: ActivationName, alpha: number): void {
  const vals = f32(backend, t);
  const op = act === 'relu' ? UnaryOp.Relu : act === 'relu6' ? UnaryOp.Relu6 : act === 'elu' ? UnaryOp.Elu :
      act === 'leakyrelu' ? UnaryOp.LeakyRelu : UnaryOp.Sigmoid;
  nat.unary(op, vals, vals, alpha);
}

export const _FusedMatMulConfig = nativeKernel(
    '_FusedMatMul', ['a', 'b', 'bias', 'preluActivationWeights'], ({inputs, backend, attrs}, nat) => {
      const {transposeA, transposeB, activation, leakyreluAlpha} = attrs as unknown as _FusedMatMulAttrs;
      const a = inputs.a as TensorInfo, b = inputs.b as TensorInfo;
      const bias = inputs.bias as TensorInfo | undefined;
      const prelu = inputs.preluActivationWeights as TensorInfo | undefined;
      const act = (activation ?? 'linear') as ActivationName;
      util.assert(act in Activation, () => `afterburner: unknown fused activation '${act}'`);
      const {M, N, outShape} = matmulShape(a, b, transposeA, transposeB);
      const biasMode = bias ? operandMode(bias.shape, M, N) : Operand.none;
      const slopeMode = prelu ? operandMode(prelu.shape, M, N) : Operand.none;
      // Everything in the epilogue when bias fits and, for prelu, the slope fits too.
      const biasInEpilogue = biasMode >= 0;
      const actInEpilogue = biasInEpilogue && (act !== 'prelu' || slopeMode >= 0);
      const res = runMatMul(backend, nat, a, b, transposeA, transposeB, {
        bias: bias && biasInEpilogue ? f32(backend, bias) : null,
        biasMode: biasInEpilogue ? biasMode : Operand.none,
        act: actInEpilogue ? Activation[act] : Activation.linear,
        alpha: leakyreluAlpha ?? 0.2,
        slope: actInEpilogue && act === 'prelu' ? f32(backend, prelu!) : null,
        slopeMode: actInEpilogue && act === 'prelu' ? slopeMode : Operand.none,
      });
      if (actInEpilogue) return res;
      // General broadcasts: bias add, then the activation, as native elementwise passes.
      let cur = res;
      if (bias && !biasInEpilogue) {
        const outShape2 = backend_util.assertAndGetBroadcastShape(outShape, bias.shape);
        const out = new Float32Array(sizeOf(outShape2));
        nat.binary(BinaryOp.Add, f32(backend, cur), cur.shape, f32(backend, bias), bias.shape, out, outShape2);
        backend.disposeIntermediateTensorInfo(cur);
        cur = output(backend, outShape2.slice(), out);
      }
      if (act === 'prelu') {
        const out = new Float32Array(sizeOf(cur.shape));
        nat.binary(BinaryOp.Prelu, f32(backend, cur), cur.shape, f32(backend, prelu!), prelu!.shape, out, cur.shape);
        backend.disposeIntermediateTensorInfo(cur);
        cur = output(backend, cur.shape.slice(), out);
      } else if (act !== 'linear') {
        applyUnary(backend, nat, cur, act, leakyreluAlpha ?? 0.2);
      }
      return cur;
    });

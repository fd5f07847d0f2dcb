// SPDX-License-Identifier: Apache-2.0
// Shared by BatchMatMul and _FusedMatMul: shapes, batch broadcasting, the native GEMM call.
import {backend_util, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import type {NativeBinding} from '../../binding';
import {f32, newOutput, output, sizeOf} from '../kernel-utils';
import {weightCacheOf} from '../weight-cache';
import {Operand} from '../../op-codes';
import type {Epilogue} from './fused';

/** Output batch i -> operand batch index, for numpy broadcasting of the batch dims. */
function batchIndexMap(opShape: number[], outShape: number[]): Int32Array|null {
  const opSize = sizeOf(opShape), outSize = sizeOf(outShape);
  if (opSize === outSize || opSize === 1) return null;  // identity, or the single batch
  const rank = outShape.length, off = rank - opShape.length;
  const map = new Int32Array(outSize);
  const outStrides = util.computeStrides(outShape);
  const opStrides = util.computeStrides(opShape);
  for (let i = 0; i < outSize; ++i) {
    let rem = i, idx = 0;
    for (let d = 0; d < rank; ++d) {
      const coord = d < rank - 1 ? Math.floor(rem / outStrides[d]) : rem;
      if (d < rank - 1) rem -= coord * outStrides[d];
      const od = d - off;
      if (od >= 0 && opShape[od] !== 1) idx += coord * (od < opShape.length - 1 ? opStrides[od] : 1);
    }
    map[i] = idx;
  }
  return map;
}

export interface MatMulShape {
  M: number;
  N: number;
  K: number;
  outShape: number[];
  batch: number;
}

export function matmulShape(a: TensorInfo, b: TensorInfo, transA: boolean, transB: boolean): MatMulShape {
  const ra = a.shape.length, rb = b.shape.length;
  const M = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const K2 = transB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  util.assert(K === K2, () => `Error in matMul: inner shapes (${K}) and (${K2}) of Tensors with shapes ` +
      `${a.shape} and ${b.shape} and transposeA=${transA} and transposeB=${transB} must match.`);
  const batchShape = backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return {M, N, K, outShape: [...batchShape, M, N], batch: sizeOf(batchShape)};
}

/** out = epilogue(op(a) x op(b)) with tfjs batch broadcasting, in one native call. */
export function runMatMul(
    backend: MathBackendCPU, nat: NativeBinding, a: TensorInfo, b: TensorInfo, transA: boolean,
    transB: boolean, ep: Epilogue): TensorInfo {
  const s = matmulShape(a, b, transA, transB);
  const batchShape = s.outShape.slice(0, -2);
  const out = newOutput(s.batch * s.M * s.N);
  // A weight marked bf16 (toBf16Weight) as the one B matrix: the bf16 GEMM, at any M.
  const wc = s.K > 0 && s.N > 0 && sizeOf(b.shape.slice(0, -2)) === 1 ? weightCacheOf(backend) : null;
  // A weight marked int8 / int4 (quantizeWeight) as the one B matrix: the quantized GEMM, at any M.
  const qb = wc ? wc.quant(nat, b, s.K, s.N, transB) : null;
  if (qb) {
    runPackedGemm(nat, f32(backend, a), qb, out, s, transA, ep, nat.quantGemm.bind(nat));
    return output(backend, s.outShape, out);
  }
  const bf = wc ? wc.bf16(nat, b, s.K, s.N, transB) : null;
  if (bf) {
    runPackedGemm(nat, f32(backend, a), bf, out, s, transA, ep);
    return output(backend, s.outShape, out);
  }
  // A weight used again (one B matrix for every batch, a GEMM on the blocked path) is prepacked.
  const cache = s.M > 1 && s.N > 1 && s.K > 0 && sizeOf(b.shape.slice(0, -2)) === 1 ? weightCacheOf(backend) : null;
  const packed = cache ? cache.f32(nat, b, s.K, s.N, transB) : null;
  nat.matmul(
      f32(backend, a), f32(backend, b), out, s.batch, s.M, s.N, s.K, transA, transB,
      batchIndexMap(a.shape.slice(0, -2), batchShape), batchIndexMap(b.shape.slice(0, -2), batchShape),
      ep.bias, ep.biasMode, ep.act, ep.alpha, ep.slope, ep.slopeMode, packed, ep.addend ?? null);
  return output(backend, s.outShape, out);
}

/**
 * out = epilogue(op(a) x B) with B packed bf16 (or quantized, with gemm = quantGemm: the same
 * signature); one matrix for every batch; a's batch is out's.
 */
function runPackedGemm(nat: NativeBinding, a: Float32Array, packed: ArrayBuffer, out: Float32Array, s: MatMulShape,
                 transA: boolean, ep: Epilogue, gemm: NativeBinding['bf16Gemm'] = nat.bf16Gemm.bind(nat)): void {
  const {M, N, K, batch} = s;
  if (ep.addend) throw new Error('afterburner: the bf16 / int8 / int4 GEMM takes no addend (ab.FusedMatMulAdd runs unfused there)');
  if (batch === 1 || (!transA && ep.biasMode !== Operand.matrix && ep.slopeMode !== Operand.matrix)) {
    // the batches of a (not transposed) are one (batch * M) x K matrix
    gemm(a, packed, out, batch * M, N, K, transA, ep.bias, ep.biasMode, ep.act, ep.alpha, ep.slope, ep.slopeMode);
    return;
  }
  for (let i = 0; i < batch; ++i) {
    gemm(
        a.subarray(i * M * K, (i + 1) * M * K), packed, out.subarray(i * M * N, (i + 1) * M * N), M, N, K, transA,
        ep.bias, ep.biasMode, ep.act, ep.alpha, ep.slope, ep.slopeMode);
  }
}

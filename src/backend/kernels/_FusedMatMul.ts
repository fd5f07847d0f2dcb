// SPDX-License-Identifier: Apache-2.0
// tf.fused.matMul: act(op(a) x op(b) + bias), the epilogue fused into the GEMM where it fits.
import {_FusedMatMulAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {nativeKernel} from '../kernel-utils';
import {runFused} from './fused';
import {matmulShape, runMatMul} from './matmul';

export const _FusedMatMulConfig = nativeKernel(
    '_FusedMatMul', ['a', 'b', 'bias', 'preluActivationWeights'], ({inputs, backend, attrs}, nat) => {
      const {transposeA, transposeB, activation, leakyreluAlpha} = attrs as unknown as _FusedMatMulAttrs;
      const a = inputs.a as TensorInfo, b = inputs.b as TensorInfo;
      const {M, N, outShape} = matmulShape(a, b, transposeA, transposeB);
      return runFused(
          backend, nat, outShape, M, N,
          {bias: inputs.bias as TensorInfo, prelu: inputs.preluActivationWeights as TensorInfo, activation, leakyreluAlpha},
          (ep) => runMatMul(backend, nat, a, b, transposeA, transposeB, ep));
    });

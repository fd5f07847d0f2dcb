// SPDX-License-Identifier: Apache-2.0
// tf.matMul: [..., M, K] x [..., K, N] with transposes and broadcast batch dims, on the GEMM engine.
import {BatchMatMulAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {nativeKernel} from '../kernel-utils';
import {NO_EPILOGUE} from './fused';
import {runMatMul} from './matmul';

export const BatchMatMulConfig = nativeKernel('BatchMatMul', ['a', 'b'], ({inputs, backend, attrs}, nat) => {
  const {transposeA, transposeB} = attrs as unknown as BatchMatMulAttrs;
  return runMatMul(backend, nat, inputs.a as TensorInfo, inputs.b as TensorInfo, transposeA, transposeB, NO_EPILOGUE);
});

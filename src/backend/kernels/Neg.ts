// SPDX-License-Identifier: Apache-2.0
// Neg: float32 data in a Float32Array runs the float32 unary kernel. tfjs-cpu computes Neg as
// multiplyImpl(-1, x) in float64 (int32: -INT32_MIN wraps to INT32_MIN): int32 tensors and float32
// ones stored in an Int32Array / Uint8Array (Cast) run that product on the wide kernel.
import {KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {native} from '../../binding';
import {WideBinaryOp} from '../../op-codes';
import {KernelArgs, newOutput, sizeOf} from '../kernel-utils';
import {isWide, unaryKernel} from './elementwise';

const f32Path = unaryKernel('Neg');
const MINUS_ONE = Int32Array.of(-1);

export const NegConfig: KernelConfig = {
  ...f32Path,
  kernelFunc: ((args: KernelArgs) => {
    const x = args.inputs.x as TensorInfo;
    const vals = args.backend.data.get(x.dataId).values;
    if (native != null && (x.dtype === 'int32' || (x.dtype === 'float32' && !(vals instanceof Float32Array))) && isWide(vals)) {
      const n = sizeOf(x.shape);
      const out = x.dtype === 'float32' ? newOutput(n) : new Int32Array(n);
      native.binaryWide(WideBinaryOp.Multiply, MINUS_ONE, [], vals, x.shape, out, x.shape);
      return args.backend.makeTensorInfo(x.shape.slice(), x.dtype, out);
    }
    return (f32Path.kernelFunc as unknown as (a: KernelArgs) => TensorInfo)(args);
  }) as unknown as KernelConfig['kernelFunc'],
};

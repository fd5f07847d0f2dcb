// SPDX-License-Identifier: Apache-2.0
// Builders shared by the binary and unary kernel files.
import {backend_util, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {BinaryOp, BinaryOpName, UnaryOp, UnaryOpName} from '../../op-codes';
import {f32, nativeKernel, newOutput, output, sizeOf} from '../kernel-utils';

/** A broadcasting float32 binary kernel (numpy rules), native for float32 inputs. */
export function binaryKernel(name: BinaryOpName, inputs: [string, string] = ['a', 'b']): KernelConfig {
  const op = BinaryOp[name];
  return nativeKernel(name, inputs, ({inputs: ins, backend}, nat) => {
    const a = ins[inputs[0]] as TensorInfo, b = ins[inputs[1]] as TensorInfo;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = newOutput(sizeOf(outShape));
    nat.binary(op, f32(backend, a), a.shape, f32(backend, b), b.shape, out, outShape);
    return output(backend, outShape, out);
  });
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

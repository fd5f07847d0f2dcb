// SPDX-License-Identifier: Apache-2.0
// Shared by Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual (bool outputs, Uint8Array 0/1
// as tfjs-cpu stores bool), and the helper the selection kernels (TopK, AddN, GatherNd) use.
// tfjs-cpu compares the stored values as they are: the native kernel runs when both inputs are
// stored as Float32Array or both as Int32Array (whatever their dtype says: a float32 tensor made by
// Cast from int32 keeps its Int32Array, and its values beyond 2^24 must not be rounded). Anything
// else (bool, string, complex, mixed storage) runs the cpu kernel.
import {backend_util, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {CompareOp, CompareOpName} from '../../op-codes';
import {nativeOrCpu, sizeOf} from '../kernel-utils';

export {nativeOrCpu};

export function compareKernel(name: CompareOpName): KernelConfig {
  const op = CompareOp[name];
  return nativeOrCpu(name, ({inputs, backend}, nat) => {
    const a = inputs.a as TensorInfo, b = inputs.b as TensorInfo;
    if ((a.dtype !== 'float32' && a.dtype !== 'int32') || (b.dtype !== 'float32' && b.dtype !== 'int32')) return null;
    const av = backend.data.get(a.dataId).values, bv = backend.data.get(b.dataId).values;
    const both = (av instanceof Float32Array && bv instanceof Float32Array) || (av instanceof Int32Array && bv instanceof Int32Array);
    if (!both) return null;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = new Uint8Array(sizeOf(outShape));
    nat.compare(op, av as Float32Array | Int32Array, a.shape, bv as Float32Array | Int32Array, b.shape, out, outShape);
    return backend.makeTensorInfo(outShape, 'bool', out);
  });
}

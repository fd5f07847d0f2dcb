// SPDX-License-Identifier: Apache-2.0
// 'AbUpdateSlice' (our kernel; tfjs has none): x with `update` written at `start`, an int32 tensor
// of x's rank, each entry clamped so that the update fits (XLA's DynamicUpdateSlice). It is the
// state write of a decoder step — a KV cache's new row at position pos. Natively the position is
// read when the op runs, so a compiled plan replays it with each run's position. Registered for
// the cpu backend too (a JS implementation: the reference, and the fallback without the addon).
import {getKernel, KernelConfig, KernelFunc, registerKernel, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {KernelArgs, markJsCompute, nativeOrCpu, newOutput} from '../kernel-utils';

export const UPDATE_SLICE = 'AbUpdateSlice';

/** Clamped start of each dim (the update fits). */
function clampedStart(start: ArrayLike<number>, shape: readonly number[], upd: readonly number[]): number[] {
  return shape.map((d, i) => Math.min(Math.max(Math.trunc(start[i]), 0), d - upd[i]));
}

function updateSliceJs({inputs, backend}: {inputs: {[k: string]: TensorInfo}, backend: MathBackendCPU}): TensorInfo {
  const {x, update, start} = inputs;
  const xs = backend.data.get(x.dataId).values as ArrayLike<number>;
  const us = backend.data.get(update.dataId).values as ArrayLike<number>;
  const s = clampedStart(backend.data.get(start.dataId).values as ArrayLike<number>, x.shape, update.shape);
  const out = x.dtype === 'int32' ? Int32Array.from(xs) : Float32Array.from(xs);
  const xStrides = util.computeStrides(x.shape), uStrides = util.computeStrides(update.shape);
  const r = x.shape.length;
  for (let k = 0; k < us.length; ++k) {
    const loc = util.indexToLoc(k, r, uStrides);
    out[util.locToIndex(loc.map((c, i) => c + s[i]), r, xStrides)] = us[k];
  }
  return backend.makeTensorInfo(x.shape, x.dtype, out);
}

if (getKernel(UPDATE_SLICE, 'cpu') == null) {
  registerKernel({kernelName: UPDATE_SLICE, backendName: 'cpu', kernelFunc: updateSliceJs as unknown as KernelFunc});
}

export const AbUpdateSliceConfig: KernelConfig = nativeOrCpu(UPDATE_SLICE, ({inputs, backend}: KernelArgs, nat) => {
  const {x, update, start} = inputs as {[k: string]: TensorInfo};
  const xs = backend.data.get(x.dataId).values, us = backend.data.get(update.dataId).values;
  let st = backend.data.get(start.dataId).values;
  const f32 = x.dtype === 'float32' && xs instanceof Float32Array && us instanceof Float32Array;
  const i32 = x.dtype === 'int32' && xs instanceof Int32Array && us instanceof Int32Array;
  if (!(f32 || i32) || x.shape.length < 1 || x.shape.length > 8) return null;
  if (!(st instanceof Int32Array)) {
    markJsCompute();
    st = Int32Array.from(st as ArrayLike<number>);
  }
  const out = f32 ? newOutput((xs as Float32Array).length) : new Int32Array((xs as Int32Array).length);
  nat.updateSlice(xs as Float32Array, x.shape, us as Float32Array, update.shape, st as Int32Array, out);
  return backend.makeTensorInfo(x.shape, x.dtype, out);
});

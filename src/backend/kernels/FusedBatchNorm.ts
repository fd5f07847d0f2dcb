// SPDX-License-Identifier: Apache-2.0
// tf.batchNorm: y = offset + (x - mean) * scale / sqrt(variance + eps). tfjs-cpu cycles each
// parameter over the flat data; when every parameter has 1 or C values and C divides x's size,
// that is y = x * a[i % C] + b[i % C] with a = scale / sqrt(variance + eps) and
// b = offset - mean * a, folded here in float64 and run as one native pass. Otherwise the cpu
// kernel runs.
import {FusedBatchNormAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {f32, markJsRead, nativeKernel, newOutput, output, sizeOf} from '../kernel-utils';

export const FusedBatchNormConfig = nativeKernel(
    'FusedBatchNorm', ['x', 'mean', 'variance', 'offset', 'scale'], (args, nat, fallback) => {
      const {inputs, backend} = args;
      const x = inputs.x as TensorInfo, mean = inputs.mean as TensorInfo, variance = inputs.variance as TensorInfo;
      const offset = inputs.offset as TensorInfo | undefined, scale = inputs.scale as TensorInfo | undefined;
      const eps = (args.attrs as unknown as FusedBatchNormAttrs).varianceEpsilon ?? 0.001;
      const params = [mean, variance, offset, scale].filter((t): t is TensorInfo => t != null);
      const C = Math.max(...params.map((t) => sizeOf(t.shape)));
      const n = sizeOf(x.shape);
      if (C < 1 || n % C !== 0 || params.some((t) => sizeOf(t.shape) !== 1 && sizeOf(t.shape) !== C) ||
          mean.shape.length !== variance.shape.length) {
        return fallback(args as never);
      }
      const at = (v: Float32Array | null, c: number, dflt: number) => (v == null ? dflt : v.length === 1 ? v[0] : v[c]);
      markJsRead(mean, variance, offset, scale);  // folded in JS: graph mode's native executor replays it only for constants
      const m = f32(backend, mean), v = f32(backend, variance);
      const o = offset ? f32(backend, offset) : null, s = scale ? f32(backend, scale) : null;
      const a = new Float32Array(C), b = new Float32Array(C);
      for (let c = 0; c < C; ++c) {
        const ac = at(s, c, 1) / Math.sqrt(at(v, c, 0) + eps);
        a[c] = ac;
        b[c] = at(o, c, 0) - at(m, c, 0) * ac;
      }
      const out = newOutput(n);
      nat.channelAffine(f32(backend, x), a, b, out, C);
      return output(backend, x.shape.slice(), out);
    });

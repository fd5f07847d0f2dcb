// SPDX-License-Identifier: Apache-2.0
// Softmax over the last axis (the only axis tfjs's softmax op uses).
import {SoftmaxAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {f32, nativeKernel, newOutput, output, sizeOf} from '../kernel-utils';

export const SoftmaxConfig = nativeKernel('Softmax', ['logits'], (args, nat, fallback) => {
  const {inputs, backend, attrs} = args;
  const logits = inputs.logits as TensorInfo;
  const rank = logits.shape.length;
  const {dim} = attrs as unknown as SoftmaxAttrs;
  if (rank === 0 || (dim !== -1 && dim !== rank - 1)) return fallback(args as never);
  const cols = logits.shape[rank - 1];
  const rows = cols === 0 ? 0 : sizeOf(logits.shape) / cols;
  const out = newOutput(sizeOf(logits.shape));
  nat.softmax(f32(backend, logits), out, rows, cols);
  return output(backend, logits.shape.slice(), out);
});

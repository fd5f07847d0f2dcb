// SPDX-License-Identifier: Apache-2.0
// The native thread pool under churn: thread counts changing between calls (workers created
// mid-stream, more threads than cores, jobs using fewer threads than the pool has), checked for
// hangs (timeout) and for results identical to the one-thread result.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import * as tf from '@tensorflow/tfjs-core';
import * as ab from '../dist/esm/index.js';

test('thread counts changing between parallel calls: no hang, same results', {timeout: 120000}, () => {
  const initial = ab.getNumThreads();
  try {
    const a = tf.randomUniform([96, 300], -1, 1, 'float32', 1), b = tf.randomUniform([300, 200], -1, 1, 'float32', 2);
    const x = tf.randomUniform([1 << 20], -1, 1, 'float32', 3);
    ab.setNumThreads(1);
    const refMm = tf.matMul(a, b).dataSync().slice();
    const refExp = tf.exp(x).dataSync().slice();
    const counts = [2, 1, 3, 4, 2, 8, 1, 2, 5, 2];
    for (let iter = 0; iter < 120; ++iter) {
      ab.setNumThreads(counts[iter % counts.length]);
      const mm = tf.matMul(a, b), e = tf.exp(x);
      assert.deepEqual(mm.dataSync(), refMm, `matMul differs at iteration ${iter} (${ab.getNumThreads()} threads)`);
      if (iter % 10 === 0) assert.deepEqual(e.dataSync(), refExp, `exp differs at iteration ${iter}`);
      tf.dispose([mm, e]);
    }
    tf.dispose([a, b, x]);
  } finally {
    ab.setNumThreads(initial);
  }
});

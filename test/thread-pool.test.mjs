// SPDX-License-Identifier: Apache-2.0
// The native thread pool under churn: thread counts changing between calls (workers created
// mid-stream, more threads than cores, jobs using fewer threads than the pool has), checked for
// hangs (timeout) and for results identical to the one-thread result.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

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

test('back-to-back jobs, wide then narrow, many more threads than cores: no hang, every task in its own job', () => {
  // A worker late from a wide job (16 threads) used to be able to enter the next, narrower job
  // with the old thread count and claim more indices than that job had: its `remaining` never
  // reached 0 and the caller spun forever (seen on the 16-core Xeon; reproduced on 2 cores with
  // 16 threads in a few thousand jobs). Run in a child process so that a hang fails this test.
  const addon = fileURLToPath(new URL(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node', import.meta.url));
  for (const [jobs, threads] of [[20000, 16], [20000, 4], [20000, 3]]) {
    const r = spawnSync(process.execPath, ['-e', `process.stdout.write(String(require(${JSON.stringify(addon)}).poolStress(${jobs}, ${threads})))`],
                        {timeout: 60000, encoding: 'utf8'});
    assert.equal(r.signal, null, `poolStress(${jobs}, ${threads}) hung (killed after 60 s)`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '0', `poolStress(${jobs}, ${threads}): task calls outside their job`);
  }
});

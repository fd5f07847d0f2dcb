// SPDX-License-Identifier: Apache-2.0
// Every native kernel, called through tfjs on the afterburner backend, against a float64
// reference, at every ISA level this machine can run and at 1 and 2 threads.
// The cases are one declarative table (test/lib/op-cases.mjs).
import assert from 'node:assert/strict';
import {test} from 'node:test';

import * as tf from '@tensorflow/tfjs-core';
import * as ab from '../dist/esm/index.js';

import {compareDot, compareElementwise} from './lib/reference.mjs';
import {opCases} from './lib/op-cases.mjs';

const levels = ab.isa.effective();
const initialLevel = ab.isa.current();
const initialThreads = ab.getNumThreads();

test('afterburner is the active backend with native kernels', () => {
  assert.equal(tf.getBackend(), 'afterburner');
  assert.ok(ab.info().native, 'native addon loaded');
  assert.ok(levels.length >= 1);
});

for (const c of opCases) {
  test(`${c.kernel}: ${c.name}`, () => {
    const {inputs, expected, check} = c.build();
    try {
      for (const level of levels) {
        ab.isa.set(level);
        for (const threads of [1, 2]) {
          ab.setNumThreads(threads);
          const before = tf.memory().numTensors;
          const ts = inputs.map(({data, shape}) => tf.tensor(data, shape, 'float32'));
          const out = c.run(tf, ...ts);
          assert.deepEqual(out.shape, expected.shape, `shape at ${level}/${threads}t`);
          assert.equal(out.dtype, c.outDtype ?? 'float32');
          const got = out.dataSync();
          const err = check.kind === 'dot' ?
              compareDot(got, expected.data, expected.abs, check.k, check.epilogueUlps) :
              compareElementwise(got, expected.data, check);
          assert.equal(err, null, `${c.kernel} ${c.name} at ${level}, ${threads} thread(s): ${err}`);
          tf.dispose([...ts, out]);
          assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
        }
      }
    } finally {
      ab.isa.set(initialLevel);
      ab.setNumThreads(initialThreads);
    }
  });
}

test('op cases cover every native kernel', () => {
  const covered = new Set(opCases.map((c) => c.kernel));
  const missing = ab.info().nativeKernels.filter((k) => !covered.has(k));
  assert.deepEqual(missing, [], `kernels without op cases: ${missing}`);
});

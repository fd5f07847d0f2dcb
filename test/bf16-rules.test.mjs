// SPDX-License-Identifier: Apache-2.0
// The bf16 dispatch rule (src/backend/bf16-rules.ts): a conv2d whose filter is marked bf16 runs in
// f32 where bf16 measured slower (1x1 stride-1 with one output channel; <= 4 output channels where
// the f32 narrow path applies), else in bf16. Checked by
// the bits: a rule-kept conv gives exactly the f32 conv's output (of an unmarked copy of the filter),
// a bf16 one exactly conv2dBf16's on the addon.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {quietCpu, tf} from './lib/models.mjs';

const require = createRequire(import.meta.url);
const wc = require('../dist/cjs/backend/weight-cache.js');
const {bf16ConvPays} = require('../dist/cjs/backend/bf16-rules.js');
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');

quietCpu();
await tf.setBackend('afterburner');

function sameBits(x, y, label) {
  const a = new Uint32Array(x.buffer, x.byteOffset, x.length), b = new Uint32Array(y.buffer, y.byteOffset, y.length);
  assert.equal(a.length, b.length, label);
  for (let i = 0; i < a.length; ++i) if (a[i] !== b[i]) assert.fail(`${label}: [${i}] ${x[i]} vs ${y[i]}`);
}
const differs = (x, y) => x.some((v, i) => v !== y[i]);

const info = (x, f, s, pad) => tf.backend_util.computeConv2DInfo(x, f, s, 1, pad);

test('bf16ConvPays: f32 for 1x1 stride-1 convolutions to one channel and for the f32 narrow path (<= 4 channels)', () => {
  assert.equal(bf16ConvPays(info([1, 48, 48, 96], [1, 1, 96, 1], 1, 'valid')), false);
  assert.equal(bf16ConvPays(info([2, 8, 8, 16], [1, 1, 16, 1], 1, 'same')), false);
  assert.equal(bf16ConvPays(info([2, 8, 8, 8], [1, 1, 8, 1], 1, 'same')), false, '1x1 to one channel, short runs');
  assert.equal(bf16ConvPays(info([1, 48, 48, 96], [1, 1, 96, 2], 1, 'valid')), false, 'two output channels: narrow');
  assert.equal(bf16ConvPays(info([1, 48, 48, 96], [3, 3, 96, 1], 1, 'same')), false, '3x3 to one channel: narrow');
  assert.equal(bf16ConvPays(info([1, 256, 256, 8], [3, 3, 8, 1], 1, 'same')), false, 'blazepose head');
  assert.equal(bf16ConvPays(info([1, 48, 48, 96], [1, 1, 96, 1], 2, 'valid')), false, 'stride 2: narrow');
  assert.equal(bf16ConvPays(info([1, 48, 48, 4], [3, 3, 4, 2], 1, 'same')), true, 'runs of 12 floats: no narrow path');
  assert.equal(bf16ConvPays(info([1, 48, 48, 96], [3, 3, 96, 5], 1, 'same')), true, 'five output channels');
  assert.equal(bf16ConvPays(info([1, 56, 56, 64], [3, 3, 64, 64], 1, 'same')), true);
});

test('a marked filter: the rule-kept conv gives the f32 bits, the others the bf16 bits (conv2d and fused)', () => {
  const cases = [
    {x: [1, 12, 10, 24], f: [1, 1, 24, 1], bf16: false},
    {x: [1, 12, 10, 24], f: [1, 1, 24, 2], bf16: false},
    {x: [1, 12, 10, 24], f: [3, 3, 24, 1], bf16: false},
    {x: [1, 12, 10, 24], f: [3, 3, 24, 5], bf16: true},
    {x: [1, 12, 10, 4], f: [3, 3, 4, 2], bf16: true},
  ];
  for (const c of cases) {
    for (const fused of [false, true]) {
      const x = tf.randomNormal(c.x), fv = tf.randomNormal(c.f);
      const marked = tf.add(fv, 0), plain = tf.add(fv, 0);  // data of their own
      assert.equal(wc.toBf16Weight(marked, 'conv2d'), true);
      const bias = tf.randomNormal([c.f[3]]);
      const run = (f) => (fused ?
        tf.fused.conv2d({x, filter: f, strides: 1, pad: 'same', bias, activation: 'relu'}) :
        tf.conv2d(x, f, 1, 'same')).dataSync();
      const got = run(marked), f32 = run(plain);
      const label = `${c.f.join('x')} ${fused ? 'fused' : 'conv2d'}`;
      const [fh, fw, ci, co] = c.f, [, H, W] = c.x;
      const pt = Math.floor((fh - 1) / 2), pl = Math.floor((fw - 1) / 2);
      const bf = new Float32Array(H * W * co);
      nat.conv2dBf16(x.dataSync(), nat.bf16Pack(fv.dataSync(), fh * fw * ci, co, false), bf,
          [1, H, W, ci, H, W, co, fh, fw, 1, 1, 1, 1, pt, pl], fused ? bias.dataSync() : null, fused ? 2 : 0,
          fused ? 1 : 0, 0, null, 0);
      assert.ok(differs(bf, f32), `${label}: bf16 and f32 differ somewhere`);
      sameBits(got, c.bf16 ? bf : f32, `${label}: ${c.bf16 ? 'bf16' : 'kept in f32'}`);
      tf.dispose([x, fv, marked, plain, bias]);
    }
  }
});

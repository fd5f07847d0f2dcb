// SPDX-License-Identifier: Apache-2.0
// conv2d to few output channels (<= 4): the narrow path (a dot product per output,
// native/kernels/conv_narrow_kernel.cc; avx512 and up), on random geometries: strides, dilation
// along the height, 'same' / 'valid' / explicit padding, 1x1 included, batch 2, every epilogue
// (bias per channel or scalar, relu6, sigmoid, leakyrelu, prelu, a residual addend, written in
// place over the addend). Checked against a float64 reference with a bound by K, against the
// direct path (forced), 2 threads bitwise equal to 1, and taps outside the input skipped (an
// Inf weight that meets only padding gives no NaN).
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {ACT} from './lib/gemm-ref.mjs';
import {checkConv as check, CONV_EPILOGUES as EPILOGUES, convCase, convGeometry, convReference as reference, runConv} from './lib/conv-ref.mjs';
import {LADDER, nativeKit, sameBits, withConvMode} from './lib/native-kit.mjs';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');
const {rnd, randArray, withLevel, withThreads} = nativeKit(nat, 8080);
const cpuMax = LADDER.indexOf(nat.isaCpu());
const LEVELS = nat.isaBuiltLevels().filter((l) => LADDER.indexOf(l) <= cpuMax && l !== 'amx');
const irand = (lo, hi) => lo + Math.floor((rnd() + 1) / 2 * (hi - lo + 1) - 1e-9);

test('conv2d to <= 4 channels: float64 reference, the direct path, threads and in place, at every level', () => {
  const cases = [];
  for (let i = 0; i < 60; ++i) {
    // out_c 1..4, runs f_w * C >= 16
    const d = convGeometry(rnd, {outC: () => irand(1, 4)});
    cases.push(convCase(randArray, d, EPILOGUES[i % EPILOGUES.length]));
  }
  // The blazepose head (3x3 8 -> 1, sigmoid) at a size with interior groups of four.
  {
    const d = [1, 20, 37, 8, 20, 37, 1, 3, 3, 1, 1, 1, 1, 1, 1], epi = {act: ACT.sigmoid, bias: 'row'};
    const c = {d, epi, x: randArray(20 * 37 * 8), w: randArray(72), bias: randArray(1)};
    c.ref = reference(c.x, c.w, d, c);
    cases.push(c);
  }
  for (const level of LEVELS) {
    withLevel(level, () => {
      for (const c of cases) {
        const label = `${level} ${JSON.stringify(c.d)} act ${c.epi.act}${c.bias ? ' bias' : ''}${c.addend ? ' addend' : ''}`;
        const y1 = withThreads(1, () => runConv(nat, c));
        check(y1, c.ref, label);
        sameBits(withThreads(2, () => runConv(nat, c)), y1, `${label}: 2 threads`);
        check(withConvMode('direct', () => runConv(nat, c)), c.ref, `${label}: direct`);
        check(withConvMode('narrow', () => runConv(nat, c)), c.ref, `${label}: narrow forced`);
        if (c.addend) {  // written in place over the addend
          const buf = c.addend.slice();
          runConv(nat, c, {out: buf});
          sameBits(buf, y1, `${label}: in place over the addend`);
        }
      }
    });
  }
});

test('conv2d to one channel skips taps outside the input (an Inf weight at the border)', () => {
  // 3x3 'same' over [1, 3, 3, 8] -> 1 channel; w[0, 0, :] = Inf meets the input only at outputs
  // (1, 1) and below-right: the corner (0, 0) must stay finite.
  const x = new Float32Array(72).fill(1), w = new Float32Array(72).fill(1);
  for (let c = 0; c < 8; ++c) w[c] = Infinity;
  for (const level of LEVELS) {
    withLevel(level, () => {
      const y = new Float32Array(9);
      nat.conv2d(x, w, y, [1, 3, 3, 8, 3, 3, 1, 3, 3, 1, 1, 1, 1, 1, 1], null, 0, 0, 0, null, 0);
      assert.equal(y[0], 4 * 8, `${level} corner`);
      assert.equal(y[4], Infinity, `${level} center`);
    });
  }
});

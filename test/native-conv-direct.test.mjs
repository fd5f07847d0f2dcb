// SPDX-License-Identifier: Apache-2.0
// conv2d's direct path (batch-reduce register tiles reading x in place, native/ops/conv2d.cc
// conv_direct) at every output-channel count a tile can end on: 1-9, 12, 15-17, 20, 23-25, 31-33,
// 40, 56, 72 (the avx512 tiles are 8 = one ymm, 16, 24 = zmm + ymm, 32, 64 columns wide; the last
// tile of a row holds what is left). Random geometries (strides, dilation along the height, every
// padding mode, batch 2) and every epilogue. Checked: float64 reference with a bound by K, bitwise
// equal to the implicit-im2col GEMM where K fits one K block (AFTERBURNER_CONV=implicit: the same
// sums in the same order), 2 threads bitwise equal to 1, and in place over the addend, at every level.
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {checkConv, CONV_EPILOGUES, convCase, convGeometry, runConv} from './lib/conv-ref.mjs';
import {LADDER, nativeKit, sameBits, withConvMode} from './lib/native-kit.mjs';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');
const {rnd, randArray, withLevel, withThreads} = nativeKit(nat, 4242);
const cpuMax = LADDER.indexOf(nat.isaCpu());
const LEVELS = nat.isaBuiltLevels().filter((l) => LADDER.indexOf(l) <= cpuMax && l !== 'amx');
const OUT_C = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 20, 23, 24, 25, 31, 32, 33, 40, 56, 72];

test('conv2d direct path: every tile width, float64 reference, = implicit GEMM bitwise, threads, in place, every level', () => {
  const cases = [];
  for (let i = 0; i < 2 * OUT_C.length; ++i) {
    const n = OUT_C[i % OUT_C.length];
    // runs f_w * C >= 8 (the direct path's minimum); in_c 3 as in a model's first convolution
    const d = convGeometry(rnd, {outC: () => n, inC: [3, 4, 8, 16, 17], minRun: 8});
    cases.push(convCase(randArray, d, CONV_EPILOGUES[i % CONV_EPILOGUES.length]));
  }
  // blazeface's first convolution (5x5 stride 2, 3 -> 24, 'same'), a few rows of it
  cases.push(convCase(randArray, [1, 12, 40, 3, 6, 20, 24, 5, 5, 2, 2, 1, 1, 1, 1], {act: 0, bias: 'row'}));
  for (const level of LEVELS) {
    withLevel(level, () => {
      const kc = nat.gemmInfo().kc;
      for (const c of cases) {
        const label = `${level} ${JSON.stringify(c.d)} act ${c.epi.act}${c.bias ? ' bias' : ''}${c.addend ? ' addend' : ''}`;
        const y1 = withConvMode('direct', () => withThreads(1, () => runConv(nat, c)));
        checkConv(y1, c.ref, `${label}: direct`);
        // One K block: the GEMM's chain per output is the direct tile's (past it the GEMM restarts
        // from +0 per block and adds C; the scalar level's tiles add each run to C).
        const K = c.d[7] * c.d[8] * c.d[3];
        if (level !== 'scalar' && K <= kc) sameBits(withConvMode('implicit', () => runConv(nat, c)), y1, `${label}: implicit GEMM vs direct`);
        sameBits(withConvMode('direct', () => withThreads(2, () => runConv(nat, c))), y1, `${label}: 2 threads`);
        if (c.addend) {
          const buf = c.addend.slice();
          withConvMode('direct', () => runConv(nat, c, {out: buf}));
          sameBits(buf, y1, `${label}: in place over the addend`);
        }
      }
    });
  }
});

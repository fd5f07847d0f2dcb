// SPDX-License-Identifier: Apache-2.0
// node --test test/native-gemm.test.mjs — the native f32 GEMM (binding.matmul) against a float64
// reference, at every ISA level this CPU runs, plus argument validation.
//
// Tolerance: for any summation order, f32 accumulation of K products satisfies (Higham)
//   |fl(sum) - sum| <= gamma_{K} * sum_k |a_k b_k|,   gamma_n = n u / (1 - n u), u = 2^-24,
// and the bias add and final rounding add two more roundings, so with
//   scale = sum_k |a_ik b_kj| + |bias|
// we require |c - ref| <= gamma_{K+2} * scale * L + 4u |ref| + 1e-30, L = max(1, |slope|)
// (every activation is 1-Lipschitz except prelu/leakyrelu with |slope| > 1; the 4u|ref| term
// covers the activation's own rounding, e.g. sigmoid's exp). A wrong or missing term gives an
// error of order scale, far above the bound. We also check the RMS of err / (scale L + |ref|) is
// <= 1e-7 sqrt(K + 1) + 5e-7 (random-walk growth of rounding errors, plus activation rounding),
// which a correct f32 summation meets with a wide margin.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import path from 'node:path';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {ACT, actRef} from './lib/gemm-ref.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const binding = require(path.join(root, 'build', 'Release', 'afterburner.node'));

const LADDER = ['scalar', 'avx2', 'avx512', 'avx512_vnni', 'avx512_bf16', 'amx'];
const cpuMax = LADDER.indexOf(binding.isaCpu());
const LEVELS = LADDER.slice(0, cpuMax + 1);
const U = 2 ** -24;

let seed = 12345;
function rnd() {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32 * 2 - 1;
}
function randArray(n) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; ++i) x[i] = rnd();
  return x;
}

function operand(p, mode, m, n, N) {
  if (mode === 1) return p[0];
  if (mode === 2) return p[n];
  if (mode === 3) return p[m * N + n];
  return 0;
}

/** float64 reference and per-element error scale. */
function reference(c) {
  const {a, b, batch, M, N, K, transA, transB, aIdx, bIdx, bias, biasMode = 0, act = 0, alpha = 0,
         slope, slopeMode = 0} = c;
  const nA = M * K ? Math.floor(a.length / (M * K)) : 1, nB = K * N ? Math.floor(b.length / (K * N)) : 1;
  const ref = new Float64Array(batch * M * N), scale = new Float64Array(batch * M * N);
  const lip = new Float64Array(batch * M * N);
  for (let i = 0; i < batch; ++i) {
    const ia = aIdx ? aIdx[i] : (nA === 1 ? 0 : i), ib = bIdx ? bIdx[i] : (nB === 1 ? 0 : i);
    const ao = ia * M * K, bo = ib * K * N;
    for (let m = 0; m < M; ++m) {
      for (let n = 0; n < N; ++n) {
        let s = 0, sa = 0;
        for (let k = 0; k < K; ++k) {
          const av = transA ? a[ao + k * M + m] : a[ao + m * K + k];
          const bv = transB ? b[bo + n * K + k] : b[bo + k * N + n];
          s += av * bv;
          sa += Math.abs(av * bv);
        }
        const bv = biasMode ? operand(bias, biasMode, m, n, N) : 0;
        const sl = act === ACT.prelu ? operand(slope, slopeMode, m, n, N) : act === ACT.leakyrelu ? alpha : 1;
        const o = (i * M + m) * N + n;
        ref[o] = actRef(s + bv, act, alpha, sl);
        scale[o] = sa + Math.abs(bv);
        lip[o] = Math.max(1, Math.abs(sl));
      }
    }
  }
  return {ref, scale, lip};
}

function call(c, out) {
  binding.matmul(c.a, c.b, out, c.batch, c.M, c.N, c.K, !!c.transA, !!c.transB, c.aIdx ?? null,
                 c.bIdx ?? null, c.bias ?? null, c.biasMode ?? 0, c.act ?? 0, c.alpha ?? 0,
                 c.slope ?? null, c.slopeMode ?? 0);
}

function checkCase(c, label) {
  const out = new Float32Array(c.batch * c.M * c.N).fill(NaN);  // out must be write-only
  call(c, out);
  const {ref, scale, lip} = reference(c);
  const n = c.K + 2, gamma = n * U / (1 - n * U);
  let sq = 0, cnt = 0;
  for (let i = 0; i < ref.length; ++i) {
    const r = ref[i], v = out[i];
    if (Number.isNaN(r)) {
      assert.ok(Number.isNaN(v), `${label}: [${i}] expected NaN, got ${v}`);
      continue;
    }
    if (!Number.isFinite(r)) {
      assert.equal(v, r, `${label}: [${i}] expected ${r}, got ${v}`);
      continue;
    }
    const err = Math.abs(v - r);
    const bound = gamma * scale[i] * lip[i] + 4 * U * Math.abs(r) + 1e-30;
    if (!(err <= bound)) {
      assert.fail(`${label}: [${i}] got ${v}, want ${r} (err ${err.toExponential(3)} > bound ${bound.toExponential(3)})`);
    }
    const norm = scale[i] * lip[i] + Math.abs(r);
    if (norm > 0) {
      sq += (err / norm) ** 2;
      cnt++;
    }
  }
  if (cnt) {
    const rms = Math.sqrt(sq / cnt);
    assert.ok(rms <= 1e-7 * Math.sqrt(c.K + 1) + 5e-7, `${label}: RMS normalized error ${rms}`);
  }
  return out;
}

function mk(M, N, K, opts = {}) {
  const batch = opts.batch ?? 1;
  const nA = opts.nA ?? batch, nB = opts.nB ?? batch;
  return {M, N, K, batch, a: randArray(nA * M * K), b: randArray(nB * K * N), ...opts};
}

const SHAPES = [[1, 1, 1], [3, 17, 65], [17, 65, 3], [65, 17, 1001], [1, 1037, 3], [1037, 1, 3],
                [3, 1, 1037], [1, 300, 700], [200, 1, 500], [14, 32, 256], [15, 33, 257], [70, 1030, 40],
                [129, 97, 300], [2, 3, 4000]];

for (const level of LEVELS) {
  test(`matmul at ${level}`, async (t) => {
    binding.isaSet(level);
    binding.setNumThreads(2);
    t.after(() => binding.isaSet(LADDER[cpuMax]));

    await t.test('shapes x transposes', () => {
      for (const [M, N, K] of SHAPES)
        for (const transA of [false, true])
          for (const transB of [false, true])
            checkCase(mk(M, N, K, {transA, transB}), `${level} ${M}x${N}x${K} tA=${transA} tB=${transB}`);
    });

    await t.test('batch broadcasting', () => {
      checkCase(mk(7, 9, 11, {batch: 5, nA: 2, nB: 3, aIdx: Int32Array.from([1, 0, 1, 1, 0]),
                              bIdx: Int32Array.from([2, 2, 0, 1, 0])}), `${level} idx`);
      checkCase(mk(7, 9, 11, {batch: 4, nA: 1, nB: 4}), `${level} A broadcast`);
      checkCase(mk(7, 9, 11, {batch: 4, nA: 4, nB: 1, transB: true}), `${level} B broadcast`);
      checkCase(mk(64, 64, 64, {batch: 9, transA: true}), `${level} 9x64^3`);
      checkCase(mk(1, 40, 30, {batch: 6, nB: 1}), `${level} gemv batch`);
    });

    await t.test('empty sizes', () => {
      for (const [M, N, K] of [[0, 5, 3], [4, 0, 3], [0, 0, 0]]) checkCase(mk(M, N, K), `${level} ${M}x${N}x${K}`);
      checkCase(mk(3, 5, 0), `${level} K=0`);
      checkCase(mk(3, 5, 0, {bias: randArray(5), biasMode: 2, act: ACT.sigmoid}), `${level} K=0 bias sigmoid`);
      checkCase(mk(1, 5, 0, {bias: randArray(1), biasMode: 1, act: ACT.elu}), `${level} K=0 gemv`);
      binding.matmul(new Float32Array(0), new Float32Array(0), new Float32Array(0), 0, 3, 3, 3, false, false,
                     null, null, null, 0, 0, 0, null, 0);
    });

    await t.test('NaN and Inf propagate', () => {
      for (const [M, N, K] of [[20, 40, 30], [1, 40, 30], [20, 1, 30]])
        for (const transB of [false, true]) {
          const c = mk(M, N, K, {transB});
          c.a[0] = NaN;  // row 0 (col 0 of A), k = 0: row 0 of C is NaN
          c.a[c.a.length - 1] = Infinity;
          c.b[5] = -Infinity;
          const out = checkCase(c, `${level} nan/inf ${M}x${N}x${K} tB=${transB}`);
          for (let n = 0; n < N; ++n) assert.ok(Number.isNaN(out[n]), 'NaN in A reaches its row');
        }
      const c = mk(9, 9, 9, {act: ACT.relu});
      c.b.fill(0);
      c.a[3 * 9 + 2] = NaN;  // NaN * 0 must still be NaN (no zero-skipping), also through relu
      const out = checkCase(c, `${level} NaN*0`);
      for (let n = 0; n < 9; ++n) assert.ok(Number.isNaN(out[3 * 9 + n]));
    });

    await t.test('activations x bias modes', () => {
      for (const [M, N, K] of [[19, 37, 23], [1, 70, 33], [45, 1, 20]])
        for (let act = 0; act < 7; ++act)
          for (let biasMode = 0; biasMode < 4; ++biasMode) {
            const slopeModes = act === ACT.prelu ? [1, 2, 3] : [0];
            for (const slopeMode of slopeModes) {
              const c = mk(M, N, K, {transA: (act + biasMode) % 2 === 1, transB: act % 3 === 0, act,
                                     alpha: 0.2, biasMode, slopeMode});
              if (biasMode) c.bias = randArray(biasMode === 1 ? 1 : biasMode === 2 ? N : M * N);
              if (slopeMode) {
                c.slope = randArray(slopeMode === 1 ? 1 : slopeMode === 2 ? N : M * N);
                c.slope[0] = 1.5;  // one slope > 1
              }
              checkCase(c, `${level} ${M}x${N}x${K} act=${act} bias=${biasMode} slope=${slopeMode}`);
            }
          }
    });

    await t.test('same bits at 1 and 2 threads', () => {
      for (const c of [mk(300, 400, 500), mk(1, 4096, 512), mk(1, 512, 700, {transB: true}),
                       mk(600, 1, 300, {transA: true}), mk(64, 64, 64, {batch: 16}),
                       mk(130, 500, 70, {transA: true, transB: true, act: ACT.relu, biasMode: 2})]) {
        if (c.biasMode) c.bias = randArray(c.N);
        const o1 = new Float32Array(c.batch * c.M * c.N), o2 = new Float32Array(o1.length);
        binding.setNumThreads(1);
        call(c, o1);
        binding.setNumThreads(2);
        call(c, o2);
        assert.deepEqual(new Uint32Array(o1.buffer), new Uint32Array(o2.buffer), `${level} ${c.M}x${c.N}x${c.K}`);
      }
    });

    // Regression (found by the model suite: ssrnet age at scalar, InceptionV3 at avx2): each thread
    // balances its blocks over its own rows, which can give a larger block than the whole
    // problem's, and the scratch was sized for the latter (pack_a overran into the packed B).
    await t.test('a thread\'s row block larger than the whole problem\'s fits its scratch', () => {
      const {mr, mc} = binding.gemmInfo();
      const bal = (len) => Math.ceil(Math.ceil(len / Math.ceil(len / mc)) / mr) * mr;
      const found = [];
      for (let m = Math.max(2 * mc, 1300); m < 40 * mc && found.length < 3; ++m) {
        const half = Math.floor(Math.ceil(m / mr) / 2) * mr;  // thread 0's rows in a 2 x 1 grid
        if (bal(half) > bal(m) || bal(m - half) > bal(m)) found.push(m);
      }
      assert.ok(found.length > 0, `no such M for mr ${mr}, mc ${mc}`);
      binding.setNumThreads(2);
      for (const M of found) checkCase(mk(M, 16, 27), `${level} ${M}x16x27 (2 threads)`);
      checkCase(mk(3844, 16, 27), `${level} 3844x16x27 (2 threads)`);
    });

    await t.test('gemmInfo', () => {
      const info = binding.gemmInfo();
      assert.equal(typeof info.summary, 'string');
      assert.ok(info.mr > 0 && info.nr > 0 && info.kc > 0);
    });
  });
}

test('matmul rejects bad arguments without crashing', () => {
  const a = randArray(6), b = randArray(6), out = new Float32Array(4);
  const good = [a, b, out, 1, 2, 2, 3, false, false, null, null, null, 0, 0, 0, null, 0];
  const bad = (i, v, re) => {
    const args = good.slice();
    args[i] = v;
    assert.throws(() => binding.matmul(...args), re, `arg ${i} = ${String(v)}`);
  };
  binding.matmul(...good);  // sanity
  assert.throws(() => binding.matmul(a, b, out), /expected 17 arguments/);
  bad(0, [1, 2], /'a' must be a Float32Array/);
  bad(1, new Float64Array(6), /'b' must be a Float32Array/);
  bad(2, null, /'out' must be a Float32Array/);
  bad(3, -1, /non-negative/);
  bad(4, 1.5, /'M' must be an integer/);
  bad(5, '2', /'N' must be a number/);
  bad(6, -3, /non-negative/);
  bad(7, 1, /'transA' must be a boolean/);
  bad(4, 3, /too few|elements/);           // a too small for M=3
  bad(5, 4, /elements/);                   // out too small
  bad(2, new Float32Array(3), /'out' has 3 elements/);
  bad(9, new Int32Array([1]), /out of range/);
  bad(9, new Int32Array([0, 0]), /length batch/);
  bad(10, new Int32Array([-1]), /out of range/);
  bad(9, [0], /Int32Array or null/);
  bad(12, 2, /'bias' must be a Float32Array/);
  bad(12, 7, /biasMode/);
  bad(13, 9, /'act'/);
  bad(13, -1, /'act'/);
  bad(13, ACT.prelu, /slopeMode/);
  bad(16, 5, /slopeMode/);
  {
    const args = good.slice();
    args[11] = new Float32Array(1);
    args[12] = 2;  // row bias needs N = 2
    assert.throws(() => binding.matmul(...args), /needs N/);
    args[12] = 3;
    assert.throws(() => binding.matmul(...args), /needs M\*N/);
  }
  {
    const args = good.slice();
    args[13] = ACT.prelu;
    args[16] = 3;
    args[15] = new Float32Array(2);
    assert.throws(() => binding.matmul(...args), /'slope' has 2 elements/);
  }
  {
    const buf = new Float32Array(16);
    const args = good.slice();
    args[0] = buf.subarray(0, 6);
    args[2] = buf.subarray(4, 8);
    assert.throws(() => binding.matmul(...args), /must not share memory/);
    args[2] = buf.subarray(6, 10);  // adjacent, not overlapping: fine
    binding.matmul(...args);
  }
  assert.throws(() => binding.matmul(a, b, out, 2 ** 40, 2 ** 30, 2 ** 30, 1, false, false, null, null, null, 0, 0, 0, null, 0),
                /overflow|elements/);
});

test('matmul: a thread\'s part of M gets a larger MC block than the whole (338 rows: 168 + 170) and the scratch holds it', () => {
  // Regression: the scratch was sized for balanced(M) (3 blocks of 126 rows), but a thread taking
  // rows 0..168 packs one block of 168 rows, over its packed-B buffer (wrong results, heap damage).
  const before = binding.getNumThreads();
  try {
    for (const level of LEVELS) {
      binding.isaSet(level);
      for (const [M, N, K] of [[338, 32, 512], [338, 16, 700]]) {
        const a = randArray(M * K), b = randArray(K * N);
        const run = (t) => {
          binding.setNumThreads(t);
          const out = new Float32Array(M * N);
          binding.matmul(a, b, out, 1, M, N, K, false, false, null, null, null, 0, 0, 0, null, 0);
          return out;
        };
        assert.deepEqual(run(2), run(1), `${level} ${M}x${N}x${K}: 2 threads vs 1`);
      }
    }
  } finally {
    binding.setNumThreads(before);
    binding.isaSet(LEVELS.at(-1));
  }
});

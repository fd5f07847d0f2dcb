// SPDX-License-Identifier: Apache-2.0
// node --test test/native-bf16.test.mjs — the bf16 GEMM (bf16Pack / bf16Gemm, native/gemm/gemm_bf16.h).
//
// Checks, at every ISA level this CPU runs up to avx512_bf16 (avx512_bf16 = vdpbf16ps; below it,
// the emulation; amx has its own rounding and its own file, native-amx.test.mjs):
//  * against a float64 reference computed on the bf16-rounded operands (rounded here in JS exactly
//    as VCVTNEPS2BF16 does): the only error left is f32 accumulation, so
//      |c - ref| <= gamma_{K/2*2 + nb + 2} * scale + 4u |ref|,  scale = sum |a_bf b_bf| + |bias|
//    (nb K blocks, bias add, activation as in test/native-gemm.test.mjs), and the RMS of the
//    relative error must look like f32 rounding (<= 1e-7 sqrt(K + 1) + 5e-7);
//  * against the f32 GEMM on the unrounded operands: bf16 (8-bit significand) rounding moves each
//    operand by at most 2^-8 relative, each product by 2^-7 + 2^-16, so
//    |c_bf16 - c_f32| <= (2^-7 + 2^-16) * sum |a b| * L + both f32 accumulation bounds;
//  * bitwise: the same bits at 1, 2 and 3 threads and at every level (the emulation reproduces
//    vdpbf16ps, including its flush-to-zero on data whose products fall below 2^-126);
//  * the packed layout word by word, NaN/Inf, K = 0, and that bad arguments throw.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {ACT, actRef, bf, bf16Bits} from './lib/gemm-ref.mjs';
import {aAt, bAt, LADDER, nativeKit, operandAt, sameBits, U} from './lib/native-kit.mjs';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');
const {mk, randArray, runBf16, runF32, withLevel, withThreads, epilogues} = nativeKit(nat, 4242);

const cpuMax = LADDER.indexOf(nat.isaCpu());
// The levels that give the same bits (amx rounds its own way: test/native-amx.test.mjs).
const LEVELS = nat.isaBuiltLevels().filter((l) => LADDER.indexOf(l) <= cpuMax && l !== 'amx');
const TOP = LEVELS.at(-1);
const KC_PAIRS = 256;  // kBf16KcPairs





/** Checks out against float64 on the bf16-rounded operands, and against the f32 GEMM. */
function checkCase(c, out, label) {
  const nb = Math.max(1, Math.ceil(Math.ceil(c.K / 2) / KC_PAIRS));
  const n = 2 * Math.ceil(c.K / 2) + nb + 2;
  const gamma = (n * U) / (1 - n * U);
  const f32 = runF32(c);
  const gammaF = ((c.K + 2) * U) / (1 - (c.K + 2) * U);
  let sq = 0, cnt = 0;
  for (let i = 0; i < c.M; ++i)
    for (let j = 0; j < c.N; ++j) {
      let s = 0, sabs = 0, sraw = 0;
      for (let k = 0; k < c.K; ++k) {
        const p = bf(aAt(c, i, k)) * bf(bAt(c, k, j));
        s += p;
        sabs += Math.abs(p);
        sraw += Math.abs(aAt(c, i, k) * bAt(c, k, j));
      }
      const bias = c.biasMode ? operandAt(c.bias, c.biasMode, i, j, c.N) : 0;
      const slope = c.act === ACT.prelu ? operandAt(c.slope, c.slopeMode, i, j, c.N) : c.alpha;
      const L = c.act === ACT.prelu || c.act === ACT.leakyrelu ? Math.max(1, Math.abs(slope)) : 1;
      const ref = actRef(s + bias, c.act, c.alpha, slope);
      const got = out[i * c.N + j];
      const scale = (sabs + Math.abs(bias)) * L;
      const tol = gamma * scale + 4 * U * Math.abs(ref) + 1e-30;
      const err = Math.abs(got - ref);
      if (!(err <= tol))
        assert.fail(`${label}: C[${i}][${j}] = ${got}, float64 on bf16 operands = ${ref}, |err| ${err} > ${tol}`);
      sq += (err / (scale + Math.abs(ref) + 1e-30)) ** 2;
      ++cnt;
      // vs the f32 GEMM: bf16's own bound.
      const tolF = ((2 ** -7 + 2 ** -16) * sraw + gamma * sabs + gammaF * sraw) * L + 8 * U * Math.abs(ref) + 1e-30;
      const dF = Math.abs(got - f32[i * c.N + j]);
      if (!(dF <= tolF)) assert.fail(`${label}: C[${i}][${j}] = ${got}, f32 GEMM ${f32[i * c.N + j]}, |diff| ${dF} > ${tolF}`);
    }
  const rms = Math.sqrt(sq / Math.max(1, cnt));
  assert.ok(rms <= 1e-7 * Math.sqrt(c.K + 1) + 5e-7, `${label}: relative RMS error ${rms} is too large for f32 accumulation`);
}



const SHAPES = [
  [1, 1, 1], [1, 37, 64], [3, 5, 7], [2, 3, 2], [13, 31, 33], [15, 33, 65], [29, 64, 1], [14, 32, 16],
  [37, 45, 513], [20, 70, 1025], [1, 100, 1031], [170, 40, 9], [3, 200, 300],
];


test(`bf16: the levels under test (${LEVELS.join(', ')}), the kernel each uses`, () => {
  assert.ok(LEVELS.includes('scalar'));
  for (const level of LEVELS) {
    const info = withLevel(level, () => nat.bf16Info());
    assert.equal(info.nr, 32);
    assert.equal(info.kc, 2 * KC_PAIRS);
    const expect = level === 'avx512_bf16' ? /vdpbf16ps/ : /emulated/;
    assert.match(info.kernel, expect, `${level}: ${info.summary}`);
    assert.equal(info.level, level);
  }
  if (process.arch === 'x64' && cpuMax >= LADDER.indexOf('avx512_bf16')) {
    assert.equal(TOP, 'avx512_bf16');
    assert.equal(withLevel('avx512_vnni', () => nat.bf16Info().level), 'avx512', 'avx512_vnni runs the emulation');
  }
});

test('bf16: packed layout, word by word (K-pairs, 32-column panels, zero padding, header)', () => {
  for (const [K, N, tB] of [[5, 35, false], [4, 32, true], [1, 1, false], [7, 64, true], [40, 70, false], [40, 70, true], [64, 96, false]]) {
    const b = randArray(K * N);
    b[0] = NaN;
    if (b.length > 2) b[2] = 1e-40;  // denormal -> zero
    const buf = nat.bf16Pack(b, K, N, tB);
    assert.ok(buf instanceof ArrayBuffer);
    const h = new Uint32Array(buf, 0, 5);
    assert.deepEqual([...h], [0x36314241, 1, K, N, h[4]]);
    const K2 = Math.ceil(K / 2), panels = Math.ceil(N / 32);
    assert.equal(buf.byteLength, 128 + panels * K2 * 32 * 4, 'byteLength = header + panels');
    const w = new Uint32Array(buf, h[4], panels * K2 * 32);
    const at = (k, n) => (k >= K || n >= N ? 0 : tB ? b[n * K + k] : b[k * N + n]);
    for (let q = 0; q < panels; ++q)
      for (let p = 0; p < K2; ++p)
        for (let j = 0; j < 32; ++j) {
          const n = 32 * q + j;
          const want = (bf16Bits(at(2 * p, n)) | (bf16Bits(at(2 * p + 1, n)) << 16)) >>> 0;
          assert.equal(w[(q * K2 + p) * 32 + j], want, `K=${K} N=${N} tB=${tB} panel ${q} pair ${p} col ${j}`);
        }
  }
});

test('bf16: rounding of the operands (RNE ties, overflow to Inf, denormals to zero, NaN)', () => {
  // One column, K = 1: C = bf16(a) * bf16(b) exactly.
  const vals = [1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, 3.4e38, -3.4e38, 1e-39, -1e-39, 2 ** -126, Infinity, NaN, -0, 65504];
  for (const level of LEVELS)
    withLevel(level, () => {
      for (const v of vals) {
        const c = mk(1, 1, 1, {a: new Float32Array([v]), b: new Float32Array([1])});
        const out = runBf16(c);
        if (Number.isNaN(v)) assert.ok(Number.isNaN(out[0]), `${level}: bf16(NaN) stays NaN`);
        else assert.ok(Object.is(out[0], bf(v) * 1 + 0) || Object.is(out[0], bf(v)), `${level}: bf16(${v}) -> ${out[0]}, want ${bf(v)}`);
      }
      assert.equal(bf(1 + 2 ** -8), 1, 'tie to even (down)');
      assert.equal(bf(1 + 3 * 2 ** -8), 1 + 2 ** -6, 'tie to even (up)');
      assert.equal(bf(3.4e38), Infinity, 'past the largest bf16 -> Inf');
    });
});

test('bf16: against float64 on the bf16 operands and against the f32 GEMM (shapes x epilogues x transposes), top level', () => {
  withLevel(TOP, () => {
    for (const [M, N, K] of SHAPES) {
      const eps = epilogues(M, N);
      for (let e = 0; e < eps.length; ++e) {
        for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
          if (e > 1 && (tA || tB)) continue;  // epilogues x plain operands, transposes x two epilogues
          const c = mk(M, N, K, {...eps[e], tA, tB});
          checkCase(c, runBf16(c), `${TOP} ${M}x${N}x${K} tA=${tA} tB=${tB} epilogue #${e}`);
        }
      }
    }
  });
});

test('bf16: every level gives the same bits as the top level (normal-range data, all epilogues)', () => {
  const diffs = [];
  for (const [M, N, K] of SHAPES) {
    if (M * N * K > 2e6) continue;
    const eps = epilogues(M, N);
    for (let e = 0; e < eps.length; ++e) {
      const c = mk(M, N, K, {...eps[e], tA: e === 1, tB: e === 2});
      const packed = nat.bf16Pack(c.b, c.K, c.N, c.tB);
      const want = withLevel(TOP, () => runBf16(c, packed));
      for (const level of LEVELS) {
        if (level === TOP) continue;
        const got = withLevel(level, () => runBf16(c, packed));
        // elu and sigmoid run the per-level f32 activation kernels (exp), as in the f32 engine.
        if (c.act === ACT.elu || c.act === ACT.sigmoid) {
          for (let i = 0; i < got.length; ++i) {
            if (got[i] !== want[i]) diffs.push(level);
            assert.ok(Math.abs(got[i] - want[i]) <= 4 * U * Math.abs(want[i]) + 1e-30, `${level} vs ${TOP}: ${got[i]} vs ${want[i]}`);
          }
          continue;
        }
        sameBits(got, want, `${level} vs ${TOP}, ${M}x${N}x${K} epilogue #${e}`);
      }
    }
  }
  if (diffs.length) console.log(`# elu/sigmoid outputs that differ in the last bits from ${TOP}: ${diffs.length} (${[...new Set(diffs)].join(', ')})`);
});

test('bf16: every level flushes like vdpbf16ps (products and sums around 2^-126)', () => {
  // Products of ~1e-19 and ~1e-20 lie below 2^-126 (1.2e-38): alone they flush to zero, next to
  // a partial sum above the threshold they count. A few larger a (x 30) put partial sums on both
  // sides of it. The emulation must flush exactly where the instruction does.
  for (const [M, N, K] of [[7, 37, 64], [15, 40, 301], [1, 33, 1100]]) {
    const a = randArray(M * K, 2e-19), b = randArray(K * N, 2e-20);
    for (let i = 0; i < a.length; i += 5) a[i] *= 30;
    const c = mk(M, N, K, {a, b});
    const packed = nat.bf16Pack(c.b, c.K, c.N, false);
    const want = withLevel(TOP, () => runBf16(c, packed));
    let flushed = 0;
    for (let i = 0; i < M; ++i)
      for (let j = 0; j < N; ++j) {
        let s = 0;
        for (let k = 0; k < K; ++k) s += bf(a[i * K + k]) * bf(c.b[k * N + j]);
        if (Math.abs(want[i * N + j] - s) > 1e-3 * Math.abs(s)) ++flushed;  // far from the unflushed sum
      }
    assert.ok(flushed > 0, 'the data reaches the flush range');
    for (const level of LEVELS) sameBits(withLevel(level, () => runBf16(c, packed)), want, `${level} vs ${TOP} tiny ${M}x${N}x${K}`);
  }
});

test('bf16: the same bits at 1, 2 and 3 threads, every level', () => {
  const cases = [mk(300, 200, 700, {bias: randArray(200), biasMode: 2, act: ACT.relu}), mk(1, 4096, 600), mk(97, 33, 40),
    mk(700, 64, 576)];
  for (const level of LEVELS) {
    withLevel(level, () => {
      for (const c of level === 'scalar' ? [mk(128, 70, 100), mk(1, 1100, 500)] : cases) {  // scalar: small ones (slow)
        const packed = nat.bf16Pack(c.b, c.K, c.N, false);
        const one = withThreads(1, () => runBf16(c, packed));
        for (const t of [2, 3]) sameBits(withThreads(t, () => runBf16(c, packed)), one, `${level} ${c.M}x${c.N}x${c.K} ${t} threads`);
      }
    });
  }
  // The pack itself is threaded too.
  const b = randArray(1000 * 700);
  const p1 = new Uint8Array(withThreads(1, () => nat.bf16Pack(b, 1000, 700, true)));
  const p2 = new Uint8Array(withThreads(2, () => nat.bf16Pack(b, 1000, 700, true)));
  const h1 = new Uint32Array(p1.buffer, 0, 5)[4], h2 = new Uint32Array(p2.buffer, 0, 5)[4];
  assert.deepEqual(p1.subarray(h1, h1 + 700 * 500 * 4), p2.subarray(h2, h2 + 700 * 500 * 4));
});

test('bf16: NaN and Inf propagate; K = 0 gives the epilogue of zeros; M = 0 writes nothing', () => {
  for (const level of LEVELS)
    withLevel(level, () => {
      const c = mk(3, 4, 5);
      c.a[1 * 5 + 2] = NaN;  // row 1
      c.b[3 * 4 + 2] = Infinity;  // column 2, times a (nonzero) -> +-Inf, or NaN in row 1
      c.a[0 * 5 + 3] = 0;  // row 0: Inf * 0 = NaN in column 2
      const out = runBf16(c);
      for (let j = 0; j < 4; ++j) assert.ok(Number.isNaN(out[4 + j]), `${level}: NaN row`);
      assert.ok(Number.isNaN(out[2]), `${level}: Inf * 0 = NaN`);
      assert.equal(Math.abs(out[2 * 4 + 2]), Infinity, `${level}: Inf propagates`);
      assert.ok(Number.isFinite(out[0]) && Number.isFinite(out[3]));
      const z = mk(2, 3, 0, {bias: new Float32Array([1, -2, 3]), biasMode: 2, act: ACT.relu});
      assert.deepEqual([...runBf16(z)], [1, 0, 3, 1, 0, 3]);
      const e = new Float32Array(0);
      nat.bf16Gemm(e, nat.bf16Pack(randArray(12), 4, 3, false), e, 0, 3, 4, false, null, 0, 0, 0, null, 0);
    });
});

test('bf16: bad arguments throw errors naming the function and argument', () => {
  const b = randArray(6 * 5), packed = nat.bf16Pack(b, 6, 5, false);
  const a = randArray(4 * 6), out = new Float32Array(4 * 5);
  const call = (o) => {
    const x = {a, packed, out, M: 4, N: 5, K: 6, tA: false, bias: null, bm: 0, act: 0, alpha: 0, slope: null, sm: 0, ...o};
    return nat.bf16Gemm(x.a, x.packed, x.out, x.M, x.N, x.K, x.tA, x.bias, x.bm, x.act, x.alpha, x.slope, x.sm);
  };
  call({});
  assert.throws(() => nat.bf16Pack([1, 2], 1, 2, false), /bf16Pack: argument 'b' must be a Float32Array/);
  assert.throws(() => nat.bf16Pack(b, 7, 5, false), /bf16Pack: 'b' has 30 elements, needs K\*N = 35/);
  assert.throws(() => nat.bf16Pack(b, -1, 5, false), /bf16Pack: sizes must be non-negative/);
  assert.throws(() => nat.bf16Pack(b, 1.5, 5, false), /bf16Pack: argument 'K' must be an integer/);
  assert.throws(() => nat.bf16Pack(b, 6, 5), /bf16Pack: expected 4 arguments/);
  assert.throws(() => call({packed: new ArrayBuffer(200)}), /bf16Gemm: argument 'packed' is not a packed bf16 matrix/);
  assert.throws(() => call({packed: new Float32Array(10)}), /bf16Gemm: argument 'packed' must be an ArrayBuffer/);
  assert.throws(() => call({packed: nat.bf16Pack(b, 5, 6, false)}), /bf16Gemm: 'packed' holds a 5 x 6 matrix, the call needs K x N = 6 x 5/);
  const damaged = packed.slice(0);
  new Uint32Array(damaged, 0, 5)[4] = 1 << 20;
  assert.throws(() => call({packed: damaged}), /bf16Gemm: 'packed' is damaged/);
  assert.throws(() => call({packed: packed.slice(0, packed.byteLength - 68)}), /bf16Gemm: 'packed' is damaged/);
  assert.throws(() => call({a: randArray(23)}), /bf16Gemm: 'a' has 23 elements, needs M\*K = 24/);
  assert.throws(() => call({out: new Float32Array(19)}), /bf16Gemm: 'out' has 19 elements, needs M\*N = 20/);
  assert.throws(() => call({M: -1}), /bf16Gemm: sizes must be non-negative/);
  assert.throws(() => call({tA: 1}), /bf16Gemm: argument 'transA'/);
  assert.throws(() => call({act: 9}), /bf16Gemm: 'act' must be an activation code/);
  assert.throws(() => call({bm: 2}), /bf16Gemm: 'bias' must be a Float32Array when biasMode is 2/);
  assert.throws(() => call({bias: randArray(4), bm: 2}), /bf16Gemm: 'bias' has 4 elements, needs 5/);
  assert.throws(() => call({act: ACT.prelu}), /bf16Gemm: act prelu needs a slope/);
  assert.throws(() => call({out: a.subarray(0, 20)}), /bf16Gemm: 'out' must not share memory/);
  assert.throws(() => call({out: new Float32Array(packed, 64, 20)}), /bf16Gemm: 'out' must not share memory/);
  assert.throws(() => call({a: 'x'}), /bf16Gemm: argument 'a' must be a Float32Array/);
});

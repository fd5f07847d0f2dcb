// SPDX-License-Identifier: Apache-2.0
// node --test test/native-quant.test.mjs — int8 / int4 weight-only quantization and its GEMM
// (quantPack / quantUnpack / quantGemm, native/gemm/gemm_quant.h).
//
// Checks:
//  * quantization against a float64 reference of the documented format written here (per group
//    along K, symmetric, f32 scales, RNE, clamping, all-zero groups, K not a multiple of the
//    group): the codes and the scales' bits must be identical;
//  * the kernels against the exact (float64) product of A with the *dequantized* weights q * d,
//    independent of the quantization error: |c - ref| <= gamma_{g + G + 2} * sum |a q d| + 4u|ref|
//    (f32 group sums of g products, G scaled adds, bias, activation);
//  * bitwise: the same bits at every ISA level, at 1, 2 and 3 threads, and for a row whatever M
//    is (the direct path for small M and the dequantized-chunk path for large M);
//  * quantization error on Gaussian weights: per element |w - q d| <= |d| / 2 (int8) or |d| (int4,
//    whose clamp at +7 costs one step), and the relative RMS error of A·W stays under 1% (int8,
//    group 128) and 12% (int4, group 64);
//  * bad arguments throw errors naming the function and argument.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {ACT, actRef} from './lib/gemm-ref.mjs';
import {aAt, LADDER, nativeKit, operandAt, U} from './lib/native-kit.mjs';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');
const {withLevel, withThreads} = nativeKit(nat, 0);  // (its own generator below)

const cpuMax = LADDER.indexOf(nat.isaCpu());
const LEVELS = nat.isaBuiltLevels().filter((l) => LADDER.indexOf(l) <= cpuMax);
const gamma = (n) => n * U / (1 - n * U);

let seed = 777;
function rnd() {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32 * 2 - 1;
}
function gauss() {
  const u = (rnd() + 1) / 2 || 1e-12, v = (rnd() + 1) / 2;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
const randArray = (n, f = rnd) => Float32Array.from({length: n}, f);

function assertBitwise(x, y, label) {
  const a = new Uint32Array(x.buffer, x.byteOffset, x.length), b = new Uint32Array(y.buffer, y.byteOffset, y.length);
  assert.equal(a.length, b.length, label);
  for (let i = 0; i < a.length; ++i)
    if (a[i] !== b[i] && !(Number.isNaN(x[i]) && Number.isNaN(y[i])))
      assert.fail(`${label}: element ${i}: ${x[i]} (0x${a[i].toString(16)}) vs ${y[i]} (0x${b[i].toString(16)})`);
}

// ------------------------------------------------------------------ the format's reference
/** Round half to even (float64). */
function rne(x) {
  const r = Math.round(x);  // half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
/** The documented quantization of b (K x N, or N x K if tB), in float64. */
function quantRef(b, K, N, tB, bits, g) {
  const G = Math.ceil(K / g);
  const codes = new Int8Array(K * N), scales = new Float32Array(G * N);
  const [qmin, qmax] = bits === 8 ? [-127, 127] : [-8, 7];
  const at = (k, n) => (tB ? b[n * K + k] : b[k * N + n]);
  for (let n = 0; n < N; ++n) {
    for (let gi = 0; gi < G; ++gi) {
      const kb = gi * g, ke = Math.min(K, kb + g);
      let amax = 0, mx = 0;
      for (let k = kb; k < ke; ++k) {
        const w = at(k, n);
        if (Math.abs(w) > amax) {
          amax = Math.abs(w);
          mx = w;
        }
      }
      const d = amax > 0 ? Math.fround(bits === 8 ? amax / 127 : mx / -8) : 0;
      scales[gi * N + n] = d;
      if (d === 0) continue;
      for (let k = kb; k < ke; ++k) codes[k * N + n] = Math.min(qmax, Math.max(qmin, rne(at(k, n) / d)));
    }
  }
  return {codes, scales, G};
}

/** A case: a [M,K] (or [K,M] if tA), b [K,N] (or [N,K] if tB), epilogue. */
function mk(M, N, K, o = {}) {
  const c = {M, N, K, tA: false, tB: false, bits: 8, g: 32, bias: null, biasMode: 0, act: 0, alpha: 0, slope: null,
             slopeMode: 0, ...o};
  c.a = o.a ?? randArray(M * K);
  c.b = o.b ?? randArray(K * N, () => gauss() * 0.05);
  return c;
}
const pack = (c) => nat.quantPack(c.b, c.K, c.N, c.tB, c.bits, c.g);
function runQ(c, packed = pack(c)) {
  const out = new Float32Array(c.M * c.N).fill(NaN);  // never read
  nat.quantGemm(c.a, packed, out, c.M, c.N, c.K, c.tA, c.bias, c.biasMode, c.act, c.alpha, c.slope, c.slopeMode);
  return out;
}

/** The kernel against float64 A x dequant(B) (from the reference codes and scales). */
function checkKernel(c, out, label) {
  const {codes, scales, G} = quantRef(c.b, c.K, c.N, c.tB, c.bits, c.g);
  const tol = gamma(c.g + G + 2);
  for (let m = 0; m < c.M; ++m) {
    for (let n = 0; n < c.N; ++n) {
      let s = 0, sa = 0;
      for (let k = 0; k < c.K; ++k) {
        const p = aAt(c, m, k) * codes[k * c.N + n] * scales[Math.floor(k / c.g) * c.N + n];
        s += p;
        sa += Math.abs(p);
      }
      const bias = operandAt(c.bias, c.biasMode, m, n, c.N);
      s += bias;
      sa += Math.abs(bias);
      const ref = actRef(s, c.act, c.alpha, operandAt(c.slope, c.slopeMode, m, n, c.N));
      const got = out[m * c.N + n];
      // the activations are 1-Lipschitz (elu, sigmoid: bounded slope), plus their own f32 rounding
      const bound = tol * sa + 4 * U * Math.abs(ref) + (c.act === ACT.elu || c.act === ACT.sigmoid ? 4e-7 : 0) + 1e-30;
      if (!(Math.abs(got - ref) <= bound)) {
        assert.fail(`${label}: C[${m}][${n}] = ${got}, float64 ${ref}, |diff| ${Math.abs(got - ref)} > bound ${bound}`);
      }
    }
  }
}

test(`quant: the levels under test (${LEVELS.join(', ')}) and their kernels`, () => {
  for (const l of LEVELS) {
    const info = withLevel(l, () => nat.quantInfo());
    assert.equal(info.nr, 32);
    assert.ok(info.mr >= 1 && info.kernel.length > 0, JSON.stringify(info));
  }
});

test('quant: codes and scales are bit-exact against the float64 reference of the format', () => {
  const cases = [];
  for (const bits of [8, 4])
    for (const g of [32, 64, 128])
      for (const [K, N] of [[1, 1], [31, 5], [64, 33], [200, 17], [129, 40], [300, 64]])
        for (const tB of [false, true]) cases.push({bits, g, K, N, tB});
  for (const {bits, g, K, N, tB} of cases) {
    const b = randArray(K * N, () => gauss() * 0.1);
    if (K * N > 10) {  // an all-zero group, ties, a subnormal-only column, ±max of equal magnitude
      for (let k = 0; k < Math.min(K, g); ++k) b[tB ? 0 * K + k : k * N + 0] = 0;
      b[tB ? 1 * K : 1] = 0.5;
      if (K > 1) b[tB ? 1 * K + 1 : N + 1] = -0.5;
    }
    const label = `int${bits} g${g} K${K} N${N} tB${tB}`;
    const packed = nat.quantPack(b, K, N, tB, bits, g);
    const u = nat.quantUnpack(packed);
    const ref = quantRef(b, K, N, tB, bits, g);
    assert.deepEqual([u.bits, u.groupSize, u.K, u.N], [bits, g, K, N], label);
    assert.ok(packed.byteLength >= 64 + Math.ceil(N / 32) * ref.G * (g * (bits === 8 ? 32 : 16) + 128), label);
    assert.deepEqual(u.codes, ref.codes, `${label}: codes`);
    assertBitwise(u.scales, ref.scales, `${label}: scales`);
  }
});

test('quant: rounding edge cases (RNE ties, clamping, int4 -8, all-zero and subnormal groups)', () => {
  // int8: amax 127 -> d = 1: ties at .5 go to even; int4: mx = -8 -> d = 1, +8 clamps to 7.
  const K = 32, N = 1;
  const b8 = new Float32Array(K);
  b8.set([127, 2.5, 3.5, -2.5, -3.5, 0.5, -0.5, 1.5, 126.5, -127]);
  let u = nat.quantUnpack(nat.quantPack(b8, K, N, false, 8, 32));
  assert.equal(u.scales[0], 1);
  assert.deepEqual(Array.from(u.codes.slice(0, 10)), [127, 2, 4, -2, -4, 0, 0, 2, 126, -127]);
  const b4 = new Float32Array(K);
  b4.set([-8, 8, 2.5, -2.5, 7.5, 0.5, 1.5]);
  u = nat.quantUnpack(nat.quantPack(b4, K, N, false, 4, 32));
  assert.equal(u.scales[0], 1);  // d = -8 / -8
  assert.deepEqual(Array.from(u.codes.slice(0, 7)), [-8, 7, 2, -2, 7, 0, 2]);
  b4[0] = 8;
  b4[1] = -8;  // the first of equal magnitudes decides: d = 8 / -8 = -1
  u = nat.quantUnpack(nat.quantPack(b4, K, N, false, 4, 32));
  assert.equal(u.scales[0], -1);
  assert.deepEqual(Array.from(u.codes.slice(0, 2)), [-8, 7]);
  // all zeros (and -0): scale +0, codes 0
  u = nat.quantUnpack(nat.quantPack(new Float32Array(K).fill(-0), K, N, false, 4, 32));
  assert.ok(Object.is(u.scales[0], 0));
  assert.deepEqual(Array.from(u.codes), new Array(K).fill(0));
  // a group whose scale underflows to 0 (|w| <= 2^-149): scale +0, codes 0
  const tiny = new Float32Array(K).fill(2 ** -149);
  u = nat.quantUnpack(nat.quantPack(tiny, K, N, false, 8, 32));
  assert.ok(Object.is(u.scales[0], 0));
  assert.deepEqual(Array.from(u.codes), new Array(K).fill(0));
  // subnormal scale, still quantized as documented
  const sub = new Float32Array(K).fill(2 ** -140);
  u = nat.quantUnpack(nat.quantPack(sub, K, N, false, 8, 32));
  const r = quantRef(sub, K, N, false, 8, 32);
  assertBitwise(u.scales, r.scales, 'subnormal scale');
  assert.deepEqual(u.codes, r.codes);
});

const SHAPES = [
  [1, 1, 1], [1, 17, 50], [3, 17, 64], [1, 40, 300], [3, 1, 129], [64, 17, 200], [64, 1, 33], [7, 64, 128],
  [13, 45, 257], [1, 96, 1000],
];

test('quant: quantGemm against float64 A x dequant(B), every level, transposes, groups', () => {
  let i = 0;
  for (const [M, N, K] of SHAPES) {
    for (const bits of [8, 4]) {
      const g = [32, 64, 128][i++ % 3];
      const tA = i % 2 === 0, tB = i % 3 === 0;
      const c = mk(M, N, K, {bits, g, tA, tB});
      const packed = pack(c);
      const outs = LEVELS.map((l) => withLevel(l, () => runQ(c, packed)));
      const label = `${M}x${N}x${K} int${bits} g${g} tA${tA} tB${tB}`;
      checkKernel(c, outs[0], `${label} ${LEVELS[0]}`);
      outs.forEach((o, j) => assertBitwise(o, outs[0], `${label}: ${LEVELS[j]} vs ${LEVELS[0]}`));
    }
  }
});

test('quant: transposes both ways give the same bits as the plain layout', () => {
  const M = 5, N = 33, K = 100;
  const c = mk(M, N, K, {bits: 4, g: 32});
  const base = runQ(c);
  const aT = new Float32Array(M * K), bT = new Float32Array(K * N);
  for (let m = 0; m < M; ++m) for (let k = 0; k < K; ++k) aT[k * M + m] = c.a[m * K + k];
  for (let k = 0; k < K; ++k) for (let n = 0; n < N; ++n) bT[n * K + k] = c.b[k * N + n];
  assertBitwise(runQ({...c, a: aT, tA: true}), base, 'transA');
  assertBitwise(runQ({...c, b: bT, tB: true}), base, 'transB');
  assertBitwise(runQ({...c, a: aT, tA: true, b: bT, tB: true}), base, 'both');
});

test('quant: the same bits at 1, 2 and 3 threads, and for a row at any M (direct and chunked paths)', () => {
  for (const bits of [8, 4]) {
    const M = 40, N = 200, K = 384;
    const c = mk(M, N, K, {bits, g: 64});
    const packed = pack(c);
    for (const l of LEVELS) {
      withLevel(l, () => {
        const one = withThreads(1, () => runQ(c, packed));
        for (const t of [2, 3]) assertBitwise(withThreads(t, () => runQ(c, packed)), one, `int${bits} ${l} ${t} threads`);
        for (const m of [1, 2, 3, 6, 8, 13]) {
          const sub = {...c, M: m, a: c.a.subarray(0, m * K)};
          assertBitwise(runQ(sub, packed), one.subarray(0, m * N), `int${bits} ${l} M=${m} rows vs M=${M}`);
        }
      });
    }
  }
});

test('quant: fused epilogue (bias, relu, relu6, leakyrelu, prelu, elu, sigmoid)', () => {
  const M = 9, N = 37, K = 70;
  const eps = [
    {bias: randArray(N), biasMode: 2, act: ACT.linear},
    {bias: randArray(1), biasMode: 1, act: ACT.relu},
    {bias: randArray(M * N), biasMode: 3, act: ACT.relu6},
    {act: ACT.leakyrelu, alpha: 0.2},
    {bias: randArray(N), biasMode: 2, act: ACT.prelu, slope: randArray(N), slopeMode: 2},
    {act: ACT.elu},
    {bias: randArray(N), biasMode: 2, act: ACT.sigmoid},
  ];
  for (const e of eps) {
    for (const bits of [8, 4]) {
      const c = mk(M, N, K, {bits, g: 32, ...e});
      const packed = pack(c);
      const outs = LEVELS.map((l) => withLevel(l, () => runQ(c, packed)));
      outs.forEach((o, j) => checkKernel(c, o, `act ${e.act} int${bits} ${LEVELS[j]}`));
      if (e.act !== ACT.elu && e.act !== ACT.sigmoid)
        outs.forEach((o, j) => assertBitwise(o, outs[0], `act ${e.act} int${bits}: ${LEVELS[j]} vs ${LEVELS[0]}`));
    }
  }
});

test('quant: quantization error on Gaussian weights (element bound, and relative RMS of A·W)', () => {
  const M = 8, K = 512, N = 96;
  const w = randArray(K * N, () => gauss() * 0.02);
  const a = randArray(M * K, gauss);
  const rms = {};
  for (const [bits, g, limit] of [[8, 128, 0.01], [8, 32, 0.01], [4, 64, 0.12], [4, 32, 0.12]]) {
    const u = nat.quantUnpack(nat.quantPack(w, K, N, false, bits, g));
    for (let k = 0; k < K; ++k) {
      for (let n = 0; n < N; ++n) {
        const d = Math.abs(u.scales[Math.floor(k / g) * N + n]);
        const e = Math.abs(w[k * N + n] - u.codes[k * N + n] * d * Math.sign(u.scales[Math.floor(k / g) * N + n]));
        assert.ok(e <= (bits === 8 ? 0.5 : 1) * d * (1 + 2 ** -20), `int${bits} g${g} element (${k}, ${n}): error ${e}, d ${d}`);
      }
    }
    const out = new Float32Array(M * N);
    nat.quantGemm(a, nat.quantPack(w, K, N, false, bits, g), out, M, N, K, false, null, 0, 0, 0, null, 0);
    let se = 0, sr = 0;
    for (let m = 0; m < M; ++m) {
      for (let n = 0; n < N; ++n) {
        let s = 0;
        for (let k = 0; k < K; ++k) s += a[m * K + k] * w[k * N + n];
        se += (out[m * N + n] - s) ** 2;
        sr += s * s;
      }
    }
    rms[`int${bits} g${g}`] = Math.sqrt(se / sr);
    if (process.env.QUANT_VERBOSE) console.log(`int${bits} g${g}: relative RMS error of A·W ${rms[`int${bits} g${g}`]}`);
    assert.ok(rms[`int${bits} g${g}`] < limit, `int${bits} g${g}: relative RMS ${rms[`int${bits} g${g}`]} >= ${limit}`);
  }
  // smaller groups are more accurate, int4 is far coarser than int8
  assert.ok(rms['int8 g32'] < rms['int8 g128'] && rms['int4 g32'] < rms['int4 g64'], JSON.stringify(rms));
  assert.ok(rms['int4 g64'] > 5 * rms['int8 g128'], JSON.stringify(rms));
});

test('quant: NaN/Inf in activations propagate like the f32 GEMM', () => {
  const c = mk(2, 33, 40, {bits: 8, g: 32});
  c.a[3] = NaN;
  c.a[40 + 5] = Infinity;
  const out = runQ(c);
  for (let n = 0; n < 33; ++n) assert.ok(Number.isNaN(out[n]));
  for (let n = 0; n < 33; ++n) assert.ok(!Number.isFinite(out[33 + n]));
});

test('quant: bad arguments throw errors naming the function and argument', () => {
  const b = randArray(64 * 8);
  assert.throws(() => nat.quantPack(b, 64, 8, false, 8, 16), /quantPack: 'groupSize' must be 32, 64 or 128, got 16/);
  assert.throws(() => nat.quantPack(b, 64, 8, false, 5, 32), /quantPack: 'bits' must be 8 or 4, got 5/);
  assert.throws(() => nat.quantPack(b, 64, 9, false, 8, 32), /quantPack: 'b' has 512 elements, needs K\*N = 576/);
  assert.throws(() => nat.quantPack(b, 0, 8, false, 8, 32), /quantPack: K and N must be in \[1, 2\^31\)/);
  assert.throws(() => nat.quantPack([1, 2], 1, 2, false, 8, 32), /quantPack: argument 'b'/);
  const bad = b.slice();
  bad[77] = NaN;
  assert.throws(() => nat.quantPack(bad, 64, 8, false, 8, 32), /quantPack: b\[77\] is NaN: weights to quantize must be finite/);
  bad[77] = 1;
  bad[3] = -Infinity;
  assert.throws(() => nat.quantPack(bad, 64, 8, true, 4, 32), /quantPack: b\[3\] is -Infinity/);
  const packed = nat.quantPack(b, 64, 8, false, 4, 32);
  const a = randArray(2 * 64), out = new Float32Array(16);
  const call = (o = {}) => {
    const x = {a, packed, out, M: 2, N: 8, K: 64, ...o};
    nat.quantGemm(x.a, x.packed, x.out, x.M, x.N, x.K, false, null, 0, 0, 0, null, 0);
  };
  call();
  assert.throws(() => call({K: 32, a: randArray(64)}), /quantGemm: 'packed' holds a 64 x 8 matrix, the call needs K x N = 32 x 8/);
  assert.throws(() => call({packed: new ArrayBuffer(128)}), /quantGemm: argument 'packed' is not a quantized matrix/);
  assert.throws(() => call({packed: nat.bf16Pack(b, 64, 8, false)}), /quantGemm: argument 'packed' is not a quantized matrix/);
  assert.throws(() => call({packed: packed.slice(0, 200)}), /quantGemm: 'packed' is damaged/);
  assert.throws(() => call({packed: b}), /quantGemm: argument 'packed' must be an ArrayBuffer from quantPack/);
  assert.throws(() => call({a: randArray(10)}), /quantGemm: 'a' has 10 elements, needs M\*K = 128/);
  assert.throws(() => call({out: new Float32Array(3)}), /quantGemm: 'out' has 3 elements, needs M\*N = 16/);
  assert.throws(() => call({M: -1}), /quantGemm: M must be in/);
  assert.throws(() => call({out: a.subarray(0, 16)}), /quantGemm: 'out' must not share memory/);
  assert.throws(() => nat.quantGemm(a, packed, out, 2, 8, 64, false, null, 0, 99, 0, null, 0), /quantGemm: 'act' must be an activation code/);
  assert.throws(() => nat.quantUnpack({}), /quantUnpack: argument 'packed' must be an ArrayBuffer/);
  // M = 0 writes nothing
  nat.quantGemm(new Float32Array(0), packed, new Float32Array(0), 0, 8, 64, false, null, 0, 0, 0, null, 0);
});

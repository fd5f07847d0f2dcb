// SPDX-License-Identifier: Apache-2.0
// node --test test/native-amx.test.mjs — the amx level of the bf16 GEMM (AMX tiles, TDPBF16PS).
// Needs only the addon (AFTERBURNER_ADDON may point at one), so it also runs where there is no
// node_modules. Without AMX (CPUID, XCR0, the OS's arch_prctl permission) every kernel test skips,
// saying why; the reporting tests run everywhere.
//
// The contract (native/gemm/gemm_bf16.h): the operands are rounded to bf16 exactly as at the other
// levels, but TDPBF16PS sums in its own order (per instruction: the even and the odd elements of 16
// pairs in two f32 chains from zero, then added, then added to the accumulator), so amx is NOT
// bitwise equal to avx512_bf16 and the emulating levels. Checked here:
//  * against float64 on the bf16-rounded operands: |c - ref| <= gamma_n * sum |a_bf b_bf| with
//    n = 2 ceil(K/2) + nb + 20 (the chain depth of any product, with room for the 16-pair chains
//    when K is small), and the RMS of the relative error must look like f32 rounding; against the
//    f32 GEMM on the unrounded operands within bf16's own bound (as native-bf16.test.mjs);
//  * against the same check done on the avx512_bf16 result: both within the bound, close to each
//    other, and not claimed equal;
//  * the same bits at 1, 2, 8 and 16 threads, and a row's value independent of M (the rows around
//    it, the 16-row tile it falls in) for calls of more than AMX_MIN_ROWS rows; calls of at most
//    that many rows (GEMV-like) run the avx512_bf16 kernel and give its bits;
//  * stale scratch (NaN/Inf left by an earlier call) never reaches a result: the K tail and the
//    rows past M read zeros or stay in rows nobody stores;
//  * NaN/Inf propagation, K = 0, M = 0, odd K, transposed A and B, every epilogue.
//  * bit for bit against a float64 model of the SDM's TDPBF16PS pseudo-code on the kernel's
//    blocking (first measured on a Sapphire Rapids-class Xeon: 0 of 2891 outputs differ).
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {ACT, actRef, bf} from './lib/gemm-ref.mjs';
import {aAt, bAt, LADDER, nativeKit, operandAt, sameBits, U} from './lib/native-kit.mjs';

const require = createRequire(import.meta.url);
const addonPath = process.env.AFTERBURNER_ADDON ?? new URL('../build/Release/afterburner.node', import.meta.url).pathname;
const nat = require(addonPath);
const {mk, randArray, runBf16, runF32, withLevel, withThreads} = nativeKit(nat, 777);

const cpuMax = LADDER.indexOf(nat.isaCpu());
const BUILT = nat.isaBuiltLevels().includes('amx');
const HAVE = BUILT && cpuMax >= LADDER.indexOf('amx');
const SKIP = HAVE ? false : `no amx here: ${BUILT ? nat.isaAmxStatus() : 'the addon has no amx library'}`;
const KC_PAIRS = 256;



const amx = (fn) => withLevel('amx', fn);

/** out against float64 on the bf16 operands and against the f32 GEMM; returns the max |err|/scale. */
function checkCase(c, out, label) {
  const nb = Math.max(1, Math.ceil(Math.ceil(c.K / 2) / KC_PAIRS));
  const n = 2 * Math.ceil(c.K / 2) + nb + 20;
  const gamma = (n * U) / (1 - n * U);
  const f32 = runF32(c);
  const gammaF = ((c.K + 2) * U) / (1 - (c.K + 2) * U);
  let sq = 0, cnt = 0, worst = 0;
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
      if (!(err <= tol)) assert.fail(`${label}: C[${i}][${j}] = ${got}, float64 on bf16 operands = ${ref}, |err| ${err} > ${tol}`);
      worst = Math.max(worst, err / (scale + 1e-30));
      sq += (err / (scale + Math.abs(ref) + 1e-30)) ** 2;
      ++cnt;
      const tolF = ((2 ** -7 + 2 ** -16) * sraw + gamma * sabs + gammaF * sraw) * L + 8 * U * Math.abs(ref) + 1e-30;
      const dF = Math.abs(got - f32[i * c.N + j]);
      if (!(dF <= tolF)) assert.fail(`${label}: C[${i}][${j}] = ${got}, f32 GEMM ${f32[i * c.N + j]}, |diff| ${dF} > ${tolF}`);
    }
  const rms = Math.sqrt(sq / Math.max(1, cnt));
  assert.ok(rms <= 1e-7 * Math.sqrt(c.K + 1) + 5e-7, `${label}: relative RMS error ${rms} is too large for f32 accumulation`);
  return worst;
}


// Shapes with remainders in every dimension around the 16/32 tiles and the 16-pair steps.
const SHAPES = [
  [1, 1, 1], [1, 37, 64], [1, 100, 1031], [3, 5, 7], [2, 3, 2], [15, 16, 31], [16, 16, 32], [17, 17, 33],
  [31, 33, 63], [32, 32, 64], [33, 31, 65], [47, 48, 96], [29, 64, 1], [64, 15, 33], [37, 45, 513],
  [20, 70, 1025], [100, 40, 9], [3, 200, 300], [70, 97, 600],
];
function epilogues(M, N) {
  return [
    {},
    {bias: randArray(N), biasMode: 2},
    {bias: randArray(1), biasMode: 1, act: ACT.relu},
    {bias: randArray(M * N), biasMode: 3, act: ACT.relu6},
    {bias: randArray(N), biasMode: 2, act: ACT.elu},
    {act: ACT.leakyrelu, alpha: 0.2},
    {bias: randArray(N), biasMode: 2, act: ACT.prelu, slope: randArray(N, 3), slopeMode: 2},
    {act: ACT.prelu, slope: randArray(M * N), slopeMode: 3},
    {bias: randArray(N), biasMode: 2, act: ACT.sigmoid},
  ];
}

test('amx: isaAmxStatus() says whether amx runs here, and why not', () => {
  const st = nat.isaAmxStatus();
  assert.equal(typeof st, 'string');
  if (cpuMax >= LADDER.indexOf('amx')) assert.equal(st, 'available');
  else {
    assert.notEqual(st, 'available');
    if (process.arch === 'x64') assert.match(st, /AMX|XCR0|arch_prctl|AVX|AFTERBURNER_AMX/);
  }
  console.log(`# isaCpu ${nat.isaCpu()}, amx: ${st}`);
});

test('amx: AFTERBURNER_AMX=0 keeps the level off and says so (fresh process)', (t) => {
  if (process.arch !== 'x64') return t.skip('x86-64 only');
  const code = `const n = require(${JSON.stringify(addonPath)}); console.log(JSON.stringify([n.isaCpu(), n.isaAmxStatus(), n.bf16Info().level]))`;
  const r = spawnSync(process.execPath, ['-e', code], {env: {...process.env, AFTERBURNER_AMX: '0', AFTERBURNER_ISA: ''}, encoding: 'utf8'});
  assert.equal(r.status, 0, r.stderr);
  const [cpu, st, level] = JSON.parse(r.stdout);
  assert.ok(LADDER.indexOf(cpu) <= LADDER.indexOf('avx512_bf16'), `AFTERBURNER_AMX=0: isaCpu() ${cpu}`);
  assert.notEqual(level, 'amx');
  if (HAVE) assert.equal(st, 'disabled by AFTERBURNER_AMX=0');
});

test('amx: the kernel at the amx level', {skip: SKIP}, () => {
  const info = amx(() => nat.bf16Info());
  assert.equal(info.level, 'amx');
  assert.match(info.kernel, /tdpbf16ps/);
  assert.equal(info.mr, 32);
  assert.equal(info.nr, 32);
  assert.equal(info.kc, 2 * KC_PAIRS);
  console.log(`# ${info.summary}`);
});

test('amx: against float64 on the bf16 operands and the f32 GEMM (shapes x epilogues x transposes)', {skip: SKIP}, () => {
  let worst = 0;
  amx(() => {
    for (const [M, N, K] of SHAPES) {
      const eps = epilogues(M, N);
      for (let e = 0; e < eps.length; ++e)
        for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
          if (e > 1 && (tA || tB)) continue;
          const c = mk(M, N, K, {...eps[e], tA, tB});
          worst = Math.max(worst, checkCase(c, runBf16(c), `amx ${M}x${N}x${K} tA=${tA} tB=${tB} epilogue #${e}`));
        }
    }
  });
  console.log(`# amx: worst |err| / sum|a b| = ${worst.toExponential(2)} (f32 u = ${U.toExponential(2)})`);
});

test('amx: close to avx512_bf16, both within the bound; the count of differing bits is reported', {skip: SKIP}, () => {
  let diff = 0, total = 0, maxUlp = 0;
  for (const [M, N, K] of [[64, 64, 64], [33, 70, 1000], [128, 96, 2048]]) {
    const c = mk(M, N, K);
    const packed = nat.bf16Pack(c.b, K, N, false);
    const x = amx(() => runBf16(c, packed));
    const y = withLevel('avx512_bf16', () => runBf16(c, packed));
    checkCase(c, x, `amx ${M}x${N}x${K}`);
    checkCase(c, y, `avx512_bf16 ${M}x${N}x${K}`);
    const xu = new Int32Array(x.buffer), yu = new Int32Array(y.buffer);
    for (let i = 0; i < x.length; ++i) {
      ++total;
      if (xu[i] !== yu[i]) {
        ++diff;
        maxUlp = Math.max(maxUlp, Math.abs(xu[i] - yu[i]));
      }
    }
  }
  console.log(`# amx vs avx512_bf16: ${diff} of ${total} outputs differ (largest difference ${maxUlp} ulp)`);
});

test('amx: the same bits at 1, 2, 8 and 16 threads; a row does not depend on M', {skip: SKIP}, () => {
  amx(() => {
    const cases = [mk(300, 200, 700, {bias: randArray(200), biasMode: 2, act: ACT.relu}), mk(1, 4096, 600), mk(97, 33, 40),
      mk(700, 64, 576), mk(257, 513, 129)];
    for (const c of cases) {
      const packed = nat.bf16Pack(c.b, c.K, c.N, false);
      const one = withThreads(1, () => runBf16(c, packed));
      for (const t of [2, 8, 16]) sameBits(withThreads(t, () => runBf16(c, packed)), one, `amx ${c.M}x${c.N}x${c.K} ${t} threads`);
    }
    // Rows 40..56 of a 97-row problem alone (M = 17: other tiles, other neighbours), and runs of 5
    // rows (above AMX_MIN_ROWS: calls of fewer rows run vdpbf16ps, below).
    const c = mk(97, 70, 333);
    const packed = nat.bf16Pack(c.b, c.K, c.N, false);
    const all = runBf16(c, packed);
    for (const [r0, r1] of [[40, 57], [50, 55], [0, 5], [92, 97]]) {
      const sub = {...c, M: r1 - r0, a: c.a.slice(r0 * c.K, r1 * c.K)};
      sameBits(runBf16(sub, packed), all.subarray(r0 * c.N, r1 * c.N), `rows ${r0}..${r1 - 1} alone vs in M = 97`);
    }
  });
});

test('amx: stale NaN/Inf in scratch never reaches a result (K tail, rows past M)', {skip: SKIP}, () => {
  amx(() => {
    for (const t of [1, 2]) {
      withThreads(t, () => {
        for (const [M, N, K] of [[17, 40, 40], [5, 33, 7], [33, 64, 1000], [1, 64, 70]]) {
          // Fill the packed-A scratch with NaN and Inf at a larger shape first.
          const dirty = mk(96, N, 1100, {a: new Float32Array(96 * 1100).map((_, i) => (i % 3 ? NaN : Infinity))});
          runBf16(dirty);
          const c = mk(M, N, K);
          const out = runBf16(c);
          for (let i = 0; i < out.length; ++i) assert.ok(Number.isFinite(out[i]), `${M}x${N}x${K} ${t}T: element ${i} = ${out[i]}`);
          checkCase(c, out, `after dirty scratch ${M}x${N}x${K} ${t}T`);
        }
      });
    }
  });
});

test('amx: NaN and Inf propagate; K = 0 gives the epilogue of zeros; M = 0 writes nothing', {skip: SKIP}, () => {
  amx(() => {
    const c = mk(5, 4, 5);  // 5 rows: the tiles (AMX_MIN_ROWS)
    c.a[1 * 5 + 2] = NaN;
    c.b[3 * 4 + 2] = Infinity;
    c.a[0 * 5 + 3] = 0;
    const out = runBf16(c);
    for (let j = 0; j < 4; ++j) assert.ok(Number.isNaN(out[4 + j]), 'NaN row');
    assert.ok(Number.isNaN(out[2]), 'Inf * 0 = NaN');
    assert.equal(Math.abs(out[2 * 4 + 2]), Infinity, 'Inf propagates');
    assert.ok(Number.isFinite(out[0]) && Number.isFinite(out[3]));
    const z = mk(2, 3, 0, {bias: new Float32Array([1, -2, 3]), biasMode: 2, act: ACT.relu});
    assert.deepEqual([...runBf16(z)], [1, 0, 3, 1, 0, 3]);
    const e = new Float32Array(0);
    nat.bf16Gemm(e, nat.bf16Pack(randArray(12), 4, 3, false), e, 0, 3, 4, false, null, 0, 0, 0, null, 0);
    // Operand rounding as at the other levels (K = 1: C = bf16(a) * bf16(b) exactly).
    for (const v of [1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.4e38, 1e-39, -0, 65504, 2 ** -126]) {
      const o = runBf16(mk(5, 1, 1, {a: new Float32Array(5).fill(v), b: new Float32Array([1])}));
      for (let i = 0; i < 5; ++i) assert.ok(Object.is(o[i], bf(v)) || Object.is(o[i], bf(v) + 0), `bf16(${v}) -> ${o[i]}, want ${bf(v)}`);
    }
  });
});

const AMX_MIN_ROWS = 4;  // kAmxVecRows in gemm_bf16.cc (AFTERBURNER_AMX_MIN_ROWS unset)
test('amx: calls of at most AMX_MIN_ROWS rows run vdpbf16ps: the bits of avx512_bf16', {skip: SKIP}, () => {
  if (process.env.AFTERBURNER_AMX_MIN_ROWS) return;
  for (const [M, N, K] of [[1, 4096, 600], [2, 70, 333], [4, 33, 1031], [5, 40, 64]]) {
    const c = mk(M, N, K, {bias: randArray(N), biasMode: 2, act: ACT.relu});
    const packed = nat.bf16Pack(c.b, K, N, false);
    const x = amx(() => runBf16(c, packed)), y = withLevel('avx512_bf16', () => runBf16(c, packed));
    if (M <= AMX_MIN_ROWS) sameBits(x, y, `amx ${M}x${N}x${K} vs avx512_bf16`);
    else assert.ok(x.some((v, i) => v !== y[i]), `amx ${M}x${N}x${K}: the tiles (their own rounding) ran`);
    checkCase(c, x, `amx ${M}x${N}x${K}`);
  }
});

// The SDM's TDPBF16PS on the kernel's blocking: K blocks of kb pairs (as the driver cuts them),
// each in steps of 16 pairs from the block's start; per step two f32 chains from +0 (even and odd
// elements: FMA, RNE, FTZ), their sum, then added to the accumulator (which carries over the K
// blocks). Products of bf16 values are exact in f32; the float64 sum of one rounding step is
// rounded once by Math.fround (exact enough for normal-range data: a diagnostic).
function sdmModel(c) {
  const K2 = Math.ceil(c.K / 2), nbk = Math.ceil(K2 / KC_PAIRS), kb = Math.ceil(K2 / nbk);
  const f = Math.fround;
  const ftz = (x) => (Math.abs(x) < 2 ** -126 ? 0 * Math.sign(x) : x);
  const out = new Float32Array(c.M * c.N);
  const A = (i, k) => (k < c.K ? bf(aAt(c, i, k)) : 0), B = (k, j) => (k < c.K ? bf(bAt(c, k, j)) : 0);
  for (let i = 0; i < c.M; ++i)
    for (let j = 0; j < c.N; ++j) {
      let acc = 0;
      for (let p0 = 0; p0 < K2; p0 += kb) {
        const p1 = Math.min(p0 + kb, K2);
        for (let s = p0; s < p1; s += 16) {
          let e = 0, o = 0;
          for (let p = s; p < Math.min(s + 16, p1); ++p) {
            e = ftz(f(A(i, 2 * p) * B(2 * p, j) + e));
            o = ftz(f(A(i, 2 * p + 1) * B(2 * p + 1, j) + o));
          }
          acc = ftz(f(acc + ftz(f(e + o))));
        }
      }
      out[i * c.N + j] = acc;
    }
  return out;
}

test('amx: the same bits as the SDM pseudo-code of TDPBF16PS on the kernel blocking', {skip: SKIP}, () => {
  let diff = 0, total = 0;
  const examples = [];
  amx(() => {
    for (const [M, N, K] of [[16, 16, 32], [33, 40, 100], [20, 64, 1100], [5, 7, 3]]) {
      const c = mk(M, N, K);
      const got = runBf16(c), want = sdmModel(c);
      for (let i = 0; i < got.length; ++i) {
        ++total;
        if (!Object.is(got[i], want[i])) {
          ++diff;
          if (examples.length < 3) examples.push(`${M}x${N}x${K}[${i}]: ${got[i]} vs model ${want[i]}`);
        }
      }
      checkCase(c, got, `sdm cases ${M}x${N}x${K}`);
    }
  });
  console.log(`# amx vs the SDM model: ${diff} of ${total} outputs differ${examples.length ? ': ' + examples.join('; ') : ''}`);
  assert.equal(diff, 0, `amx differs from the SDM pseudo-code of TDPBF16PS: ${examples.join('; ')}`);
});

// The dispatch policy at avx512_bf16 (gemm_bf16.cc): where vdpbf16ps is no faster than f32 FMA,
// calls of more than MR rows run the avx512 emulation, which must give the same bits.
const HAVE_BF16 = cpuMax >= LADDER.indexOf('avx512_bf16');
function childRun(env) {
  const code = `const n = require(${JSON.stringify(addonPath)});
    let s = 99; const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 * 2 - 1);
    const out = [];
    n.isaSet('avx512_bf16');
    for (const [M, N, K] of [[100, 70, 300], [3, 40, 50], [257, 33, 1100]]) {
      const a = Float32Array.from({length: M * K}, r), b = Float32Array.from({length: K * N}, r);
      const c = new Float32Array(M * N);
      n.bf16Gemm(a, n.bf16Pack(b, K, N, false), c, M, N, K, false, null, 0, 0, 0, null, 0);
      out.push(Buffer.from(c.buffer).toString('base64'));
    }
    console.log(JSON.stringify({policy: n.bf16Policy(), out}));`;
  const r = spawnSync(process.execPath, ['-e', code], {env: {...process.env, AFTERBURNER_ISA: '', ...env}, encoding: 'utf8'});
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('bf16 policy: bf16Policy() reports the measured vdpbf16ps/FMA rate and the choice', () => {
  const p = nat.bf16Policy();
  assert.equal(typeof p.why, 'string');
  if (!HAVE_BF16) {
    assert.equal(p.emulate, false);
    assert.match(p.why, /no AVX512_BF16/);
    return;
  }
  if (p.dotSpeedup === -1) assert.match(p.why, /AFTERBURNER_BF16_EMULATE/);
  else {
    assert.ok(p.dotSpeedup > 0.2 && p.dotSpeedup < 8, `dotSpeedup ${p.dotSpeedup}`);
    assert.equal(p.emulate, p.dotSpeedup < 2);  // kDotSpeedupMin
  }
  console.log(`# bf16 policy: vdpbf16ps/FMA flop rate ${p.dotSpeedup.toFixed(2)}, emulate ${p.emulate} (${p.why})`);
});

test('bf16 policy: AFTERBURNER_BF16_EMULATE=1 and =0 give the same bits at avx512_bf16 (fresh processes)', {skip: HAVE_BF16 ? false : 'no AVX512_BF16 here'}, () => {
  const on = childRun({AFTERBURNER_BF16_EMULATE: '1'}), off = childRun({AFTERBURNER_BF16_EMULATE: '0'});
  assert.deepEqual([on.policy.emulate, on.policy.dotSpeedup], [true, -1]);
  assert.deepEqual([off.policy.emulate, off.policy.dotSpeedup], [false, -1]);
  const measured = childRun({AFTERBURNER_BF16_EMULATE: ''});
  for (let i = 0; i < on.out.length; ++i) {
    const f32 = (b64) => {
      const b = Buffer.from(b64, 'base64');
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    };
    const x = f32(on.out[i]), y = f32(off.out[i]);
    assert.equal(x.length, [100 * 70, 3 * 40, 257 * 33][i]);
    sameBits(x, y, `case ${i}: emulated vs vdpbf16ps`);
    assert.equal(measured.out[i], off.out[i], `case ${i}: the measured policy (${measured.policy.why})`);
  }
});

// SPDX-License-Identifier: Apache-2.0
// Ops that write their output over an input (the graph planner's in-place rule, executor.ts).
//
// pool2d and conv2d / conv2dBf16 in place (out === x): bitwise equal to the out-of-place call over
// random geometries whose output rows fit over the input's.
//
// conv2d / conv2dBf16 with a residual operand ('addend', the epilogue of ab.FusedConv2DAdd):
// y = act(conv(x, w) + bias + addend), each step rounded to f32. Checked three ways on every conv
// path (1x1 GEMM, direct tiles, implicit im2col with one and with several K blocks, explicit
// im2col, the one-row GEMV), at every ISA level this CPU has, at one and two threads:
//   - against a float64 reference (tolerance by K);
//   - bitwise against the same conv without the addend followed by the add and activation in JS
//     (the roundings the separate ops make);
//   - written in place (out === addend) bitwise equal to the out-of-place call.
// And the argument checks for 'addend'. Addon only (no tfjs).
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {ACT} from './lib/gemm-ref.mjs';
import {LADDER, nativeKit, sameBits, withConvMode} from './lib/native-kit.mjs';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');
const {randArray, withLevel, withThreads} = nativeKit(nat, 4242);
const cpuMax = LADDER.indexOf(nat.isaCpu());
const LEVELS = nat.isaBuiltLevels().filter((l) => LADDER.indexOf(l) <= cpuMax);
const f = Math.fround;

/** [batch, inH, inW, inC, outH, outW, outC, fH, fW, sH, sW, dH, dW, padTop, padLeft] for a 'same'-style conv. */
function geometry({b = 1, h, w, ci, co, k, s = 1}) {
  const oh = Math.ceil(h / s), ow = Math.ceil(w / s);
  const pt = Math.max(0, Math.floor(((oh - 1) * s + k - h) / 2)), pl = Math.max(0, Math.floor(((ow - 1) * s + k - w) / 2));
  return [b, h, w, ci, oh, ow, co, k, k, s, s, 1, 1, pt, pl];
}

/** float64 conv + bias + addend, then the activation (relu, relu6, prelu per channel or linear). */
function reference(x, wt, d, bias, addend, act, slope) {
  const [B, H, W, C, OH, OW, N, FH, FW, SH, SW, DH, DW, PT, PL] = d;
  const y = new Float64Array(B * OH * OW * N);
  for (let b = 0; b < B; ++b) for (let oh = 0; oh < OH; ++oh) for (let ow = 0; ow < OW; ++ow) for (let n = 0; n < N; ++n) {
    let s = 0;
    for (let fh = 0; fh < FH; ++fh) for (let fw = 0; fw < FW; ++fw) {
      const ih = oh * SH - PT + fh * DH, iw = ow * SW - PL + fw * DW;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      for (let c = 0; c < C; ++c) s += x[((b * H + ih) * W + iw) * C + c] * wt[((fh * FW + fw) * C + c) * N + n];
    }
    const m = (b * OH + oh) * OW + ow;
    let v = s + (bias ? bias[n] : 0) + addend[m * N + n];
    if (act === ACT.relu) v = Math.max(0, v);
    else if (act === ACT.relu6) v = Math.min(6, Math.max(0, v));
    else if (act === ACT.prelu) v = v < 0 ? v * slope[n] : v;
    y[m * N + n] = v;
  }
  return y;
}

/** The separate ops: y (conv + bias, f32) + addend rounded, then the activation, as tfjs-cpu's kernels do it. */
function separate(y, addend, act, slope, N) {
  const out = new Float32Array(y.length);
  for (let i = 0; i < y.length; ++i) {
    let v = f(y[i] + addend[i]);
    if (act === ACT.relu) v = v < 0 ? 0 : v;
    else if (act === ACT.relu6) v = v < 0 ? 0 : v > 6 ? 6 : v;
    else if (act === ACT.prelu) v = v < 0 ? f(v * slope[i % N]) : v;
    out[i] = v;
  }
  return out;
}

/** Equal as numbers (0 and -0 alike: relu's zero sign is the epilogue's business), NaN with NaN. */
function sameValues(a, b, label) {
  for (let i = 0; i < a.length; ++i) {
    if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) assert.fail(`${label}: element ${i}: ${a[i]} vs ${b[i]}`);
  }
}

// Shapes reaching each path of conv2d_nhwc_f32 (mode: AFTERBURNER_CONV, read at each call).
const CASES = [
  {name: '1x1, 16->24 (one GEMM on x)', g: {h: 9, w: 7, ci: 16, co: 24, k: 1}},
  {name: '1x1, 144->40 (direct tiles)', g: {h: 6, w: 5, ci: 144, co: 40, k: 1}},
  {name: '3x3, 8->8 (direct tiles)', g: {h: 7, w: 9, ci: 8, co: 8, k: 3}},
  {name: '3x3 stride 2, 12->20, batch 2', g: {b: 2, h: 9, w: 8, ci: 12, co: 20, k: 3, s: 2}},
  {name: '3x3, 80->17, implicit im2col, K = 720 (several K blocks)', g: {h: 5, w: 6, ci: 80, co: 17, k: 3}, mode: 'implicit'},
  {name: '3x3, 6->33, implicit im2col', g: {h: 5, w: 5, ci: 6, co: 33, k: 3}, mode: 'implicit'},
  {name: '3x3, 5->9, explicit im2col', g: {h: 6, w: 4, ci: 5, co: 9, k: 3}, mode: 'im2col'},
  {name: '1x1 on one pixel (GEMV)', g: {h: 1, w: 1, ci: 40, co: 70, k: 1}},
  {name: '1x1, to one channel (GEMV)', g: {h: 4, w: 6, ci: 12, co: 1, k: 1}},
];
const EPILOGUES = [
  {act: ACT.linear, bias: false},
  {act: ACT.relu, bias: true},
  {act: ACT.relu6, bias: true},
  {act: ACT.prelu, bias: true},
];

test('conv2d with an addend: float64 reference, the separate ops bit for bit, and in place, on every path and level', () => {
  for (const c of CASES) {
    const d = geometry(c.g);
    const [B, H, W, C, OH, OW, N, FH, FW] = d;
    const K = FH * FW * C, MN = B * OH * OW * N;
    const x = randArray(B * H * W * C), wt = randArray(K * N, 1 / Math.sqrt(K));
    const bias = randArray(N), slope = randArray(N, 0.5), addend = randArray(MN, 2);
    const packed = nat.packWeight(wt, K, N, false);
    for (const level of LEVELS) {
      for (const threads of [1, 2]) {
        withLevel(level, () => withThreads(threads, () => withConvMode(c.mode, () => {
          for (const e of EPILOGUES) {
            const label = `${c.name}, ${level}, ${threads} thread(s), act ${e.act}${e.bias ? ', bias' : ''}`;
            const b = e.bias ? bias : null, sl = e.act === ACT.prelu ? slope : null, sm = sl ? 2 : 0;
            for (const pk of [null, packed]) {
              const plain = new Float32Array(MN);
              nat.conv2d(x, wt, plain, d, b, b ? 2 : 0, ACT.linear, 0, null, 0, pk);
              const out = new Float32Array(MN);
              nat.conv2d(x, wt, out, d, b, b ? 2 : 0, e.act, 0, sl, sm, pk, addend);
              sameValues(out, separate(plain, addend, e.act, slope, N), `${label}${pk ? ', packed' : ''}: vs the separate ops`);
              const inPlace = addend.slice();
              nat.conv2d(x, wt, inPlace, d, b, b ? 2 : 0, e.act, 0, sl, sm, pk, inPlace);
              sameBits(inPlace, out, `${label}${pk ? ', packed' : ''}: in place`);
              if (level === LEVELS[0] && threads === 1 && !pk) {
                const ref = reference(x, wt, d, b, addend, e.act, slope);
                const tol = 8 * Math.sqrt(K) * 2 ** -24 * 4;
                for (let i = 0; i < MN; ++i) {
                  assert.ok(Math.abs(out[i] - ref[i]) <= tol * (1 + Math.abs(ref[i])), `${label}: element ${i}: ${out[i]} vs ${ref[i]}`);
                }
              }
            }
          }
        })));
      }
    }
    nat.packedFree?.(packed);
  }
});

test('conv2dBf16 with an addend: the separate ops bit for bit, and in place, at every level', () => {
  for (const c of CASES.filter((k) => !k.mode)) {
    const d = geometry(c.g);
    const [B, H, W, C, OH, OW, N, FH, FW] = d;
    const K = FH * FW * C, MN = B * OH * OW * N;
    const x = randArray(B * H * W * C), wt = randArray(K * N, 1 / Math.sqrt(K));
    const bias = randArray(N), addend = randArray(MN, 2);
    const packed = nat.bf16Pack(wt, K, N, false);
    for (const level of LEVELS) {
      withLevel(level, () => {
        const label = `${c.name}, bf16, ${level}`;
        const plain = new Float32Array(MN);
        nat.conv2dBf16(x, packed, plain, d, bias, 2, ACT.linear, 0, null, 0);
        const out = new Float32Array(MN);
        nat.conv2dBf16(x, packed, out, d, bias, 2, ACT.relu, 0, null, 0, addend);
        sameValues(out, separate(plain, addend, ACT.relu, null, N), `${label}: vs the separate ops`);
        const inPlace = addend.slice();
        nat.conv2dBf16(x, packed, inPlace, d, bias, 2, ACT.relu, 0, null, 0, inPlace);
        sameBits(inPlace, out, `${label}: in place`);
      });
    }
  }
});

test('conv2d and conv2dBf16 reject a bad addend with clear errors', () => {
  const d = geometry({h: 4, w: 4, ci: 2, co: 3, k: 3});
  const x = randArray(32), wt = randArray(54), out = new Float32Array(48 + 8);
  const y = out.subarray(0, 48);
  const packed = nat.bf16Pack(wt, 18, 3, false);
  const bad = [
    [new Float32Array(47), /'addend' has 47 elements, needs the output's size = 48/],
    [out.subarray(4, 52), /'addend' must be 'out' itself \(in place\) or not share memory with it/],
    [new Int32Array(48), /argument 'addend' must be a Float32Array/],
  ];
  for (const [addend, re] of bad) {
    assert.throws(() => nat.conv2d(x, wt, y, d, null, 0, 0, 0, null, 0, null, addend), re);
    assert.throws(() => nat.conv2dBf16(x, packed, y, d, null, 0, 0, 0, null, 0, addend), re);
  }
  // The addend may share memory with x (both are only read), and null / undefined mean none.
  const xs = randArray(48);
  nat.conv2d(xs.subarray(0, 32), wt, y, d, null, 0, 0, 0, null, 0, null, xs);
  nat.conv2d(x, wt, y, d, null, 0, 0, 0, null, 0, null, null);
  nat.conv2d(x, wt, y, d, null, 0, 0, 0, null, 0, undefined, undefined);
});

test('pool2d in place (out === x) equals the out-of-place call bit for bit, on random geometries, levels and threads', () => {
  let cases = 0;
  for (let seed = 0; seed < 60; ++seed) {
    const pick = (xs) => xs[Math.floor((randArray(1)[0] + 1) / 2 * xs.length) % xs.length];
    const B = pick([1, 2]), H = pick([1, 3, 7, 12]), W = pick([1, 4, 9, 13]), C = pick([1, 3, 16, 19]);
    const fh = pick([1, 2, 3, 5]), fw = pick([1, 2, 3]), sh = pick([1, 1, 2, 3]), sw = pick([1, 2]);
    const dh = pick([1, 1, 2]), dw = pick([1, 2]);
    const same = pick([true, false]);
    const eh = (fh - 1) * dh + 1, ew = (fw - 1) * dw + 1;
    const oh = same ? Math.ceil(H / sh) : Math.floor((H - eh) / sh) + 1, ow = same ? Math.ceil(W / sw) : Math.floor((W - ew) / sw) + 1;
    if (oh < 1 || ow < 1 || oh > H || ow > W) continue;
    const pt = same ? Math.max(0, Math.floor(((oh - 1) * sh + eh - H) / 2)) : 0;
    const pl = same ? Math.max(0, Math.floor(((ow - 1) * sw + ew - W) / 2)) : 0;
    const d = [B, H, W, C, oh, ow, fh, fw, sh, sw, dh, dw, pt, pl];
    const x = randArray(B * H * W * C, 3);
    for (const type of [0, 1]) {
      for (const level of LEVELS) {
        for (const threads of [1, 2]) {
          withLevel(level, () => withThreads(threads, () => {
            const want = new Float32Array(B * oh * ow * C);
            nat.pool2d(type, x, want, d);
            // Blocks of 1, 2 and 3 rows (rows then wait for later ones), and the default block.
            for (const rows of ['1', '2', '3', '']) {
              process.env.AFTERBURNER_INPLACE_ROWS = rows;
              const buf = x.slice();
              nat.pool2d(type, buf, buf.subarray(0, want.length), d);
              sameBits(buf.subarray(0, want.length), want, `pool ${type} [${d}] at ${level}, ${threads} thread(s), block ${rows}`);
            }
            delete process.env.AFTERBURNER_INPLACE_ROWS;
          }));
        }
      }
    }
    ++cases;
  }
  assert.ok(cases >= 30, `only ${cases} geometries drawn`);
});

test('matmul with an addend: the separate ops bit for bit, and in place, over batches, GEMV and K-blocked shapes', () => {
  // [batch, M, N, K, transA, transB]: blocked, one and several K blocks (KC is 512 at avx512,
  // 256 below), GEMV (M = 1, N = 1), batches run one after another and in parallel.
  const shapes = [[1, 33, 40, 20, false, false], [1, 17, 70, 600, false, true], [1, 1, 50, 30, false, false],
                  [1, 9, 1, 40, true, false], [3, 12, 24, 16, false, false], [8, 5, 6, 7, true, true], [2, 20, 30, 300, false, false]];
  for (const [batch, M, N, K, tA, tB] of shapes) {
    const a = randArray(batch * M * K), b = randArray(batch * K * N, 1 / Math.sqrt(K));
    const bias = randArray(N), addend = randArray(batch * M * N, 2);
    for (const level of LEVELS) {
      for (const threads of [1, 2]) {
        withLevel(level, () => withThreads(threads, () => {
          for (const act of [ACT.linear, ACT.relu]) {
            const label = `matmul ${batch}x${M}x${N}x${K}${tA ? ' tA' : ''}${tB ? ' tB' : ''}, ${level}, ${threads} thread(s), act ${act}`;
            const plain = new Float32Array(batch * M * N);
            nat.matmul(a, b, plain, batch, M, N, K, tA, tB, null, null, bias, 2, ACT.linear, 0, null, 0);
            const out = new Float32Array(batch * M * N);
            nat.matmul(a, b, out, batch, M, N, K, tA, tB, null, null, bias, 2, act, 0, null, 0, null, addend);
            sameValues(out, separate(plain, addend, act, null, N), `${label}: vs the separate ops`);
            const inPlace = addend.slice();
            nat.matmul(a, b, inPlace, batch, M, N, K, tA, tB, null, null, bias, 2, act, 0, null, 0, null, inPlace);
            sameBits(inPlace, out, `${label}: in place`);
          }
        }));
      }
    }
  }
  const a = randArray(6), b = randArray(6), out = new Float32Array(4 + 2);
  assert.throws(() => nat.matmul(a, b, out.subarray(0, 4), 1, 2, 2, 3, false, false, null, null, null, 0, 0, 0, null, 0, null,
                                 out.subarray(1, 5)), /'addend' must be 'out' itself \(in place\) or not share memory with it/);
  assert.throws(() => nat.matmul(a, b, out.subarray(0, 4), 1, 2, 2, 3, false, false, null, null, null, 0, 0, 0, null, 0, null,
                                 new Float32Array(3)), /'addend' has 3 elements/);
});

test('conv2d and conv2dBf16 in place (out === x) equal the out-of-place call, on random geometries, levels and threads', () => {
  let cases = 0;
  const pick = (xs) => xs[Math.floor((randArray(1)[0] + 1) / 2 * xs.length) % xs.length];
  // Fixed cases first: one output column over several rows (an in-place block of one position
  // must take its convolution's path, not the one-position GEMV), and the narrow path (<= 4
  // output channels); then random geometries.
  const FIXED = [[1, 6, 1, 20, 6, 1, 8, 3, 3, 1, 1, 1, 1, 1, 1], [2, 4, 1, 16, 4, 1, 4, 1, 1, 1, 1, 1, 1, 0, 0],
    [1, 5, 9, 8, 5, 9, 2, 3, 3, 1, 1, 1, 1, 1, 1]];
  for (let seed = 0; seed < 80 + FIXED.length && cases < 40 + FIXED.length; ++seed) {
    let d;
    if (seed < FIXED.length) {
      d = FIXED[seed];
    } else {
      const B = pick([1, 2]), H = pick([3, 6, 9]), W = pick([4, 7, 10]), C = pick([3, 8, 16, 20]);
      const k = pick([1, 1, 3, 5]), s = pick([1, 1, 2]), dil = pick([1, 1, 2]), co = pick([1, 4, 8, 16, 24]);
      const same = pick([true, false]);
      const e = (k - 1) * dil + 1;
      const oh = same ? Math.ceil(H / s) : Math.floor((H - e) / s) + 1, ow = same ? Math.ceil(W / s) : Math.floor((W - e) / s) + 1;
      if (oh < 1 || ow < 1 || oh > H || ow * co > W * C) continue;
      const pt = same ? Math.max(0, Math.floor(((oh - 1) * s + e - H) / 2)) : 0, pl = same ? Math.max(0, Math.floor(((ow - 1) * s + e - W) / 2)) : 0;
      d = [B, H, W, C, oh, ow, co, k, k, s, s, dil, dil, pt, pl];
    }
    const [B, H, W, C, oh, ow, co, k] = d;
    const K = k * k * C, MN = B * oh * ow * co;
    const x = randArray(B * H * W * C), wt = randArray(K * co, 1 / Math.sqrt(K)), bias = randArray(co);
    const packed = nat.packWeight(wt, K, co, false), bpacked = nat.bf16Pack(wt, K, co, false);
    const act = pick([ACT.linear, ACT.relu6]);
    for (const level of LEVELS) {
      for (const threads of [1, 2]) {
        withLevel(level, () => withThreads(threads, () => {
          for (const rows of ['1', '2', '']) {
            process.env.AFTERBURNER_INPLACE_ROWS = rows;
            const label = `conv [${d}] at ${level}, ${threads} thread(s), block ${rows}`;
            const want = new Float32Array(MN);
            nat.conv2d(x, wt, want, d, bias, 2, act, 0, null, 0, packed);
            const buf = x.slice();
            nat.conv2d(buf, wt, buf.subarray(0, MN), d, bias, 2, act, 0, null, 0, packed);
            sameBits(buf.subarray(0, MN), want, label);
            const bwant = new Float32Array(MN);
            nat.conv2dBf16(x, bpacked, bwant, d, bias, 2, act, 0, null, 0);
            const bbuf = x.slice();
            nat.conv2dBf16(bbuf, bpacked, bbuf.subarray(0, MN), d, bias, 2, act, 0, null, 0);
            sameBits(bbuf.subarray(0, MN), bwant, `${label}, bf16`);
          }
          delete process.env.AFTERBURNER_INPLACE_ROWS;
        }));
      }
    }
    nat.packedFree?.(packed);
    ++cases;
  }
  assert.ok(cases >= 25, `only ${cases} geometries drawn`);
  // An addend with an in-place conv, and per-position operands, are refused.
  const d = [1, 4, 4, 2, 4, 4, 2, 1, 1, 1, 1, 1, 1, 0, 0];
  const buf = randArray(32), wt = randArray(4);
  assert.throws(() => nat.conv2d(buf, wt, buf, d, null, 0, 0, 0, null, 0, null, randArray(32)), /in place over x takes no addend/);
  assert.throws(() => nat.conv2d(buf, wt, buf, d, randArray(32), 3, 0, 0, null, 0), /must not share memory/);
});

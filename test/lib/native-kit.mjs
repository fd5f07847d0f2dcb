// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the addon-only GEMM tests (native-bf16, native-amx, native-quant): they run
// with the addon alone (no node_modules), so this file imports nothing but node:assert.
import assert from 'node:assert/strict';

import {ACT} from './gemm-ref.mjs';

export const LADDER = ['scalar', 'avx2', 'avx512', 'avx512_vnni', 'avx512_bf16', 'amx'];
export const U = 2 ** -24;

/** The epilogue operand of output (m, n) for an operand mode (1 scalar, 2 per column, 3 per element). */
export const operandAt = (p, mode, m, n, N) => (mode === 1 ? p[0] : mode === 2 ? p[n] : mode === 3 ? p[m * N + n] : 0);
export const aAt = (c, i, k) => (c.tA ? c.a[k * c.M + i] : c.a[i * c.K + k]);
export const bAt = (c, k, j) => (c.tB ? c.b[j * c.K + k] : c.b[k * c.N + j]);

/** x and y equal bit for bit (NaNs of any payload count as equal). */
export function sameBits(x, y, label) {
  const a = new Uint32Array(x.buffer, x.byteOffset, x.length), b = new Uint32Array(y.buffer, y.byteOffset, y.length);
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; ++i)
    if (a[i] !== b[i] && !(Number.isNaN(x[i]) && Number.isNaN(y[i])))
      assert.fail(`${label}: element ${i}: ${x[i]} (0x${a[i].toString(16)}) vs ${y[i]} (0x${b[i].toString(16)})`);
}

/**
 * The per-addon, per-seed part: a seeded generator (the same sequence as each test file had),
 * GEMM cases and their runs, and ISA-level / thread-count scopes.
 */
/** fn() with AFTERBURNER_CONV (the conv path, read by the addon at each call) set to mode (null: unset). */
export function withConvMode(mode, fn) {
  const before = process.env.AFTERBURNER_CONV;
  if (mode) process.env.AFTERBURNER_CONV = mode;
  else delete process.env.AFTERBURNER_CONV;
  try {
    return fn();
  } finally {
    if (before == null) delete process.env.AFTERBURNER_CONV;
    else process.env.AFTERBURNER_CONV = before;
  }
}

export function nativeKit(nat, seed) {
  const rnd = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32 * 2 - 1;
  };
  const randArray = (n, scale = 1) => {
    const x = new Float32Array(n);
    for (let i = 0; i < n; ++i) x[i] = rnd() * scale;
    return x;
  };
  /** A case: a [M,K] (or [K,M] if tA), b [K,N] (or [N,K] if tB), epilogue. */
  const mk = (M, N, K, o = {}) => {
    const c = {M, N, K, tA: false, tB: false, bias: null, biasMode: 0, act: 0, alpha: 0, slope: null, slopeMode: 0, ...o};
    c.a = o.a ?? randArray(M * K);
    c.b = o.b ?? randArray(K * N);
    return c;
  };
  const runBf16 = (c, packed = nat.bf16Pack(c.b, c.K, c.N, c.tB)) => {
    const out = new Float32Array(c.M * c.N).fill(NaN);  // never read
    nat.bf16Gemm(c.a, packed, out, c.M, c.N, c.K, c.tA, c.bias, c.biasMode, c.act, c.alpha, c.slope, c.slopeMode);
    return out;
  };
  const runF32 = (c) => {
    const out = new Float32Array(c.M * c.N);
    nat.matmul(c.a, c.b, out, 1, c.M, c.N, c.K, c.tA, c.tB, null, null, c.bias, c.biasMode, c.act, c.alpha, c.slope, c.slopeMode);
    return out;
  };
  const scoped = (get, set) => (value, fn) => {
    const before = get();
    set(value);
    try {
      return fn();
    } finally {
      set(before);
    }
  };
  const withLevel = scoped(() => nat.isaCurrent(), (l) => nat.isaSet(l));
  const withThreads = scoped(() => nat.getNumThreads(), (n) => nat.setNumThreads(n));
  /** Every epilogue form (bias modes, activations, prelu slope modes) for an M x N output. */
  const epilogues = (M, N) => [
    {},
    {bias: randArray(N), biasMode: 2},
    {bias: randArray(1), biasMode: 1, act: ACT.relu},
    {bias: randArray(M * N), biasMode: 3, act: ACT.relu6},
    {bias: randArray(N), biasMode: 2, act: ACT.elu},
    {act: ACT.leakyrelu, alpha: 0.2},
    {bias: randArray(N), biasMode: 2, act: ACT.prelu, slope: randArray(N, 3), slopeMode: 2},
    {act: ACT.prelu, slope: randArray(M * N), slopeMode: 3},
    {act: ACT.prelu, slope: new Float32Array([-1.5]), slopeMode: 1},
    {bias: randArray(N), biasMode: 2, act: ACT.sigmoid},
  ];
  return {rnd, randArray, mk, runBf16, runF32, withLevel, withThreads, epilogues};
}

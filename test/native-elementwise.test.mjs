// SPDX-License-Identifier: Apache-2.0
// Native elementwise / softmax / reduce kernels, tested directly against the addon at every ISA
// level this CPU runs, with float64 references.
//
// Bounds (err measured against the exact float64 value, in ulps of the float32-rounded value):
//   exact ops (+ - * /, max, min, prelu, relu, relu6, sqrt, square, neg, abs): bit-identical
//     to tfjs-cpu's float64-then-round result, sign of zero included;
//   leakyrelu (alpha is rounded to float32 natively): <= 1 ulp; rsqrt (sqrt, then divide):
//   1.5; squared difference: 2;
//   exp, log, elu: <= 1.5 ulp; tanh: 2; sigmoid: 3; erf: 3 ulp or 1e-7 absolute;
//   softmax: 4 ulp (+ 2^-147 absolute for subnormal outputs);
//   sum/mean: |err| <= 48 * 2^-24 * sum|x| (blocked + compensated float32 sums), and a case
//     where a plain running float32 sum is far outside that bound;
//   max/min: exact (NaN wins, first zero's sign, as tfjs); prod: 1 ulp (float64 accumulation).
// NaN must come out NaN and +-Inf must match exactly everywhere.
// Run: node --test test/native-elementwise.test.mjs   (AFTERBURNER_ADDON overrides the path)
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

const require = createRequire(import.meta.url);
const addonPath = process.env.AFTERBURNER_ADDON ||
    fileURLToPath(new URL('../build/Release/afterburner.node', import.meta.url));
const nat = require(addonPath);

const LADDER = ['scalar', 'avx2', 'avx512', 'avx512_vnni', 'avx512_bf16', 'amx'];
const LEVELS = LADDER.slice(0, LADDER.indexOf(nat.isaCpu()) + 1);
const BinaryOp = {Add: 0, Sub: 1, Mul: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6, Prelu: 7};
const UnaryOp = {Relu: 0, Relu6: 1, Elu: 2, LeakyRelu: 3, Sigmoid: 4, Tanh: 5, Exp: 6, Log: 7, Sqrt: 8,
  Rsqrt: 9, Square: 10, Neg: 11, Abs: 12, Erf: 13};
const ReduceOp = {Sum: 0, Mean: 1, Max: 2, Min: 3, Prod: 4};

function withLevel(level, threads, fn) {
  const prevT = nat.getNumThreads();
  nat.isaSet(level);
  nat.setNumThreads(threads);
  try { fn(); } finally { nat.setNumThreads(prevT); nat.isaSet(LADDER[LADDER.length - 1] === level ? level : nat.isaCpu()); }
}
function forEachLevel(fn, threadList = [1]) {
  for (const level of LEVELS) for (const t of threadList) withLevel(level, t, () => fn(level, t));
}

// ---------------------------------------------------------------------------------------------
// Data: a seeded generator mixing normal values, wide magnitudes and specials.
function rng(seed) {
  let s = seed >>> 0;
  return () => { s = (s + 0x6D2B79F5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}
const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 6, 1e-40, -1e-40, 3e38, -3e38, 1e-30, -88.8, 88.8,
  -104, 20, -20, 0.921875, -0.625, 1e-7];
function data(n, seed, {specials = true, wide = true, lo = -10, hi = 10} = {}) {
  const r = rng(seed), x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (specials && u < 0.05) x[i] = SPECIALS[Math.floor(r() * SPECIALS.length)];
    else if (wide && u < 0.15) x[i] = (r() * 2 - 1) * 10 ** (r() * 76 - 38);  // wide magnitudes
    else x[i] = lo + (hi - lo) * r();
  }
  return x;
}

// ---------------------------------------------------------------------------------------------
// Comparison.
function ulpOf(v) {
  v = Math.abs(Math.fround(v));
  if (v === 0 || v < 2 ** -126) return 2 ** -149;
  if (!Number.isFinite(v)) return Infinity;
  return 2 ** (Math.floor(Math.log2(v)) - 23);
}
// mode: 'exact' (Object.is against the rounded reference) or {ulps, abs}.
function compare(got, want, mode, ctx, inputs = () => '') {
  assert.equal(got.length, want.length, `${ctx}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i], wf = Math.fround(w), g = got[i];
    const where = () => `${ctx}: element ${i} ${inputs(i)} got ${Object.is(g, -0) ? '-0' : g}, want ${Object.is(wf, -0) ? '-0' : wf}`;
    if (Number.isNaN(wf)) { if (!Number.isNaN(g)) assert.fail(where()); continue; }
    if (Number.isNaN(g)) assert.fail(where());
    if (mode === 'exact') { if (!Object.is(g, wf)) assert.fail(where()); continue; }
    if (!Number.isFinite(wf) || !Number.isFinite(g)) { if (g !== wf) assert.fail(where()); continue; }
    const err = Math.abs(g - w);
    if (mode.abs !== undefined && err <= mode.abs) continue;
    const e = err / ulpOf(w);
    worst = Math.max(worst, e);
    if (!(e <= mode.ulps)) assert.fail(`${where()} (${e.toFixed(2)} ulp > ${mode.ulps})`);
  }
  return worst;
}

// ---------------------------------------------------------------------------------------------
// float64 references (tfjs-backend-cpu 4.22 formulas; erf is the true erf).
function erf64(x) {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  let term = ax, sum = ax;
  const x2 = ax * ax;
  for (let n = 1; n < 500; n++) { term *= 2 * x2 / (2 * n + 1); sum += term; if (term < sum * 1e-17) break; }
  const r = 2 / Math.sqrt(Math.PI) * Math.exp(-x2) * sum;
  return x < 0 || Object.is(x, -0) ? -r : r;
}
const ALPHA = 0.2;
const UNARY = {
  Relu: {f: (x) => Math.max(0, x), tol: 'exact'},
  Relu6: {f: (x) => Math.min(Math.max(0, x), 6), tol: 'exact'},
  Elu: {f: (x) => (x >= 0 ? x : Math.expm1(x)), tol: {ulps: 1.5}},
  LeakyRelu: {f: (x) => (x < 0 ? ALPHA * x : x), tol: {ulps: 1}},
  Sigmoid: {f: (x) => 1 / (1 + Math.exp(-x)), tol: {ulps: 3}},
  Tanh: {f: Math.tanh, tol: {ulps: 2}},
  Exp: {f: Math.exp, tol: {ulps: 1.5}},
  Log: {f: Math.log, tol: {ulps: 1.5}},
  Sqrt: {f: Math.sqrt, tol: 'exact'},
  Rsqrt: {f: (x) => 1 / Math.sqrt(x), tol: {ulps: 1.5}},
  Square: {f: (x) => x * x, tol: 'exact'},
  Neg: {f: (x) => -1 * x, tol: 'exact'},
  Abs: {f: Math.abs, tol: 'exact'},
  Erf: {f: erf64, tol: {ulps: 3, abs: 1e-7}},
};
const BINARY = {
  Add: {f: (a, b) => a + b, tol: 'exact'},
  Sub: {f: (a, b) => a - b, tol: 'exact'},
  Mul: {f: (a, b) => a * b, tol: 'exact'},
  RealDiv: {f: (a, b) => a / b, tol: 'exact'},
  Maximum: {f: (a, b) => Math.max(a, b), tol: 'exact'},
  Minimum: {f: (a, b) => Math.min(a, b), tol: 'exact'},
  SquaredDifference: {f: (a, b) => (a - b) * (a - b), tol: {ulps: 2}},
  Prelu: {f: (a, b) => (a < 0 ? b * a : a), tol: 'exact'},
};

function sizeOf(shape) { return shape.reduce((p, d) => p * d, 1); }
function broadcastRef(f, a, as, b, bs, os) {
  const n = sizeOf(os), out = new Float64Array(n), r = os.length;
  const idx = new Array(r).fill(0);
  const off = (shape, i) => { // flat offset into a broadcast input for out index idx
    let o = 0; const k = r - shape.length;
    for (let d = 0; d < shape.length; d++) o = o * shape[d] + (shape[d] === 1 ? 0 : idx[d + k]);
    return o;
  };
  for (let i = 0; i < n; i++) {
    let q = i;
    for (let d = r - 1; d >= 0; d--) { idx[d] = q % os[d]; q = Math.floor(q / os[d]); }
    out[i] = f(a[off(as, i)], b[off(bs, i)]);
  }
  return out;
}
function broadcastShape(as, bs) {
  const r = Math.max(as.length, bs.length), o = [];
  for (let i = 0; i < r; i++) {
    const x = as[as.length - r + i] ?? 1, y = bs[bs.length - r + i] ?? 1;
    o.push(x === 1 ? y : x);
  }
  return o;
}

const SIZES = [0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 100, 1000, 1031, 4099];

// ---------------------------------------------------------------------------------------------
test('unary ops match float64 references at every ISA level (odd sizes, specials)', () => {
  const worst = {};
  forEachLevel((level) => {
    for (const [name, {f, tol}] of Object.entries(UNARY)) {
      for (const n of SIZES) {
        const x = data(n, 1000 + n);
        const out = new Float32Array(n);
        nat.unary(UnaryOp[name], x, out, ALPHA);
        const e = compare(out, Array.from(x, f), tol, `${level} ${name} n=${n}`, (i) => `x=${x[i]}`);
        worst[name] = Math.max(worst[name] ?? 0, e);
      }
    }
  });
  if (process.env.AB_VERBOSE) console.log('unary worst ulp', worst);
});

test('unary transcendentals over the whole float range (bit patterns) stay within their ulp bounds', () => {
  const n = 1 << 16;
  const x = new Float32Array(n), xb = new Uint32Array(x.buffer), r = rng(7);
  for (let i = 0; i < n; i++) xb[i] = (i * 65536 + Math.floor(r() * 65536)) >>> 0;  // every exponent, both signs
  forEachLevel((level) => {
    for (const name of ['Elu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Erf', 'Rsqrt', 'Sqrt']) {
      const out = new Float32Array(n);
      nat.unary(UnaryOp[name], x, out, ALPHA);
      compare(out, Array.from(x, UNARY[name].f), UNARY[name].tol, `${level} ${name}`, (i) => `x=${x[i]}`);
    }
  });
});

test('unary special values: exact tfjs semantics', () => {
  const x = new Float32Array([NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 1.1754942e-38, 89, 88.72283, -87.5, -103.9, -104.5, -150, 0.625, -0.625, 9.5, 4.5, -4.5]);
  forEachLevel((level) => {
    for (const [name, {f, tol}] of Object.entries(UNARY)) {
      const out = new Float32Array(x.length);
      nat.unary(UnaryOp[name], x, out, ALPHA);
      compare(out, Array.from(x, f), tol, `${level} ${name}`, (i) => `x=${x[i]}`);
    }
    const o = new Float32Array(x.length);
    nat.unary(UnaryOp.Log, new Float32Array([0, -0, -1, Infinity, 1e-45]), o.subarray(0, 5), 0);
    assert.deepEqual(Array.from(o.subarray(0, 5)), [-Infinity, -Infinity, NaN, Infinity, Math.fround(Math.log(Math.fround(1e-45)))]);
    nat.unary(UnaryOp.Exp, new Float32Array([88.8, -104, NaN, -Infinity, Infinity]), o.subarray(0, 5), 0);
    assert.deepEqual(Array.from(o.subarray(0, 5)), [Infinity, 0, NaN, 0, Infinity]);
    nat.unary(UnaryOp.Relu, new Float32Array([-0, NaN]), o.subarray(0, 2), 0);
    assert.ok(Object.is(o[0], 0) && Number.isNaN(o[1]), `${level} relu(-0) = +0, relu(NaN) = NaN`);
    nat.unary(UnaryOp.Rsqrt, new Float32Array([-0, 0]), o.subarray(0, 2), 0);
    assert.deepEqual(Array.from(o.subarray(0, 2)), [-Infinity, Infinity]);
    nat.unary(UnaryOp.Sigmoid, new Float32Array([-100, -Infinity, Infinity]), o.subarray(0, 3), 0);
    assert.deepEqual(Array.from(o.subarray(0, 3)), [Math.fround(1 / (1 + Math.exp(100))), 0, 1]);
    assert.ok(o[0] > 0, 'sigmoid(-100) is a subnormal, not 0');
  });
});

test('vector lanes and tails agree bit for bit (shifted inputs), out may alias x', () => {
  const base = data(300, 99);
  forEachLevel((level) => {
    for (const name of Object.keys(UNARY)) {
      const full = new Float32Array(base.length);
      nat.unary(UnaryOp[name], base, full, ALPHA);
      for (let s = 1; s < 17; s++) {
        const part = new Float32Array(base.length - s);
        nat.unary(UnaryOp[name], base.subarray(s), part, ALPHA);
        for (let i = 0; i < part.length; i++) {
          if (!(Object.is(part[i], full[i + s]) || (Number.isNaN(part[i]) && Number.isNaN(full[i + s]))))
            assert.fail(`${level} ${name}: x=${base[i + s]} gives ${part[i]} at offset ${i} but ${full[i + s]} at ${i + s}`);
        }
      }
      const inplace = base.slice();
      nat.unary(UnaryOp[name], inplace, inplace, ALPHA);
      compare(inplace, full, 'exact', `${level} ${name} in place`);
    }
  });
});

test('unary on large tensors: 1 and 2 threads give identical results', () => {
  const n = 300007, x = data(n, 5);
  for (const name of ['Relu', 'Exp', 'Tanh', 'Erf', 'Neg']) {
    const res = [];
    forEachLevel(() => {
      const out = new Float32Array(n);
      nat.unary(UnaryOp[name], x, out, ALPHA);
      res.push(out);
    }, [1, 2]);
    for (let k = 1; k < res.length; k += 2) compare(res[k], res[k - 1], 'exact', `${name} 2 threads vs 1`);
    compare(res[res.length - 1], Array.from(x, UNARY[name].f), UNARY[name].tol, name);
  }
});

// ---------------------------------------------------------------------------------------------
const BCAST_CASES = [
  [[17], [17]], [[1000], [1000]], [[1031], []], [[], [65]], [[33], [1]], [[1], [33]],
  [[5, 17], [17]], [[17, 5], [17, 1]], [[4, 7, 9], [1, 7, 1]], [[4, 7, 9], [4, 1, 9]], [[3, 1], [1, 21]],
  [[3, 1], [3, 1], [3, 5]], [[2, 3, 4, 5], [4, 1]], [[1], [2, 3, 4, 5]], [[2, 1, 3, 1, 5], [1, 4, 1, 2, 1]],
  [[2, 1, 2, 3, 1, 2, 1, 3], [1, 3, 2, 1, 2, 1, 2, 3]], [[2, 2, 2, 2, 2, 2, 2, 17], [17]], [[1, 1, 1], [1]],
  [[0, 3], [3]], [[2, 0], [2, 1]], [[0], []], [[4, 0, 3], [1, 1, 3]], [[300, 257], [257]], [[257, 300], [257, 1]],
  [[1, 200003], [1]], [[70000], [70000]], [[3, 65, 600], [3, 1, 600]],
  // Short rows repeated (ops/elementwise.cc short_rows): many chunks, threads, either side, outer dims.
  [[1, 192, 192, 3], [1, 1, 1, 3]], [[7], [30001, 7]], [[2, 3001, 5], [2, 1, 5]], [[5, 1, 63], [5, 700, 63]],
];

test('binary ops with broadcasting match float64 references at every ISA level', () => {
  forEachLevel((level, threads) => {
    BCAST_CASES.forEach(([as, bs, os0], ci) => {
      const os = os0 ?? broadcastShape(as, bs);
      const a = data(sizeOf(as), 3 * ci + 1), b = data(sizeOf(bs), 3 * ci + 2);
      for (const [name, {f, tol}] of Object.entries(BINARY)) {
        const out = new Float32Array(sizeOf(os));
        nat.binary(BinaryOp[name], a, as, b, bs, out, os);
        compare(out, broadcastRef(f, a, as, b, bs, os), tol,
            `${level}/${threads}t ${name} [${as}] x [${bs}] -> [${os}]`);
        // In place over the full-size operand (graph plans write over a last reader).
        if (sizeOf(as) === sizeOf(os) && as.length === os.length && sizeOf(os) > 0) {
          const ip = a.slice();
          nat.binary(BinaryOp[name], ip, as, b, bs, ip, os);
          compare(ip, out, 'exact', `${level}/${threads}t ${name} [${as}] x [${bs}] in place over a`);
        }
        if (sizeOf(bs) === sizeOf(os) && bs.length === os.length && sizeOf(os) > 0) {
          const ip = b.slice();
          nat.binary(BinaryOp[name], a, as, ip, bs, ip, os);
          compare(ip, out, 'exact', `${level}/${threads}t ${name} [${as}] x [${bs}] in place over b`);
        }
      }
    });
  }, [1, 2]);
});

test('binary NaN/zero semantics (Math.max/min, prelu), Int32Array shapes and in-place', () => {
  const a = new Float32Array([0, -0, NaN, 1, NaN, -2, -0, 3, -Infinity, Infinity]);
  const b = new Float32Array([-0, 0, 1, NaN, NaN, 0.5, 2, -1, Infinity, -Infinity]);
  forEachLevel((level) => {
    for (const [name, {f}] of Object.entries(BINARY)) {
      const out = new Float32Array(a.length);
      nat.binary(BinaryOp[name], a, new Int32Array([10]), b, [10], out, [10]);
      compare(out, Array.from(a, (v, i) => f(v, b[i])), 'exact', `${level} ${name}`, (i) => `a=${a[i]} b=${b[i]}`);
      const inplace = a.slice();
      nat.binary(BinaryOp[name], inplace, [10], b, [10], inplace, [10]);
      compare(inplace, out, 'exact', `${level} ${name} in place`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
function softmaxRef(x, rows, cols) {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let m = x[r * cols];
    for (let j = 0; j < cols; j++) { const v = x[r * cols + j]; if (Number.isNaN(v) || v > m) m = v; }
    let s = 0;
    const e = [];
    // tfjs: sub, exp and sum are separate kernels, each result stored as float32
    for (let j = 0; j < cols; j++) { e.push(Math.fround(Math.exp(Math.fround(x[r * cols + j] - m)))); s += e[j]; }
    for (let j = 0; j < cols; j++) out[r * cols + j] = e[j] / s;
  }
  return out;
}

test('softmax matches exp(x - max) / sum, including NaN/+Inf/-Inf rows', () => {
  const shapes = [[1, 1], [3, 7], [5, 17], [2, 1000], [1, 4099], [64, 65], [300, 33], [3, 70001]];
  forEachLevel((level, threads) => {
    for (const [rows, cols] of shapes) {
      const x = data(rows * cols, rows * 31 + cols, {specials: false, lo: -30, hi: 30});
      const out = new Float32Array(rows * cols);
      nat.softmax(x, out, rows, cols);
      compare(out, softmaxRef(x, rows, cols), {ulps: 4, abs: 2 ** -147}, `${level}/${threads}t softmax ${rows}x${cols}`);
    }
    const sp = new Float32Array([1, Infinity, 2, 1, NaN, 2, -Infinity, -Infinity, -Infinity, -Infinity, 0, 1, 5, 5, 5]);
    const out = new Float32Array(sp.length);
    nat.softmax(sp, out, 5, 3);
    compare(out, softmaxRef(sp, 5, 3), {ulps: 4}, `${level} softmax specials`);
    assert.ok(out.slice(0, 9).every(Number.isNaN) && out[9] === 0, 'NaN rows and exp(-Inf) = 0');
    const same = sp.slice(9);
    nat.softmax(same, same, 2, 3);
    compare(same, out.slice(9), 'exact', `${level} softmax in place`);
    nat.softmax(new Float32Array(0), new Float32Array(0), 0, 5);
    nat.softmax(new Float32Array(0), new Float32Array(0), 4, 0);
  }, [1, 2]);
});

// ---------------------------------------------------------------------------------------------
function reduceRef(op, x, outer, r, inner) {
  const out = new Float64Array(outer * inner), absSum = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < inner; c++) {
      const at = (j) => x[(o * r + j) * inner + c];
      let v, sa = 0;
      if (op === 'Sum' || op === 'Mean') { v = 0; for (let j = 0; j < r; j++) { v += at(j); sa += Math.abs(at(j)); } if (op === 'Mean') { v /= r; sa /= r; } if (r === 0) v = 0; }
      if (op === 'Prod') { v = 1; for (let j = 0; j < r; j++) v *= at(j); }
      if (op === 'Max' || op === 'Min') {  // tfjs maxImpl/min: NaN or strictly beyond replaces; empty -> NaN
        v = r === 0 ? NaN : at(0);
        for (let j = 0; j < r; j++) { const y = at(j); if (Number.isNaN(y) || (op === 'Max' ? y > v : y < v)) v = y; }
      }
      out[o * inner + c] = v;
      absSum[o * inner + c] = sa;
    }
  }
  return {out, absSum};
}
function checkReduce(op, got, ref, ctx) {
  if (op === 'Max' || op === 'Min') return compare(got, ref.out, 'exact', ctx);
  if (op === 'Prod') return compare(got, ref.out, {ulps: 1}, ctx);
  for (let i = 0; i < got.length; i++) {
    const w = ref.out[i], g = got[i];
    if (!Number.isFinite(w) || !Number.isFinite(g)) {
      if (!(Object.is(Math.fround(w), g) || (Number.isNaN(w) && Number.isNaN(g)))) assert.fail(`${ctx}: [${i}] got ${g} want ${w}`);
      continue;
    }
    const bound = 48 * 2 ** -24 * ref.absSum[i] + 2 ** -149;
    if (!(Math.abs(g - w) <= bound)) assert.fail(`${ctx}: [${i}] got ${g} want ${w}, |err| ${Math.abs(g - w)} > ${bound}`);
  }
}

test('reductions over [outer, r, inner] match float64 references (inner 1 and > 1)', () => {
  const shapes = [[1, 1, 1], [1, 17, 1], [3, 1000, 1], [7, 33, 1], [1, 4099, 1], [2, 3, 5], [3, 65, 17],
    [2, 100, 64], [1, 37, 1000], [4, 1031, 3], [1, 300001, 1], [3, 70001, 1], [2, 500, 300], [1, 5, 0], [0, 5, 3]];
  forEachLevel((level, threads) => {
    for (const [outer, r, inner] of shapes) {
      const x = data(outer * r * inner, outer * 7 + r * 3 + inner, {specials: false, wide: false});
      for (const op of Object.keys(ReduceOp)) {
        const xx = op === 'Prod' ? x.map((v) => 1 + (v % 1) * 1e-2) : x;
        const out = new Float32Array(outer * inner);
        nat.reduce(ReduceOp[op], xx, out, outer, r, inner);
        checkReduce(op, out, reduceRef(op, xx, outer, r, inner), `${level}/${threads}t ${op} [${outer},${r},${inner}]`);
      }
    }
  }, [1, 2]);
});

test('reductions: NaN, +-Inf, signed zeros and empty axes follow tfjs', () => {
  const rows = [
    [1, NaN, 3], [NaN, -Infinity, 2], [-0, 0, -1], [0, -0, -1], [-Infinity, -Infinity, -Infinity],
    [Infinity, -Infinity, 1], [-5, -0, 0], [3e38, 3e38, -1], [0, 0, 0],
  ];
  forEachLevel((level) => {
    for (const [k, row] of rows.entries()) {
      for (const len of [3, 40]) {  // short rows (scalar) and long (vector body + tail)
        const x = new Float32Array(len).fill(-7);
        x.set(row, len - 3 - (k % 2) * Math.min(len - 3, 17));
        for (const op of Object.keys(ReduceOp)) {
          const out = new Float32Array(1);
          nat.reduce(ReduceOp[op], x, out, 1, len, 1);
          const ref = reduceRef(op, x, 1, len, 1);
          if (op === 'Sum' || op === 'Mean') {
            if (!Number.isFinite(ref.out[0]) || !Number.isFinite(out[0])) {
              // float32 accumulation: [3e38, 3e38, ...] overflows to +Inf (tfjs sums in float64)
              const naive = Array.from(x).reduce((s, v) => Math.fround(s + v), 0);
              assert.ok(Object.is(out[0], Math.fround(op === 'Mean' ? naive / len : naive)) ||
                  Object.is(out[0], Math.fround(ref.out[0])), `${level} ${op} row ${k}: ${out[0]}`);
              continue;
            }
          }
          checkReduce(op, out, ref, `${level} ${op} row ${k} len ${len}`);
          // Same data laid out as a column (inner > 1).
          const xc = new Float32Array(len * 5);
          for (let j = 0; j < len; j++) xc[j * 5 + 2] = x[j];
          const oc = new Float32Array(5);
          nat.reduce(ReduceOp[op], xc, oc, 1, len, 5);
          compare(oc.subarray(2, 3), out, 'exact', `${level} ${op} row ${k} len ${len} as a column`);
        }
      }
    }
    // R == 0: tfjs gives Sum 0, Mean 0, Max NaN, Min NaN, Prod 1.
    for (const [op, want] of [['Sum', 0], ['Mean', 0], ['Max', NaN], ['Min', NaN], ['Prod', 1]]) {
      const out = new Float32Array(6).fill(42);
      nat.reduce(ReduceOp[op], new Float32Array(0), out, 2, 0, 3);
      assert.ok(out.every((v) => Object.is(v, want)), `${level} ${op} over an empty axis: ${out}`);
    }
  });
});

test('sums are blocked: error stays bounded where a running float32 sum drifts', () => {
  const n = 1 << 22, x = new Float32Array(n).fill(0.1);
  const exact = n * Math.fround(0.1);
  let naive = 0;
  for (let i = 0; i < n; i += 1) naive = Math.fround(naive + x[i]);
  assert.ok(Math.abs(naive - exact) / exact > 1e-2, 'the naive sum should be far off');
  forEachLevel((level, threads) => {
    const out = new Float32Array(1);
    nat.reduce(ReduceOp.Sum, x, out, 1, n, 1);
    assert.ok(Math.abs(out[0] - exact) / exact < 1e-6, `${level}/${threads}t rows: ${out[0]} vs ${exact}`);
    const o2 = new Float32Array(4);
    nat.reduce(ReduceOp.Mean, x, o2, 1, n / 4, 4);
    for (const v of o2) assert.ok(Math.abs(v - Math.fround(0.1)) / 0.1 < 1e-6, `${level}/${threads}t cols mean: ${v}`);
  }, [1, 2]);
});

// ---------------------------------------------------------------------------------------------
test('bad arguments throw clear errors', () => {
  const f = (n) => new Float32Array(n);
  const x6 = f(6);
  const bad = [
    [() => nat.binary(8, f(3), [3], f(3), [3], f(3), [3]), RangeError, /binary: 'op' 8 is not a BinaryOp/],
    [() => nat.binary(-1, f(3), [3], f(3), [3], f(3), [3]), RangeError, /'op' -1/],
    [() => nat.binary(1.5, f(3), [3], f(3), [3], f(3), [3]), RangeError, /'op' must be an integer/],
    [() => nat.binary('0', f(3), [3], f(3), [3], f(3), [3]), TypeError, /'op' must be a number/],
    [() => nat.binary(0, new Float64Array(3), [3], f(3), [3], f(3), [3]), TypeError, /'a' must be a Float32Array/],
    [() => nat.binary(0, [1, 2, 3], [3], f(3), [3], f(3), [3]), TypeError, /'a' must be a Float32Array/],
    [() => nat.binary(0, f(3), [3], f(3), [3], f(3)), TypeError, /binary: expected 7 arguments, got 6/],
    [() => nat.binary(0, f(3), [-3], f(3), [3], f(3), [3]), RangeError, /'aShape'\[0\] must be a non-negative integer/],
    [() => nat.binary(0, f(3), [2.5], f(3), [3], f(3), [3]), RangeError, /'aShape'\[0\]/],
    [() => nat.binary(0, f(3), [NaN], f(3), [3], f(3), [3]), RangeError, /'aShape'\[0\]/],
    [() => nat.binary(0, f(3), ['3'], f(3), [3], f(3), [3]), RangeError, /'aShape'\[0\]/],
    [() => nat.binary(0, f(3), 3, f(3), [3], f(3), [3]), TypeError, /'aShape' must be an array/],
    [() => nat.binary(0, f(3), new Int32Array([-1]), f(3), [3], f(3), [3]), RangeError, /non-negative/],
    [() => nat.binary(0, f(4), [3], f(3), [3], f(3), [3]), RangeError, /'a' has 4 elements but 'aShape' \[3\] needs 3/],
    [() => nat.binary(0, f(3), [3], f(3), [3], f(4), [3]), RangeError, /'out' has 4 elements/],
    [() => nat.binary(0, f(6), [2, 3], f(2), [2], f(6), [2, 3]), RangeError, /'bShape' \[2\] does not broadcast to 'outShape' \[2,3\]: dim 0 is 2, expected 1 or 3/],
    [() => nat.binary(0, f(6), [2, 3], f(3), [1, 1, 3], f(6), [2, 3]), RangeError, /'bShape' \[1,1,3\] does not broadcast.*higher rank/],
    [() => nat.binary(0, f(1), [1, 1, 1, 1, 1, 1, 1, 1, 1], f(1), [1], f(1), [1]), RangeError, /'aShape' has rank 9, more than the supported 8/],
    [() => nat.binary(0, f(2), [2], f(2), [2], f(1), [1]), RangeError, /'aShape' \[2\] does not broadcast/],
    [() => nat.binary(0, x6.subarray(0, 3), [3], f(3), [3], x6.subarray(1, 4), [3]), RangeError, /'out' overlaps 'a'/],
    [() => nat.binary(0, x6.subarray(0, 1), [1], f(3), [3], x6.subarray(0, 3), [3]), RangeError, /'out' overlaps 'a'/],
    [() => nat.binary(0, f(3), [3], f(1e9 > 0 ? 0 : 0), [2 ** 40, 2 ** 40, 0], f(3), [3]), RangeError, /does not broadcast|higher rank/],
    [() => nat.binary(0, f(3), [3], f(3), [2 ** 30, 2 ** 30, 2 ** 30], f(3), [3]), RangeError, /too large/],
    [() => nat.unary(14, f(3), f(3), 0), RangeError, /unary: 'op' 14 is not a UnaryOp code \(0..13\)/],
    [() => nat.unary(0, f(3), f(4), 0), RangeError, /'out' has 4 elements but 'x' has 3/],
    [() => nat.unary(0, f(3), f(3)), TypeError, /expected 4 arguments/],
    [() => nat.unary(0, f(3), f(3), 'a'), TypeError, /'alpha' must be a number/],
    [() => nat.unary(0, x6.subarray(0, 4), x6.subarray(2, 6), 0), RangeError, /overlaps 'x'/],
    [() => nat.softmax(f(6), f(6), 4, 2), RangeError, /softmax: 'x' has 6 elements but '\[rows, cols\]' \[4,2\] needs 8/],
    [() => nat.softmax(f(6), f(6), -2, -3), RangeError, /'rows' must be >= 0/],
    [() => nat.softmax(f(6), f(6), 2.5, 3), RangeError, /'rows' must be an integer/],
    [() => nat.softmax(f(6), f(5), 2, 3), RangeError, /'out' has 5 elements/],
    [() => nat.reduce(5, f(6), f(2), 2, 3, 1), RangeError, /reduce: 'op' 5 is not a ReduceOp/],
    [() => nat.reduce(0, f(6), f(3), 2, 3, 1), RangeError, /'out' has 3 elements but '\[outer, inner\]' \[2,1\] needs 2/],
    [() => nat.reduce(0, f(6), f(2), 2, 2, 1), RangeError, /'x' has 6 elements/],
    [() => nat.reduce(0, x6, x6.subarray(0, 2), 2, 3, 1), RangeError, /'out' must not overlap 'x'/],
    [() => nat.reduce(0, f(6), f(2), 2, 3, Infinity), RangeError, /'inner' must be an integer/],
  ];
  for (const [fn, cls, re] of bad) assert.throws(fn, (e) => e instanceof cls && re.test(e.message), `${fn}`);
  // Still works afterwards, and empty tensors are fine.
  const out = f(3);
  nat.binary(0, new Float32Array([1, 2, 3]), [3], new Float32Array([1]), [], out, [3]);
  assert.deepEqual(Array.from(out), [2, 3, 4]);
  nat.binary(0, f(0), [0, 4], f(4), [4], f(0), [0, 4]);
  nat.unary(0, f(0), f(0), 0);
  nat.reduce(0, f(0), f(0), 0, 3, 2);
});

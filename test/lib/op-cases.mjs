// SPDX-License-Identifier: Apache-2.0
// The declarative op-case table: each case names its tfjs kernel, builds its inputs, runs the
// tfjs op, and carries a float64 expected result and how to compare it. Example:
//   {kernel: 'Add', name: '[3,65] + [65]', run: (tf, a, b) => tf.add(a, b),
//    build: () => ({inputs: [{data, shape}, ...], expected: {data: Float64Array, shape}, check: EXACT})}
// check is {rtol, atol} (elementwise) or {kind: 'dot', k, epilogueUlps} (sums of products:
// expected also carries `abs`, the sum of |terms| per output, for the rigorous bound).
import {binaryRefs, broadcastShape, randomData, refBinary, size, unaryRefs} from './reference.mjs';
import {addTconvCases} from './op-cases-tconv.mjs';

const EXACT = {rtol: 0, atol: 0};                // one correctly rounded f32 operation
const F32 = {rtol: 1.3e-6, atol: 0};             // a few roundings
const TRANSCENDENTAL = {rtol: 1.3e-6, atol: 1e-7};
const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-30, 3e38, -3e38];

let seed = 1;
const data = (shape, lo, hi, specials = SPECIALS) => randomData(size(shape), seed++, lo, hi, size(shape) > 8 ? specials : []);

export const opCases = [];

// ---- binary, with broadcasting ------------------------------------------------------------
const binaryShapes = [
  [[1], [1]], [[17], [17]], [[3, 65], [65]], [[1037], [1]], [[1], [1031]], [[4, 1, 5], [3, 1]],
  [[2, 3, 4, 5, 6], [3, 1, 5, 1]], [[65, 17], [65, 1]], [[0, 3], [3]], [[], []], [[2, 1, 3, 1, 2, 1], [1, 2, 1, 3, 1, 2]],
];
const binaryOps = {
  Add: (tf, a, b) => tf.add(a, b), Sub: (tf, a, b) => tf.sub(a, b), Multiply: (tf, a, b) => tf.mul(a, b),
  RealDiv: (tf, a, b) => tf.div(a, b), Maximum: (tf, a, b) => tf.maximum(a, b),
  Minimum: (tf, a, b) => tf.minimum(a, b), SquaredDifference: (tf, a, b) => tf.squaredDifference(a, b),
  Prelu: (tf, a, b) => tf.prelu(a, b),
};
for (const [kernel, run] of Object.entries(binaryOps)) {
  for (const [sa, sb] of binaryShapes) {
    if (kernel === 'Prelu' && broadcastShape(sa, sb).length !== sa.length) continue;  // alpha broadcasts to x
    if (kernel === 'Prelu' && sb.some((d, i) => d !== 1 && d !== sa[sa.length - sb.length + i])) continue;
    opCases.push({
      kernel, name: `[${sa}] op [${sb}]`, run,
      build: () => {
        const a = data(sa, -3, 3), b = data(sb, -3, 3);
        const {out, outShape} = refBinary(binaryRefs[kernel], a, sa, b, sb);
        return {inputs: [{data: a, shape: sa}, {data: b, shape: sb}], expected: {data: out, shape: outShape},
                check: kernel === 'SquaredDifference' ? F32 : EXACT};
      },
    });
  }
}

// ---- unary ---------------------------------------------------------------------------------
const unaryOps = {
  Relu: {run: (tf, x) => tf.relu(x), lo: -3, hi: 3, check: EXACT},
  Relu6: {run: (tf, x) => tf.relu6(x), lo: -3, hi: 9, check: EXACT},
  Elu: {run: (tf, x) => tf.elu(x), lo: -20, hi: 3, check: TRANSCENDENTAL},
  LeakyRelu: {run: (tf, x) => tf.leakyRelu(x, 0.1), lo: -3, hi: 3, check: EXACT, alpha: Math.fround(0.1)},
  Sigmoid: {run: (tf, x) => tf.sigmoid(x), lo: -30, hi: 30, check: TRANSCENDENTAL},
  Tanh: {run: (tf, x) => tf.tanh(x), lo: -12, hi: 12, check: TRANSCENDENTAL},
  Exp: {run: (tf, x) => tf.exp(x), lo: -104, hi: 89, check: TRANSCENDENTAL},
  Log: {run: (tf, x) => tf.log(x), lo: 1e-6, hi: 1e6, check: TRANSCENDENTAL},
  Sqrt: {run: (tf, x) => tf.sqrt(x), lo: 0, hi: 1e4, check: EXACT},
  Rsqrt: {run: (tf, x) => tf.rsqrt(x), lo: 1e-4, hi: 1e4, check: F32},
  Square: {run: (tf, x) => tf.square(x), lo: -1e3, hi: 1e3, check: EXACT},
  Neg: {run: (tf, x) => tf.neg(x), lo: -3, hi: 3, check: EXACT},
  Abs: {run: (tf, x) => tf.abs(x), lo: -3, hi: 3, check: EXACT},
  Erf: {run: (tf, x) => tf.erf(x), lo: -5, hi: 5, check: TRANSCENDENTAL},
};
for (const [kernel, u] of Object.entries(unaryOps)) {
  for (const shape of [[1], [3], [17], [65], [1037], [3, 0], [7, 129]]) {
    opCases.push({
      kernel, name: `[${shape}]`, run: u.run,
      build: () => {
        const x = data(shape, u.lo, u.hi);
        // Small magnitudes exercise cancellation in tanh/erf/elu/sigmoid near 0.
        for (let i = 0; i < x.length; i += 5) x[i] = Math.fround(x[i] * 1e-4);
        const ref = Float64Array.from(x, (v) => unaryRefs[kernel](v, u.alpha));
        return {inputs: [{data: x, shape}], expected: {data: ref, shape}, check: u.check};
      },
    });
  }
}

// ---- ClipByValue (tfjs-cpu: x > max ? max : x < min ? min : x; NaN stays NaN, -0 stays -0) ---
for (const [lo, hi] of [[0, 6], [-0.1, 0.1], [-2, -2], [-2, -1.5], [-Infinity, 1.5], [0.5, Infinity]]) {
  for (const shape of [[1], [17], [7, 129], [1 << 17]]) {
    opCases.push({
      kernel: 'ClipByValue', name: `[${shape}] to [${lo}, ${hi}]`, run: (tf, x) => tf.clipByValue(x, lo, hi),
      build: () => {
        const x = data(shape, -8, 8);
        const special = [NaN, -0, 0, Infinity, -Infinity, 6, Math.fround(0.1), Math.fround(-0.1)];
        for (let i = 0; i < x.length; i += 11) x[i] = special[(i / 11) % special.length];
        // tf.clipByValue with min === max is a fill (the op never calls the kernel).
        const ref = Float64Array.from(x, (v) => Math.fround(lo === hi ? lo : v > hi ? hi : v < lo ? lo : v));
        return {inputs: [{data: x, shape}], expected: {data: ref, shape}, check: EXACT};
      },
    });
  }
}

// ---- AbUpdateSlice (ab.updateSlice: XLA's DynamicUpdateSlice, start clamped so the update fits) ----
for (const [shape, ushape, start] of [[[4, 6], [1, 6], [2, 0]], [[3, 5, 7], [2, 2, 7], [2, 9, -1]], [[9], [4], [7]]]) {
  opCases.push({
    kernel: 'AbUpdateSlice', name: `[${shape}] <- [${ushape}] at [${start}]`,
    run: (tf, x, u) => tf.tidy(() => tf.engine().runKernel('AbUpdateSlice', {x, update: u, start: tf.tensor1d(start, 'int32')}, {})),
    build: () => {
      const x = data(shape, -3, 3), u = data(ushape, 5, 9);
      const s = shape.map((d, i) => Math.min(Math.max(start[i], 0), d - ushape[i]));
      const ref = Float64Array.from(x), r = shape.length, idx = new Array(r).fill(0);
      for (let k = 0; k < u.length; ++k) {
        let off = 0;
        for (let i = 0; i < r; ++i) off = off * shape[i] + s[i] + idx[i];
        ref[off] = u[k];
        for (let i = r - 1; i >= 0; --i) {
          if (++idx[i] < ushape[i]) break;
          idx[i] = 0;
        }
      }
      return {inputs: [{data: x, shape}, {data: u, shape: ushape}], expected: {data: ref, shape}, check: EXACT};
    },
  });
}

// ---- softmax -------------------------------------------------------------------------------
for (const shape of [[1, 1], [3, 17], [65, 1000], [2, 3, 5], [4, 33]]) {
  opCases.push({
    kernel: 'Softmax', name: `[${shape}]`, run: (tf, x) => tf.softmax(x),
    build: () => {
      const x = randomData(size(shape), seed++, -20, 20);
      if (shape[0] === 4) for (let j = 0; j < 33; ++j) { x[j] = -Infinity; x[33 + j] = 80 + j; }
      if (shape[0] === 4) x[0] = 1;
      const cols = shape[shape.length - 1], ref = new Float64Array(x.length);
      for (let r = 0; r < x.length / cols; ++r) {
        const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
        const m = Math.max(...row), e = row.map((v) => Math.exp(v - m)), s = e.reduce((p, q) => p + q, 0);
        e.forEach((v, j) => (ref[r * cols + j] = v / s));
      }
      return {inputs: [{data: x, shape}], expected: {data: ref, shape}, check: {rtol: 1e-5, atol: 1e-9}};
    },
  });
}

// ---- reductions ----------------------------------------------------------------------------
const reductions = {
  Sum: {run: (tf, x, axis, keep) => tf.sum(x, axis, keep), init: 0, step: (p, v) => p + v, dot: true},
  Mean: {run: (tf, x, axis, keep) => tf.mean(x, axis, keep), init: 0, step: (p, v) => p + v, dot: true, mean: true},
  Max: {run: (tf, x, axis, keep) => tf.max(x, axis, keep), init: -Infinity, step: (p, v) => (Number.isNaN(p) || Number.isNaN(v) ? NaN : Math.max(p, v))},
  Min: {run: (tf, x, axis, keep) => tf.min(x, axis, keep), init: Infinity, step: (p, v) => (Number.isNaN(p) || Number.isNaN(v) ? NaN : Math.min(p, v))},
  Prod: {run: (tf, x, axis, keep) => tf.prod(x, axis, keep), init: 1, step: (p, v) => p * v, dot: true, prod: true},
};
const reduceShapes = [
  [[1037], null, false], [[3, 65], 1, false], [[3, 65], 0, true], [[2, 3, 4, 5], [1, 3], false],
  [[2, 3, 4], [0, 1], true], [[5, 7, 9], -1, false], [[0, 5], 0, false], [[4, 1000], 1, false], [[17], 0, true],
];
for (const [kernel, red] of Object.entries(reductions)) {
  for (const [shape, axis, keep] of reduceShapes) {
    opCases.push({
      kernel, name: `[${shape}] axis ${JSON.stringify(axis)}${keep ? ' keepDims' : ''}`,
      run: (tf, x) => red.run(tf, x, axis, keep),
      build: () => {
        const x = red.prod ? randomData(size(shape), seed++, 0.95, 1.05) : data(shape, -3, 3, shape[0] === 17 ? [NaN] : []);
        const rank = shape.length;
        const axes = axis == null ? shape.map((_, i) => i) : [].concat(axis).map((a) => (a < 0 ? a + rank : a));
        const outShape = keep ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
        const keptDims = shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const n = size(keptDims), ref = new Float64Array(n).fill(red.init), abs = new Float64Array(n);
        const strides = shape.map((_, i) => size(shape.slice(i + 1)));
        const kStrides = keptDims.map((_, i) => size(keptDims.slice(i + 1)));
        const r = size(axes.map((a) => shape[a]));
        for (let i = 0; i < x.length; ++i) {
          let o = 0;
          for (let d = 0; d < rank; ++d) if (!axes.includes(d)) o += Math.floor(i / strides[d]) % shape[d] * kStrides[d];
          ref[o] = red.step(ref[o], x[i]);
          abs[o] = red.prod ? 1 : abs[o] + Math.abs(x[i]);
        }
        if (red.mean) for (let o = 0; o < n; ++o) { ref[o] = r === 0 ? 0 : ref[o] / r; abs[o] /= Math.max(r, 1); }
        // Empty reductions follow tfjs-backend-cpu (our contract): mean 0, max/min NaN.
        if (r === 0 && !red.dot) ref.fill(NaN);
        if (red.prod) for (let o = 0; o < n; ++o) abs[o] = Math.abs(ref[o]);
        return {inputs: [{data: x, shape}], expected: {data: ref, shape: outShape, abs},
                check: red.dot ? {kind: 'dot', k: Math.max(r, 1), epilogueUlps: red.mean ? 2 : 0} : EXACT};
      },
    });
  }
}

// ---- matmul --------------------------------------------------------------------------------
const ACT = {
  linear: (v) => v, relu: (v) => (v < 0 ? 0 : v), relu6: (v) => (v < 0 ? 0 : v > 6 ? 6 : v),
  elu: (v) => (v >= 0 ? v : Math.expm1(v)), leakyrelu: (v) => (v < 0 ? 0.1 * v : v), sigmoid: (v) => 1 / (1 + Math.exp(-v)),
};

/** Reference op(a) x op(b) (+ bias, activation) with numpy batch broadcasting, in float64. */
function refMatMul(a, sa, b, sb, ta, tb, bias, sbias, act, slope, sslope) {
  const ra = sa.length, rb = sb.length;
  const M = ta ? sa[ra - 1] : sa[ra - 2], K = ta ? sa[ra - 2] : sa[ra - 1], N = tb ? sb[rb - 2] : sb[rb - 1];
  const batchA = sa.slice(0, -2), batchB = sb.slice(0, -2), batchOut = broadcastShape(batchA, batchB);
  const nb = size(batchOut);
  let out = new Float64Array(nb * M * N), abs = new Float64Array(nb * M * N);
  const mapA = refBinary((p) => p, Float64Array.from({length: size(batchA)}, (_, i) => i), batchA, new Float64Array(nb), batchOut).out;
  const mapB = refBinary((p, q) => q, new Float64Array(nb), batchOut, Float64Array.from({length: size(batchB)}, (_, i) => i), batchB).out;
  for (let bi = 0; bi < nb; ++bi) {
    const oa = mapA[bi] * M * K, ob = mapB[bi] * K * N;
    for (let i = 0; i < M; ++i) for (let j = 0; j < N; ++j) {
      let s = 0, t = 0;
      for (let k = 0; k < K; ++k) {
        const av = a[oa + (ta ? k * M + i : i * K + k)], bv = b[ob + (tb ? j * K + k : k * N + j)];
        s += av * bv;
        t += Math.abs(av * bv);
      }
      out[(bi * M + i) * N + j] = s;
      abs[(bi * M + i) * N + j] = t;
    }
  }
  let outShape = [...batchOut, M, N];
  if (bias) {
    const r = refBinary((p, q) => p + q, out, outShape, bias, sbias);
    const ra2 = refBinary((p, q) => p + Math.abs(q), abs, outShape, bias, sbias);
    out = r.out;
    abs = ra2.out;
    outShape = r.outShape;
  }
  if (act === 'prelu') out = refBinary((p, q) => (p < 0 ? q * p : p), out, outShape, slope, sslope).out;
  else out = out.map(ACT[act]);
  return {data: out, shape: outShape, abs, K};
}

function matmulCase(sa, sb, ta, tb, fused) {
  const kernel = fused ? '_FusedMatMul' : 'BatchMatMul';
  const desc = fused ? ` bias[${fused.bias ?? '-'}] ${fused.act}${fused.slope ? `[${fused.slope}]` : ''}` : '';
  opCases.push({
    kernel, name: `[${sa}]${ta ? 'ᵀ' : ''} x [${sb}]${tb ? 'ᵀ' : ''}${desc}`,
    run: fused ?
        (tf, a, b, ...rest) => {
          const [bias, slope] = fused.bias ? rest : [undefined, rest[0]];
          return tf.fused.matMul({a, b, transposeA: ta, transposeB: tb, bias, activation: fused.act,
                                  preluActivationWeights: slope, leakyreluAlpha: 0.1});
        } :
        (tf, a, b) => tf.matMul(a, b, ta, tb),
    build: () => {
      const a = data(sa, -1, 1, []), b = data(sb, -1, 1, []);
      const inputs = [{data: a, shape: sa}, {data: b, shape: sb}];
      let bias = null, slope = null;
      if (fused?.bias) inputs.push({data: (bias = data(fused.bias, -1, 1, [])), shape: fused.bias});
      if (fused?.slope) inputs.push({data: (slope = data(fused.slope, 0, 0.5, [])), shape: fused.slope});
      const ref = refMatMul(a, sa, b, sb, ta, tb, bias, fused?.bias, fused?.act ?? 'linear', slope, fused?.slope);
      return {inputs, expected: {data: ref.data, shape: ref.shape, abs: ref.abs},
              check: {kind: 'dot', k: Math.max(ref.K + (bias ? 1 : 0), 1), epilogueUlps: fused ? 8 : 0}};
    },
  });
}

for (const [sa, sb] of [[[1, 1], [1, 1]], [[3, 17], [17, 65]], [[65, 1001], [1001, 17]], [[1, 1031], [1031, 65]],
                        [[17, 3], [3, 1]], [[64, 64], [64, 64]], [[130, 257], [257, 200]], [[1, 4096], [4096, 512]]]) {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    const A = ta ? [...sa].reverse() : sa, B = tb ? [...sb].reverse() : sb;
    matmulCase(A, B, ta, tb, null);
  }
}
matmulCase([2, 1, 3, 4], [1, 3, 4, 5], false, false, null);
matmulCase([5, 3, 4], [4, 2], false, false, null);
matmulCase([3, 4], [6, 4, 2], false, false, null);
matmulCase([64, 64, 64], [64, 64, 64], false, true, null);
matmulCase([0, 3], [3, 4], false, false, null);
matmulCase([3, 0], [0, 4], false, false, null);
matmulCase([2, 0, 3, 4], [1, 4, 5], false, false, null);
for (const act of ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid']) {
  matmulCase([33, 70], [70, 19], false, false, {bias: [19], act});
}
matmulCase([33, 70], [19, 70], false, true, {bias: [1], act: 'relu'});
matmulCase([33, 70], [70, 19], false, false, {bias: [33, 19], act: 'relu6'});
matmulCase([2, 33, 70], [70, 19], false, false, {bias: [2, 1, 19], act: 'elu'});
matmulCase([33, 70], [70, 19], false, false, {bias: [33, 1], act: 'sigmoid'});
matmulCase([33, 70], [70, 19], false, false, {bias: [19], act: 'prelu', slope: [19]});
matmulCase([33, 70], [70, 19], false, false, {bias: [19], act: 'prelu', slope: [33, 19]});
matmulCase([2, 33, 70], [70, 19], false, false, {bias: [19], act: 'prelu', slope: [2, 33, 1]});
matmulCase([33, 70], [70, 19], false, false, {act: 'prelu', slope: [1]});
matmulCase([1, 1031], [1031, 65], false, false, {bias: [65], act: 'relu'});

// ---- conv2d (NHWC) ---------------------------------------------------------------------------
/** Reference NHWC conv2d in float64 with tfjs's padding rules ('same', 'valid', explicit). */
function refConv2d(x, xs, w, ws, stride, pad, dil) {
  const [B, H, W, C] = xs, [FH, FW, , O] = ws;
  const efh = (FH - 1) * dil + 1, efw = (FW - 1) * dil + 1;
  let OH, OW, pt, pl;
  if (pad === 'valid') {
    OH = Math.ceil((H - efh + 1) / stride); OW = Math.ceil((W - efw + 1) / stride); pt = pl = 0;
  } else if (pad === 'same') {
    OH = Math.ceil(H / stride); OW = Math.ceil(W / stride);
    pt = Math.floor(Math.max(0, (OH - 1) * stride + efh - H) / 2);
    pl = Math.floor(Math.max(0, (OW - 1) * stride + efw - W) / 2);
  } else {  // explicit [[0,0],[top,bottom],[left,right],[0,0]]
    pt = pad[1][0]; pl = pad[2][0];
    OH = Math.floor((H + pad[1][0] + pad[1][1] - efh) / stride) + 1;
    OW = Math.floor((W + pad[2][0] + pad[2][1] - efw) / stride) + 1;
  }
  const out = new Float64Array(B * OH * OW * O), abs = new Float64Array(out.length);
  for (let b = 0; b < B; ++b) for (let oh = 0; oh < OH; ++oh) for (let ow = 0; ow < OW; ++ow) for (let o = 0; o < O; ++o) {
    let s = 0, t = 0;
    for (let fh = 0; fh < FH; ++fh) for (let fw = 0; fw < FW; ++fw) {
      const ih = oh * stride - pt + fh * dil, iw = ow * stride - pl + fw * dil;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      for (let c = 0; c < C; ++c) {
        const p = x[((b * H + ih) * W + iw) * C + c] * w[((fh * FW + fw) * C + c) * O + o];
        s += p;
        t += Math.abs(p);
      }
    }
    const i = ((b * OH + oh) * OW + ow) * O + o;
    out[i] = s;
    abs[i] = t;
  }
  return {out, abs, shape: [B, OH, OW, O], K: FH * FW * C};
}

function convCase(xs, ws, stride, pad, dil, fused) {
  const kernel = fused ? 'FusedConv2D' : 'Conv2D';
  opCases.push({
    kernel, name: `x[${xs}] f[${ws}] s${stride} ${JSON.stringify(pad)} d${dil}${fused ? ` bias[${fused.bias ?? '-'}] ${fused.act}` : ''}`,
    run: fused ?
        (tf, x, w, ...rest) => {
          const [bias, slope] = fused.bias ? rest : [undefined, rest[0]];
          return tf.fused.conv2d({x, filter: w, strides: stride, pad, dilations: dil, bias, activation: fused.act,
                                  preluActivationWeights: slope, leakyreluAlpha: 0.1});
        } :
        (tf, x, w) => tf.conv2d(x, w, stride, pad, 'NHWC', dil),
    build: () => {
      const x = data(xs, -1, 1, []), w = data(ws, -1, 1, []);
      const r = refConv2d(x, xs, w, ws, stride, pad, dil);
      const inputs = [{data: x, shape: xs}, {data: w, shape: ws}];
      let out = r.out, abs = r.abs;
      if (fused?.bias) {
        const bias = data(fused.bias, -1, 1, []);
        inputs.push({data: bias, shape: fused.bias});
        const ra = refBinary((p, q) => p + q, out, r.shape, bias, fused.bias);
        abs = refBinary((p, q) => p + Math.abs(q), abs, r.shape, bias, fused.bias).out;
        out = ra.out;
      }
      if (fused?.act === 'prelu') {
        const slope = data(fused.slope, 0, 0.5, []);
        inputs.push({data: slope, shape: fused.slope});
        out = refBinary((p, q) => (p < 0 ? q * p : p), out, r.shape, slope, fused.slope).out;
      } else if (fused) {
        out = out.map(ACT[fused.act]);
      }
      return {inputs, expected: {data: out, shape: r.shape, abs},
              check: {kind: 'dot', k: Math.max(r.K + (fused?.bias ? 1 : 0), 1), epilogueUlps: fused ? 8 : 0}};
    },
  });
}

convCase([1, 9, 11, 5], [3, 3, 5, 7], 1, 'same', 1, null);
convCase([2, 9, 11, 5], [3, 3, 5, 7], 2, 'valid', 1, null);
convCase([1, 13, 10, 3], [3, 3, 3, 17], 1, 'same', 2, null);
convCase([2, 8, 8, 16], [1, 1, 16, 33], 1, 'valid', 1, null);
convCase([1, 17, 15, 4], [5, 5, 4, 6], 2, 'same', 1, null);
convCase([1, 6, 7, 3], [2, 3, 3, 4], 1, [[0, 0], [1, 2], [0, 3], [0, 0]], 1, null);
convCase([1, 20, 20, 64], [3, 3, 64, 65], 1, 'same', 1, null);
convCase([1, 1, 1, 0], [1, 1, 0, 3], 1, 'valid', 1, null);
convCase([0, 5, 5, 2], [3, 3, 2, 2], 1, 'same', 1, null);
for (const act of ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid']) {
  convCase([2, 7, 9, 6], [3, 3, 6, 10], 1, 'same', 1, {bias: [10], act});
}
convCase([1, 7, 9, 6], [3, 3, 6, 10], 2, 'same', 1, {bias: [1], act: 'relu'});
convCase([1, 7, 9, 6], [3, 3, 6, 10], 1, 'valid', 1, {bias: [10], act: 'prelu', slope: [10]});
convCase([1, 7, 9, 6], [3, 3, 6, 10], 1, 'same', 1, {bias: [1, 7, 9, 10], act: 'prelu', slope: [1, 9, 10]});
convCase([2, 8, 8, 16], [1, 1, 16, 24], 1, 'valid', 1, {bias: [24], act: 'relu6'});
// Implicit im2col: K blocks split inside a tap (K = 630, 1800), panels across images, 1x1 stride 2,
// dilation with uneven explicit padding, wide images (runs over whole filter rows).
convCase([1, 9, 9, 70], [3, 3, 70, 20], 1, 'same', 1, null);
convCase([1, 6, 6, 200], [3, 3, 200, 17], 1, 'same', 1, {bias: [17], act: 'relu'});
convCase([3, 5, 6, 19], [3, 3, 19, 40], 1, 'same', 1, null);
convCase([2, 9, 9, 37], [1, 1, 37, 33], 2, 'valid', 1, null);
convCase([1, 15, 16, 5], [3, 3, 5, 9], 1, [[0, 0], [2, 1], [3, 0], [0, 0]], 2, null);
convCase([1, 4, 40, 3], [3, 5, 3, 8], 1, 'same', 1, null);
// Direct path (f_w * in_c >= 48): dilation, stride 2 with padding, 1x1 stride 2, output rows with
// no tap inside the input (epilogue of zeros), partial panels.
convCase([1, 12, 13, 24], [3, 3, 24, 20], 1, 'same', 2, null);
convCase([2, 11, 10, 32], [3, 3, 32, 40], 2, 'same', 1, null);
convCase([1, 9, 9, 64], [1, 1, 64, 30], 2, 'valid', 1, null);
convCase([1, 5, 6, 16], [3, 3, 16, 8], 1, [[0, 0], [4, 0], [1, 1], [0, 0]], 1, {bias: [8], act: 'relu'});
convCase([1, 3, 30, 16], [3, 3, 16, 33], 1, [[0, 0], [2, 2], [0, 5], [0, 0]], 1, null);
convCase([1, 8, 9, 16], [3, 3, 16, 70], 1, 'same', 1, {bias: [70], act: 'prelu', slope: [70]});
convCase([2, 6, 20, 8], [2, 7, 8, 64], 1, 'same', 1, {bias: [1, 6, 20, 64], act: 'leakyrelu'});
convCase([2, 5, 7, 130], [1, 1, 130, 70], 1, 'valid', 1, {bias: [70], act: 'relu'});  // 1x1, many channels: direct

// ---- depthwise conv2d (NHWC) -----------------------------------------------------------------
function dwCase(xs, ws, stride, pad, dil, fused) {
  const kernel = fused ? 'FusedDepthwiseConv2D' : 'DepthwiseConv2dNative';
  opCases.push({
    kernel, name: `x[${xs}] f[${ws}] s${stride} ${JSON.stringify(pad)} d${dil}${fused ? ` bias[${fused.bias ?? '-'}] ${fused.act}` : ''}`,
    run: fused ?
        (tf, x, w, ...rest) => {
          const [bias, slope] = fused.bias ? rest : [undefined, rest[0]];
          return tf.fused.depthwiseConv2d({x, filter: w, strides: stride, pad, dilations: dil, bias, activation: fused.act,
                                           preluActivationWeights: slope, leakyreluAlpha: 0.1});
        } :
        (tf, x, w) => tf.depthwiseConv2d(x, w, stride, pad, 'NHWC', dil),
    build: () => {
      const [B, H, W, C] = xs, [FH, FW, , Q] = ws;
      const x = data(xs, -1, 1, []), w = data(ws, -1, 1, []);
      // A depthwise conv is a conv per input channel: reuse refConv2d on one channel at a time.
      let shape, outs = [];
      for (let c = 0; c < C; ++c) {
        const xc = new Float32Array(B * H * W), wc = new Float32Array(FH * FW * Q);
        for (let i = 0; i < B * H * W; ++i) xc[i] = x[i * C + c];
        for (let k = 0; k < FH * FW; ++k) for (let q = 0; q < Q; ++q) wc[k * Q + q] = w[(k * C + c) * Q + q];
        const r = refConv2d(xc, [B, H, W, 1], wc, [FH, FW, 1, Q], stride, pad, dil);
        shape = [r.shape[0], r.shape[1], r.shape[2], C * Q];
        outs.push(r);
      }
      const n = shape[0] * shape[1] * shape[2];
      let out = new Float64Array(n * C * Q), abs = new Float64Array(out.length);
      for (let c = 0; c < C; ++c) for (let i = 0; i < n; ++i) for (let q = 0; q < Q; ++q) {
        out[i * C * Q + c * Q + q] = outs[c].out[i * Q + q];
        abs[i * C * Q + c * Q + q] = outs[c].abs[i * Q + q];
      }
      const inputs = [{data: x, shape: xs}, {data: w, shape: ws}];
      if (fused?.bias) {
        const bias = data(fused.bias, -1, 1, []);
        inputs.push({data: bias, shape: fused.bias});
        abs = refBinary((p, q) => p + Math.abs(q), abs, shape, bias, fused.bias).out;
        out = refBinary((p, q) => p + q, out, shape, bias, fused.bias).out;
      }
      if (fused?.act === 'prelu') {
        const slope = data(fused.slope, 0, 0.5, []);
        inputs.push({data: slope, shape: fused.slope});
        out = refBinary((p, q) => (p < 0 ? q * p : p), out, shape, slope, fused.slope).out;
      } else if (fused) {
        out = out.map(ACT[fused.act]);
      }
      return {inputs, expected: {data: out, shape, abs},
              check: {kind: 'dot', k: FH * FW + (fused?.bias ? 1 : 0), epilogueUlps: fused ? 8 : 0}};
    },
  });
}

dwCase([1, 9, 11, 5], [3, 3, 5, 1], 1, 'same', 1, null);
dwCase([2, 9, 11, 33], [3, 3, 33, 1], 2, 'valid', 1, null);
dwCase([1, 13, 10, 17], [3, 3, 17, 1], 1, 'same', 2, null);
dwCase([1, 8, 8, 3], [5, 5, 3, 4], 2, 'same', 1, null);
dwCase([1, 6, 7, 3], [2, 3, 3, 2], 1, [[0, 0], [1, 2], [0, 3], [0, 0]], 1, null);
dwCase([0, 5, 5, 2], [3, 3, 2, 1], 1, 'same', 1, null);
for (const act of ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid']) {
  dwCase([2, 7, 9, 16], [3, 3, 16, 1], 1, 'same', 1, {bias: [16], act});
}
// Rows wide enough for the eight-position register blocks (filter 3 and 5, stride 1 and 2),
// channel counts with a masked tail past 16.
dwCase([1, 5, 30, 20], [3, 3, 20, 1], 1, 'same', 1, null);
dwCase([1, 5, 37, 35], [3, 3, 35, 1], 2, 'same', 1, null);
dwCase([2, 6, 29, 18], [5, 5, 18, 1], 1, 'same', 1, null);
dwCase([1, 7, 41, 17], [5, 5, 17, 1], 2, 'valid', 1, null);
dwCase([1, 4, 26, 32], [3, 3, 32, 1], 1, 'same', 1, {bias: [32], act: 'relu6'});
dwCase([1, 4, 26, 7], [3, 3, 7, 1], 2, 'same', 1, {bias: [7], act: 'prelu', slope: [7]});
dwCase([1, 7, 9, 6], [3, 3, 6, 2], 2, 'same', 1, {bias: [1], act: 'relu'});
dwCase([1, 7, 9, 6], [3, 3, 6, 1], 1, 'valid', 1, {bias: [6], act: 'prelu', slope: [6]});
dwCase([1, 7, 9, 6], [3, 3, 6, 1], 1, 'same', 1, {bias: [1, 7, 9, 6], act: 'prelu', slope: [1, 9, 6]});

// ---- pooling (NHWC) --------------------------------------------------------------------------
/** tfjs-cpu's pooling rules in float64: windows clipped to the input; max ignores NaN; avg / count. */
function refPool(x, xs, f, stride, pad, type) {
  const [B, H, W, C] = xs;
  let OH, OW, pt, pl;
  if (pad === 'valid') {
    OH = Math.ceil((H - f + 1) / stride); OW = Math.ceil((W - f + 1) / stride); pt = pl = 0;
  } else {
    OH = Math.ceil(H / stride); OW = Math.ceil(W / stride);
    pt = Math.floor(Math.max(0, (OH - 1) * stride + f - H) / 2);
    pl = Math.floor(Math.max(0, (OW - 1) * stride + f - W) / 2);
  }
  const out = new Float64Array(B * OH * OW * C), abs = new Float64Array(out.length);
  for (let b = 0; b < B; ++b) for (let oh = 0; oh < OH; ++oh) for (let ow = 0; ow < OW; ++ow) for (let c = 0; c < C; ++c) {
    const r0 = oh * stride - pt, c0 = ow * stride - pl;
    let m = -Infinity, s = 0, t = 0, n = 0;
    for (let r = Math.max(0, r0); r < Math.min(H, r0 + f); ++r) for (let q = Math.max(0, c0); q < Math.min(W, c0 + f); ++q) {
      const v = x[((b * H + r) * W + q) * C + c];
      if (v > m) m = v;
      s += v;
      t += Math.abs(v);
      ++n;
    }
    const i = ((b * OH + oh) * OW + ow) * C + c;
    out[i] = type === 'max' ? m : s / n;
    abs[i] = t / Math.max(n, 1);
  }
  return {out, abs, shape: [B, OH, OW, C]};
}

for (const [xs, f, stride, pad] of [[[1, 9, 11, 19], 3, 1, 'same'], [[2, 8, 8, 33], 2, 2, 'valid'], [[1, 7, 9, 5], 3, 2, 'same'],
                                     [[1, 12, 12, 16], 5, 3, 'same'], [[1, 5, 5, 3], 5, 1, 'valid'], [[0, 4, 4, 2], 2, 2, 'same']]) {
  for (const type of ['max', 'avg']) {
    opCases.push({
      kernel: type === 'max' ? 'MaxPool' : 'AvgPool', name: `x[${xs}] f${f} s${stride} ${pad}`,
      run: (tf, x) => (type === 'max' ? tf.maxPool(x, f, stride, pad) : tf.avgPool(x, f, stride, pad)),
      build: () => {
        const x = data(xs, -3, 3, type === 'max' ? [NaN, Infinity, -Infinity, -0] : []);
        const r = refPool(x, xs, f, stride, pad, type);
        return {inputs: [{data: x, shape: xs}], expected: {data: r.out, shape: r.shape, abs: r.abs},
                check: type === 'max' ? EXACT : {kind: 'dot', k: f * f, epilogueUlps: 2}};
      },
    });
  }
}

// ---- batch norm --------------------------------------------------------------------------------
// tfjs-cpu's formula in float64: offset + (x - mean) * scale / sqrt(variance + eps), each parameter
// cycling over the flat data. afterburner folds it to x * a + b (a, b rounded to f32) and one FMA:
// the error is a few u of |x a| + |mean a| + |offset| (the 'dot' check with k = 3).
for (const [xs, ps, withOffset, withScale] of [[[2, 5, 7, 16], [16], true, true], [[3, 33], [33], false, true],
                                              [[4, 9], [9], true, false], [[1, 3, 3, 8], [1], true, true], [[0, 4], [4], true, true]]) {
  opCases.push({
    kernel: 'FusedBatchNorm', name: `x[${xs}] params[${ps}]${withOffset ? ' offset' : ''}${withScale ? ' scale' : ''}`,
    run: (tf, x, mean, variance, ...rest) => {
      const offset = withOffset ? rest.shift() : undefined, scale = withScale ? rest.shift() : undefined;
      return tf.batchNorm(x, mean, variance, offset, scale, 0.001);
    },
    build: () => {
      const x = data(xs, -3, 3, []), mean = data(ps, -1, 1, []), variance = data(ps, 0.1, 2, []);
      const offset = withOffset ? data(ps, -1, 1, []) : null, scale = withScale ? data(ps, 0.5, 2, []) : null;
      const at = (v, i, d) => (v == null ? d : v[i % v.length]);
      const ref = new Float64Array(x.length), abs = new Float64Array(x.length);
      for (let i = 0; i < x.length; ++i) {
        const a = at(scale, i, 1) / Math.sqrt(at(variance, i, 0) + 0.001);
        ref[i] = at(offset, i, 0) + (x[i] - at(mean, i, 0)) * a;
        abs[i] = Math.abs(x[i] * a) + Math.abs(at(mean, i, 0) * a) + Math.abs(at(offset, i, 0));
      }
      const inputs = [{data: x, shape: xs}, {data: mean, shape: ps}, {data: variance, shape: ps}];
      if (offset) inputs.push({data: offset, shape: ps});
      if (scale) inputs.push({data: scale, shape: ps});
      return {inputs, expected: {data: ref, shape: xs, abs}, check: {kind: 'dot', k: 3, epilogueUlps: 2}};
    },
  });
}

// ---- transposed conv2d; NCHW convolutions (op-cases-tconv.mjs) ----------------------------------
addTconvCases(opCases, {data, refConv2d, ACT});
// ---- data movement, resize, cast (plain-JS references; results must be bit-exact) ---------------
const rowMajor = (shape) => shape.map((_, k) => shape.slice(k + 1).reduce((p, d) => p * d, 1));
const locAt = (i, shape) => shape.map((_, k) => Math.floor(i / rowMajor(shape)[k]) % shape[k]);
/** out[loc] = x[f(loc)] over outShape, f giving x's flat index. */
function gatherRef(x, outShape, f) {
  const out = new Float64Array(size(outShape));
  for (let i = 0; i < out.length; ++i) out[i] = x[f(locAt(i, outShape))];
  return out;
}
function moveCase(kernel, name, shapes, outShape, run, index, extra = {}) {
  opCases.push({
    kernel, name, run, ...extra,
    build: () => {
      const xs = shapes.map((s) => data(s, -100, 100));
      const ref = index.length === 2 ? new Float64Array(size(outShape)).map((_, i) => index(xs, locAt(i, outShape))) :
          gatherRef(xs[0], outShape, (loc) => index(loc));
      return {inputs: xs.map((d, i) => ({data: d, shape: shapes[i]})), expected: {data: ref, shape: outShape}, check: EXACT};
    },
  });
}
const flat = (shape, loc) => loc.reduce((o, c, k) => o + c * rowMajor(shape)[k], 0);

for (const [shape, perm] of [[[2, 33, 17, 5], [0, 2, 3, 1]], [[1, 12, 13, 64], [0, 3, 1, 2]], [[3, 4, 5, 6, 2], [4, 1, 3, 0, 2]]]) {
  moveCase('Transpose', `[${shape}] perm [${perm}]`, [shape], perm.map((p) => shape[p]), (tf, x) => tf.transpose(x, perm),
           (loc) => flat(shape, perm.map((_, k) => loc[perm.indexOf(k)])));
}
moveCase('Slice', '[4,5,6] begin [1,1,2] size [2,3,3]', [[4, 5, 6]], [2, 3, 3], (tf, x) => tf.slice(x, [1, 1, 2], [2, 3, 3]),
         (loc) => flat([4, 5, 6], [loc[0] + 1, loc[1] + 1, loc[2] + 2]));
moveCase('StridedSlice', '[6,7,8] [5,0,1]:[0,7,8]:[-2,3,2]', [[6, 7, 8]], [3, 3, 4],
         (tf, x) => tf.stridedSlice(x, [5, 0, 1], [0, 7, 8], [-2, 3, 2]), (loc) => flat([6, 7, 8], [5 - 2 * loc[0], 3 * loc[1], 1 + 2 * loc[2]]));
moveCase('Tile', '[2,3,1] reps [3,1,4]', [[2, 3, 1]], [6, 3, 4], (tf, x) => tf.tile(x, [3, 1, 4]),
         (loc) => flat([2, 3, 1], [loc[0] % 2, loc[1], 0]));
{
  const pads = [[0, 0], [1, 2], [2, 1], [0, 0]], shape = [2, 5, 6, 3];
  opCases.push({
    kernel: 'PadV2', name: `[${shape}] ${JSON.stringify(pads)} value 1.5`, run: (tf, x) => tf.pad(x, pads, 1.5),
    build: () => {
      const x = data(shape, -100, 100), outShape = shape.map((d, k) => d + pads[k][0] + pads[k][1]);
      const ref = new Float64Array(size(outShape)).map((_, i) => {
        const loc = locAt(i, outShape).map((c, k) => c - pads[k][0]);
        return loc.every((c, k) => c >= 0 && c < shape[k]) ? x[flat(shape, loc)] : 1.5;
      });
      return {inputs: [{data: x, shape}], expected: {data: ref, shape: outShape}, check: EXACT};
    },
  });
}
for (const mode of ['reflect', 'symmetric']) {
  const shape = [4, 5, 3], pads = [[1, 2], [3, 1], [0, 0]], off = mode === 'reflect' ? 0 : 1;
  const outShape = shape.map((d, k) => d + pads[k][0] + pads[k][1]);
  const m = (c, k) => (c < pads[k][0] ? pads[k][0] - c - off : c >= pads[k][0] + shape[k] ? 2 * shape[k] + pads[k][0] - 2 - c + off : c - pads[k][0]);
  moveCase('MirrorPad', `[${shape}] ${JSON.stringify(pads)} ${mode}`, [shape], outShape, (tf, x) => tf.mirrorPad(x, pads, mode),
           (loc) => flat(shape, loc.map(m)));
}
{
  const shapes = [[2, 3, 4], [2, 3, 5], [2, 3, 1]];
  moveCase('Concat', '[2,3,4] [2,3,5] [2,3,1] axis 2', shapes, [2, 3, 10], (tf, ...xs) => tf.concat(xs, 2), (xs, loc) => {
    const c = loc[2], i = c < 4 ? 0 : c < 9 ? 1 : 2, c0 = [0, 4, 9][i];
    return xs[i][flat(shapes[i], [loc[0], loc[1], c - c0])];
  });
}
{
  const idx = [4, 0, 2, 2, 3];
  moveCase('GatherV2', '[5,6,7] axis 1 indices [4,0,2,2,3]', [[5, 6, 7]], [5, 5, 7],
           (tf, x) => tf.tidy(() => tf.gather(x, tf.tensor1d(idx, 'int32'), 1)), (loc) => flat([5, 6, 7], [loc[0], idx[loc[1]], loc[2]]));
}
for (const [align, half] of [[false, false], [true, false], [false, true]]) {
  for (const kernel of ['ResizeBilinear', 'ResizeNearestNeighbor']) {
    const [B, H, W, C] = [2, 5, 7, 11], [OH, OW] = [9, 4];
    opCases.push({
      kernel, name: `[${B},${H},${W},${C}] -> [${OH},${OW}]${align ? ' alignCorners' : ''}${half ? ' halfPixelCenters' : ''}`,
      run: (tf, x) => (kernel === 'ResizeBilinear' ? tf.image.resizeBilinear(x, [OH, OW], align, half) :
          tf.image.resizeNearestNeighbor(x, [OH, OW], align, half)),
      build: () => {
        const x = data([B, H, W, C], -100, 100), out = new Float64Array(B * OH * OW * C);
        const ratio = (i, o) => (align && o > 1 ? (i - 1) / (o - 1) : i / o), ry = ratio(H, OH), rx = ratio(W, OW);
        const at = (b, y, xx, c) => x[((b * H + y) * W + xx) * C + c];
        for (let b = 0; b < B; ++b) for (let y = 0; y < OH; ++y) for (let xx = 0; xx < OW; ++xx) for (let c = 0; c < C; ++c) {
          let v;
          if (kernel === 'ResizeBilinear') {
            const sy = half ? ry * (y + 0.5) - 0.5 : ry * y, sx = half ? rx * (xx + 0.5) - 0.5 : rx * xx;
            const y0 = Math.max(0, Math.floor(sy)), y1 = Math.min(H - 1, Math.ceil(sy));
            const x0 = Math.max(0, Math.floor(sx)), x1 = Math.min(W - 1, Math.ceil(sx));
            const top = at(b, y0, x0, c) + (at(b, y0, x1, c) - at(b, y0, x0, c)) * (sx - x0);
            const bot = at(b, y1, x0, c) + (at(b, y1, x1, c) - at(b, y1, x0, c)) * (sx - x0);
            v = top + (bot - top) * (sy - y0);
          } else {
            const sy = half ? ry * (y + 0.5) : ry * y, sx = half ? rx * (xx + 0.5) : rx * xx;
            const ny = Math.max(half ? 0 : -1, Math.min(H - 1, align ? Math.round(sy) : Math.floor(sy)));
            const nx = Math.max(half ? 0 : -1, Math.min(W - 1, align ? Math.round(sx) : Math.floor(sx)));
            v = at(b, ny, nx, c);
          }
          out[((b * OH + y) * OW + xx) * C + c] = v;
        }
        return {inputs: [{data: x, shape: [B, H, W, C]}], expected: {data: out, shape: [B, OH, OW, C]}, check: EXACT};
      },
    });
  }
}
for (const dtype of ['int32', 'bool']) {
  opCases.push({
    kernel: 'Cast', name: `float32 -> ${dtype} [7,37]`, outDtype: dtype, run: (tf, x) => tf.cast(x, dtype),
    build: () => {
      const x = data([7, 37], -3e9, 3e9);
      x.set([0.5, -0.5, -0, 2147483648, -2147483648, 1.9, -1.9]);
      const ref = dtype === 'int32' ? Float64Array.from(Int32Array.from(x)) : Float64Array.from(x, (v) => (v !== 0 ? 1 : 0));
      return {inputs: [{data: x, shape: [7, 37]}], expected: {data: ref, shape: [7, 37]}, check: EXACT};
    },
  });
}
// ArgMax / ArgMin: a float64 scan in tfjs-cpu's order (first best, strictly better replaces).
for (const kernel of ['ArgMax', 'ArgMin']) {
  for (const [shape, axis] of [[[5, 7, 3], 1], [[4, 9], -1], [[6, 2, 5], 0]]) {
    opCases.push({
      kernel, name: `[${shape}] axis ${axis}`, outDtype: 'int32',
      run: (tf, x) => (kernel === 'ArgMax' ? tf.argMax(x, axis) : tf.argMin(x, axis)),
      build: () => {
        const x = data(shape, -4, 4).map((v) => Math.round(v * 2) / 2);  // a half-step grid: ties
        const a = axis < 0 ? axis + shape.length : axis;
        const outer = size(shape.slice(0, a)), r = shape[a], inner = size(shape.slice(a + 1));
        const ref = new Float64Array(outer * inner);
        for (let o = 0; o < outer; ++o) {
          for (let c = 0; c < inner; ++c) {
            let best = x[o * r * inner + c], at = 0;
            for (let j = 1; j < r; ++j) {
              const v = x[(o * r + j) * inner + c];
              if (kernel === 'ArgMax' ? v > best : v < best) {
                best = v;
                at = j;
              }
            }
            ref[o * inner + c] = at;
          }
        }
        return {inputs: [{data: x, shape}], expected: {data: ref, shape: shape.filter((_, k) => k !== a)}, check: EXACT};
      },
    });
  }
}
moveCase('Reverse', '[3,4,5] dims [0,2]', [[3, 4, 5]], [3, 4, 5], (tf, x) => tf.reverse(x, [0, 2]),
         (loc) => flat([3, 4, 5], [2 - loc[0], loc[1], 4 - loc[2]]));
moveCase('DepthToSpace', '[1,3,4,8] block 2', [[1, 3, 4, 8]], [1, 6, 8, 2], (tf, x) => tf.depthToSpace(x, 2),
         (loc) => flat([1, 3, 4, 8], [0, loc[1] >> 1, loc[2] >> 1, ((loc[1] & 1) * 2 + (loc[2] & 1)) * 2 + loc[3]]));
moveCase('Pack', 'three [2,3] on axis 1', [[2, 3], [2, 3], [2, 3]], [2, 3, 3], (tf, ...xs) => tf.stack(xs, 1),
         (xs, loc) => xs[loc[1]][loc[0] * 3 + loc[2]]);
moveCase('SplitV', '[2,6,5] axis 1 sizes [1,3,2], piece 1', [[2, 6, 5]], [2, 3, 5], (tf, x) => tf.tidy(() => {
  const [a, b, c] = tf.split(x, [1, 3, 2], 1);
  return b.clone();
}), (loc) => flat([2, 6, 5], [loc[0], loc[1] + 1, loc[2]]));
moveCase('Unpack', '[2,6,5] axis 2, piece 3', [[2, 6, 5]], [2, 6], (tf, x) => tf.tidy(() => tf.unstack(x, 2)[3].clone()),
         (loc) => flat([2, 6, 5], [loc[0], loc[1], 3]));

// ---- comparisons, TopK, AddN, GatherNd (plain-JS references in tfjs-cpu's terms; exact) ----------
{
  // Values on a coarse grid with specials, so that equal pairs, NaN and +-0 / +-Inf pairs occur.
  const grid = (shape) => data(shape, -3, 3, [NaN, Infinity, -Infinity, -0, 0, NaN, -0]).map((v) => (Number.isFinite(v) && v !== 0 ? Math.round(v) : v));
  const cmps = {Equal: ['equal', (p, q) => p === q], NotEqual: ['notEqual', (p, q) => p !== q], Less: ['less', (p, q) => p < q],
    LessEqual: ['lessEqual', (p, q) => p <= q], Greater: ['greater', (p, q) => p > q], GreaterEqual: ['greaterEqual', (p, q) => p >= q]};
  for (const [kernel, [fn, ref]] of Object.entries(cmps)) {
    for (const [sa, sb] of [[[17], [17]], [[3, 65], [65]], [[1037], [1]], [[1], [33]], [[4, 1, 5], [3, 1]], [[0, 3], [3]], [[], []], [[2, 300, 70], [2, 1, 70]]]) {
      opCases.push({
        kernel, name: `[${sa}] vs [${sb}]`, outDtype: 'bool', run: (tf, a, b) => tf[fn](a, b),
        build: () => {
          const a = grid(sa), b = grid(sb);
          const {out, outShape} = refBinary((p, q) => (ref(p, q) ? 1 : 0), a, sa, b, sb);
          return {inputs: [{data: a, shape: sa}, {data: b, shape: sb}], expected: {data: out, shape: outShape}, check: EXACT};
        },
      });
    }
  }
  // TopK: greater value first, equal values by lower index (tfjs's comparator; -0 equals +0).
  const topkRef = (x, n, k) => {
    const rows = x.length / n, vals = new Float64Array(rows * k), idx = new Float64Array(rows * k);
    for (let r = 0; r < rows; ++r) {
      const order = Array.from({length: n}, (_, i) => i).sort((p, q) => (x[r * n + q] - x[r * n + p]) || (p - q));
      for (let i = 0; i < k; ++i) {
        vals[r * k + i] = x[r * n + order[i]];
        idx[r * k + i] = order[i];
      }
    }
    return {vals, idx};
  };
  for (const [shape, k] of [[[9], 4], [[3, 50], 7], [[3, 50], 50], [[2, 3, 40], 0], [[5000], 1], [[2, 20000], 30], [[1, 300000], 100], [[4, 64], 40]]) {
    for (const what of ['values', 'indices']) {
      opCases.push({
        kernel: 'TopK', name: `[${shape}] k ${k} ${what}`, outDtype: what === 'values' ? 'float32' : 'int32',
        run: (tf, x) => {
          const r = tf.topk(x, k);
          tf.dispose(what === 'values' ? r.indices : r.values);
          return r[what];
        },
        build: () => {
          const x = data(shape, -50, 50, [-0, 0, -0]).map((v) => Math.round(v));  // integers: many ties
          const n = shape[shape.length - 1], ref = topkRef(x, n, k);
          return {inputs: [{data: x, shape}], expected: {data: what === 'values' ? ref.vals : ref.idx, shape: [...shape.slice(0, -1), k]}, check: EXACT};
        },
      });
    }
  }
  // AddN: ((0 + x0) + x1) + ..., each step rounded to float32.
  for (const [shape, m] of [[[17], 1], [[3, 65], 2], [[2, 7, 9, 5], 3], [[0, 4], 2], [[1037], 5], [[300, 333], 4]]) {
    opCases.push({
      kernel: 'AddN', name: `${m} x [${shape}]`, run: (tf, ...xs) => tf.addN(xs),
      build: () => {
        const xs = Array.from({length: m}, () => data(shape, -3, 3));
        if (xs[0].length > 2) xs[0][1] = -0;
        const ref = new Float64Array(size(shape)).map((_, i) => xs.reduce((acc, x) => Math.fround(acc + x[i]), 0));
        return {inputs: xs.map((d) => ({data: d, shape})), expected: {data: ref, shape}, check: EXACT};
      },
    });
  }
  // GatherNd: the flattened index decides (a negative coordinate that flattens inside is tfjs-cpu's
  // valid index too).
  for (const [ps, idx, ishape] of [[[4, 5, 6], [[1, 2], [3, 4], [1, -1], [0, 0]], [4, 2]], [[17, 17, 2], [[3, 5, 1], [16, 16, 0]], [2, 3]],
                                   [[6, 7], [[5], [0], [2]], [3, 1]], [[2, 3, 4], [[[1, 2, 3]], [[0, 1, 0]]], [2, 1, 3]]]) {
    const rank = ishape[ishape.length - 1], sliceShape = ps.slice(rank), sliceSize = size(sliceShape);
    const outShape = [...ishape.slice(0, -1), ...sliceShape], flatIdx = idx.flat(2);
    opCases.push({
      kernel: 'GatherNd', name: `[${ps}] indices [${ishape}]`,
      run: (tf, p) => tf.tidy(() => tf.gatherND(p, tf.tensor(flatIdx, ishape, 'int32'))),
      build: () => {
        const p = data(ps, -100, 100);
        const strides = ps.slice(0, rank).map((_, j) => size(ps.slice(j + 1, rank)));
        const ref = new Float64Array(size(outShape));
        for (let s = 0; s < ref.length / sliceSize; ++s) {
          const flatSlice = strides.reduce((o, st, j) => o + flatIdx[s * rank + j] * st, 0);
          for (let e = 0; e < sliceSize; ++e) ref[s * sliceSize + e] = p[flatSlice * sliceSize + e];
        }
        return {inputs: [{data: p, shape: ps}], expected: {data: ref, shape: outShape}, check: EXACT};
      },
    });
  }
}

// ---- int32 binary ops, FloorDiv, Mod (the wide kernel: tfjs-cpu's float64 arithmetic on the stored
// values, stored as the output array stores a number; test/wide-binary.test.mjs has the edge values) ----
{
  const wideRefs = {
    Add: (a, b) => a + b, Sub: (a, b) => a - b, Multiply: (a, b) => a * b, Maximum: Math.max, Minimum: Math.min,
    FloorDiv: (a, b) => Math.floor(a / b),
    Mod: (a, b) => {
      const r = a % b;
      return (a < 0 && b < 0) || (a >= 0 && b >= 0) ? r : (r + b) % b;
    },
  };
  const ints = (shape) => data(shape, -2000, 2000, []).map((v, i) => (i % 7 === 3 ? 0 : Math.round(v)));
  for (const [kernel, fn] of Object.entries(wideRefs)) {
    for (const [sa, sb] of [[[17], [17]], [[3, 65], [65]], [[4, 1, 5], [3, 1]], [[1037], [1]], [[], [5]]]) {
      opCases.push({
        kernel, name: `int32 [${sa}] op [${sb}]`, outDtype: 'int32',
        run: (tf, a, b) => tf.tidy(() => tf.engine().runKernel(kernel, {a: tf.cast(a, 'int32'), b: tf.cast(b, 'int32')})),
        build: () => {
          const a = ints(sa), b = ints(sb);
          const {out, outShape} = refBinary((x, y) => fn(x, y) | 0, a, sa, b, sb);  // | 0: Int32Array's store
          return {inputs: [{data: a, shape: sa}, {data: b, shape: sb}], expected: {data: out, shape: outShape}, check: EXACT};
        },
      });
    }
  }
  // float32 inputs: FloorDiv's output is int32 whatever the inputs (tfjs-cpu), Mod's float32.
  for (const kernel of ['FloorDiv', 'Mod']) {
    for (const [sa, sb] of [[[65], [65]], [[3, 40], [40]], [[2, 1, 30], [3, 1]]]) {
      opCases.push({
        kernel, name: `float32 [${sa}] op [${sb}]`, outDtype: kernel === 'FloorDiv' ? 'int32' : 'float32',
        run: (tf, a, b) => tf.engine().runKernel(kernel, {a, b}),
        build: () => {
          const a = data(sa, -30, 30), b = data(sb, -3, 3);
          const f = kernel === 'FloorDiv' ? (x, y) => wideRefs.FloorDiv(x, y) | 0 : wideRefs.Mod;
          const {out, outShape} = refBinary(f, a, sa, b, sb);
          return {inputs: [{data: a, shape: sa}, {data: b, shape: sb}], expected: {data: out, shape: outShape}, check: EXACT};
        },
      });
    }
  }
}

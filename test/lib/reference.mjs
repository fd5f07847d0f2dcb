// SPDX-License-Identifier: Apache-2.0
// Float64 references and comparison rules for the op tests (CONVENTIONS.md: tolerances by dtype
// and op kind; NaN and ±Inf must match exactly).

export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random f32 data in [lo, hi), with some special values sprinkled in when `specials` is given. */
export function randomData(n, seed, lo = -2, hi = 2, specials = []) {
  const r = rng(seed), a = new Float32Array(n);
  for (let i = 0; i < n; ++i) a[i] = lo + (hi - lo) * r();
  for (let k = 0; k < specials.length && n > 0; ++k) a[Math.floor(r() * n)] = specials[k];
  return a;
}

export const size = (shape) => shape.reduce((p, d) => p * d, 1);

export function broadcastShape(a, b) {
  const r = Math.max(a.length, b.length), out = [];
  for (let i = 0; i < r; ++i) {
    const da = a[a.length - r + i] ?? 1, db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`shapes ${a} and ${b} do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Index into `shape` data for the flat output index `i` of `outShape` (numpy broadcasting). */
function broadcastIndexer(shape, outShape) {
  const r = outShape.length, off = r - shape.length;
  const strides = new Array(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; --d) strides[d] = strides[d + 1] * shape[d + 1];
  return (i) => {
    let idx = 0;
    for (let d = r - 1; d >= 0; --d) {
      const c = i % outShape[d];
      i = Math.floor(i / outShape[d]);
      const sd = d - off;
      if (sd >= 0 && shape[sd] !== 1) idx += c * strides[sd];
    }
    return idx;
  };
}

export function refBinary(fn, a, aShape, b, bShape) {
  const outShape = broadcastShape(aShape, bShape);
  const n = size(outShape), out = new Float64Array(n);
  const ia = broadcastIndexer(aShape, outShape), ib = broadcastIndexer(bShape, outShape);
  for (let i = 0; i < n; ++i) out[i] = fn(a[ia(i)], b[ib(i)]);
  return {out, outShape};
}

// erf in float64: Taylor series below 4 (|error| < 1e-11 there), ±1 above (erfc(4) = 1.5e-8 is
// below half an f32 ulp of 1).
export function erf64(x) {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 4) return Math.sign(x);
  let term = ax, sum = ax;
  for (let n = 1; n < 200; ++n) {
    term *= -ax * ax / n;
    const t = term / (2 * n + 1);
    sum += t;
    if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
  }
  return Math.sign(x) * sum * 2 / Math.sqrt(Math.PI);
}

export const unaryRefs = {
  Relu: (x) => (x < 0 ? 0 : x),
  Relu6: (x) => (x < 0 ? 0 : x > 6 ? 6 : x),
  Elu: (x) => (x >= 0 ? x : Math.expm1(x)),
  LeakyRelu: (x, alpha) => (x < 0 ? alpha * x : x),
  Sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  Tanh: Math.tanh,
  Exp: Math.exp,
  Log: Math.log,
  Sqrt: Math.sqrt,
  Rsqrt: (x) => 1 / Math.sqrt(x),
  Square: (x) => x * x,
  Neg: (x) => -x,
  Abs: Math.abs,
  Erf: erf64,
};

export const binaryRefs = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Multiply: (a, b) => a * b,
  RealDiv: (a, b) => a / b,
  Maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  Minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  SquaredDifference: (a, b) => (a - b) * (a - b),
  Prelu: (x, alpha) => (x < 0 ? alpha * x : x),
};

/**
 * Checks got (f32) against ref (f64): non-finite values must match exactly (NaN with NaN, +Inf
 * with +Inf); finite ones within atol + rtol * |ref| of ref rounded to f32. Returns null or a
 * message describing the worst element.
 */
export function compareElementwise(got, ref, {rtol, atol}) {
  if (got.length !== ref.length) return `length ${got.length} != ${ref.length}`;
  let worst = -1, worstErr = 0;
  for (let i = 0; i < ref.length; ++i) {
    const r = Math.fround(ref[i]), g = got[i];
    if (!Number.isFinite(r) || !Number.isFinite(g)) {
      if (!Object.is(r, g) && !(Number.isNaN(r) && Number.isNaN(g))) {
        return `element ${i}: got ${g}, expected ${r} (non-finite values must match exactly)`;
      }
      continue;
    }
    const err = Math.abs(g - r) - (atol + rtol * Math.abs(r));
    if (err > worstErr) {
      worstErr = err;
      worst = i;
    }
  }
  return worst < 0 ? null : `element ${worst}: got ${got[worst]}, expected ${Math.fround(ref[worst])} (f64 ${ref[worst]})`;
}

/**
 * Checks a sum-of-products result: |got - ref| <= gamma(k) * absRef (+ the epilogue's rounding),
 * where absRef = sum |a||b| and gamma(k) = k u / (1 - k u) is the rigorous bound for any order of
 * f32 accumulation (u = 2^-24); also RMS(error) / RMS(absRef) over the whole output <= 1e-6.
 */
export function compareDot(got, ref, absRef, k, epilogueUlps = 4) {
  const u = 2 ** -24, gamma = (k * u) / (1 - k * u);
  let se = 0, sr = 0;
  for (let i = 0; i < ref.length; ++i) {
    const r = ref[i], g = got[i];
    if (!Number.isFinite(r) || !Number.isFinite(g)) {
      if (!Object.is(Math.fround(r), g) && !(Number.isNaN(r) && Number.isNaN(g))) {
        return `element ${i}: got ${g}, expected ${r} (non-finite values must match exactly)`;
      }
      continue;
    }
    const bound = gamma * absRef[i] * 1.0001 + epilogueUlps * u * Math.abs(r) + 1e-30;
    if (Math.abs(g - r) > bound) return `element ${i}: got ${g}, expected ${r} (|err| ${Math.abs(g - r)} > bound ${bound})`;
    se += (g - r) ** 2;
    sr += absRef[i] * absRef[i];
  }
  // Statistically the error of an f32 sum of products is a few u times sum |a||b| whatever K is;
  // 1e-6 is ~17 u, far below the worst-case bound for large K.
  if (sr > 0 && Math.sqrt(se / sr) > 1e-6) return `RMS error / RMS(sum |a||b|) = ${Math.sqrt(se / sr)} > 1e-6`;
  return null;
}

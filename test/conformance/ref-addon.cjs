// SPDX-License-Identifier: Apache-2.0
// A plain-JS stand-in for the addon's compute functions (binary, unary, reduce, softmax, matmul),
// loaded through AFTERBURNER_ADDON=<this file>: it takes the real addon (isa, threads, probe) and
// fills in only what the real one lacks, or replaces everything with AB_REF_ADDON_ALL=1.
//
// Purpose: the TypeScript kernel wrappers (shapes, axes, broadcasting, batch maps, epilogue modes)
// can be checked against tfjs-core's conformance suite independently of the native kernels:
//   node test/conformance/run.mjs --ref-addon
// If a spec fails with this stand-in too, the bug is in src/ (or here); if it fails only with the
// real addon, it is in native code. Semantics follow native/ops/op_codes.h and src/binding.ts.
'use strict';
const path = require('path');

const real = require(process.env.AB_REAL_ADDON || path.join(__dirname, '..', '..', 'build', 'Release', 'afterburner.node'));
const replaceAll = process.env.AB_REF_ADDON_ALL === '1';

const f = Math.fround;
const sigmoid = (x) => 1 / (1 + Math.exp(-x));
function erf(x) {  // tfjs-backend-cpu's approximation (Abramowitz and Stegun 7.1.26)
  const s = Math.sign(x), v = Math.abs(x), t = 1 / (1 + 0.3275911 * v);
  return s * (1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t +
      0.254829592) * t * Math.exp(-v * v));
}

const UNARY = [
  (x) => Math.max(x, 0),                        // Relu (NaN stays NaN below)
  (x) => Math.min(Math.max(x, 0), 6),           // Relu6
  (x) => (x >= 0 ? x : Math.exp(x) - 1),        // Elu
  (x, a) => (x < 0 ? a * x : x),                // LeakyRelu
  sigmoid,                                      // Sigmoid
  Math.tanh, Math.exp, Math.log, Math.sqrt,     // Tanh, Exp, Log, Sqrt
  (x) => 1 / Math.sqrt(x),                      // Rsqrt
  (x) => x * x, (x) => -x, Math.abs, erf,       // Square, Neg, Abs, Erf
];
const BINARY = [
  (a, b) => a + b, (a, b) => a - b, (a, b) => a * b, (a, b) => a / b,
  (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  (a, b) => (a - b) * (a - b),
  (a, b) => (a < 0 ? b * a : a),
];
const ACT = [
  (x) => x, UNARY[0], UNARY[1], UNARY[2], UNARY[3], (x, a, s) => (x < 0 ? s * x : x), sigmoid,
];

function unaryOf(op, x, alpha) {
  if (Number.isNaN(x)) return op === 13 ? NaN : UNARY[op](x, alpha);
  return UNARY[op](x, alpha);
}

function strides(shape) {
  const s = new Array(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Index into an operand of `shape` broadcast onto `outShape` for flat output index i. */
function bcastIndex(i, outShape, outStrides, shape, st) {
  const off = outShape.length - shape.length;
  let idx = 0;
  for (let d = 0; d < outShape.length; ++d) {
    const c = Math.floor(i / outStrides[d]) % outShape[d];
    const od = d - off;
    if (od >= 0 && shape[od] !== 1) idx += c * st[od];
  }
  return idx;
}

const ref = {
  binary(op, a, aShape, b, bShape, out, outShape) {
    const os = strides(outShape), as = strides(aShape), bs = strides(bShape);
    for (let i = 0; i < out.length; ++i) {
      out[i] = BINARY[op](a[bcastIndex(i, outShape, os, aShape, as)], b[bcastIndex(i, outShape, os, bShape, bs)]);
    }
  },
  unary(op, x, out, alpha) {
    for (let i = 0; i < x.length; ++i) out[i] = unaryOf(op, x[i], alpha);
  },
  softmax(x, out, rows, cols) {
    for (let r = 0; r < rows; ++r) {
      let m = -Infinity;
      for (let c = 0; c < cols; ++c) m = Math.max(m, x[r * cols + c]);
      let s = 0;
      for (let c = 0; c < cols; ++c) s += (out[r * cols + c] = Math.exp(x[r * cols + c] - m));
      for (let c = 0; c < cols; ++c) out[r * cols + c] /= s;
    }
  },
  reduce(op, x, out, outer, r, inner) {
    for (let o = 0; o < outer; ++o) {
      for (let i = 0; i < inner; ++i) {
        let acc = op === 2 ? -Infinity : op === 3 ? Infinity : op === 4 ? 1 : 0;
        for (let k = 0; k < r; ++k) {
          const v = x[(o * r + k) * inner + i];
          if (op === 0 || op === 1) acc += v;
          else if (op === 2) acc = Number.isNaN(v) || Number.isNaN(acc) ? NaN : Math.max(acc, v);
          else if (op === 3) acc = Number.isNaN(v) || Number.isNaN(acc) ? NaN : Math.min(acc, v);
          else acc *= v;
        }
        out[o * inner + i] = op === 1 ? acc / r : acc;
      }
    }
  },
  matmul(a, b, out, batch, M, N, K, transA, transB, aIdx, bIdx, bias, biasMode, act, alpha, slope, slopeMode) {
    const aBatches = a.length / (M * K), bBatches = b.length / (K * N);
    const operand = (arr, mode, m, n) => (mode === 1 ? arr[0] : mode === 2 ? arr[n] : mode === 3 ? arr[m * N + n] : 0);
    for (let p = 0; p < batch; ++p) {
      const ab = aIdx ? aIdx[p] : aBatches === 1 ? 0 : p, bb = bIdx ? bIdx[p] : bBatches === 1 ? 0 : p;
      const ao = ab * M * K, bo = bb * K * N;
      for (let m = 0; m < M; ++m) {
        for (let n = 0; n < N; ++n) {
          let s = 0;
          for (let k = 0; k < K; ++k) {
            s += f(a[ao + (transA ? k * M + m : m * K + k)]) * f(b[bo + (transB ? n * K + k : k * N + n)]);
          }
          if (biasMode) s += operand(bias, biasMode, m, n);
          out[p * M * N + m * N + n] = ACT[act](s, alpha, slopeMode ? operand(slope, slopeMode, m, n) : 0);
        }
      }
    }
  },
};

const addon = Object.assign({}, real);
for (const [name, fn] of Object.entries(ref)) {
  if (replaceAll || typeof real[name] !== 'function') addon[name] = fn;
}
addon.__refFunctions = Object.keys(ref).filter((n) => addon[n] === ref[n]);
module.exports = addon;

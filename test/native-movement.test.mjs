// SPDX-License-Identifier: Apache-2.0
// Data movement, resize and cast: the addon's functions against plain-JS references (odd shapes,
// every attribute combination, int32, 0-size dims, every ISA level, 1 and 2 threads), bad
// arguments (they throw, never crash), and the tfjs kernels on afterburner against both the
// references and tfjs-cpu (bit for bit, output typed-array type included), with the cases where
// tfjs-cpu shares its input's data still sharing it.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import * as tf from '@tensorflow/tfjs-core';
import * as ab from '../dist/esm/index.js';

import {rng} from './lib/reference.mjs';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');

const levels = ab.isa.effective();
const initialLevel = ab.isa.current();
const initialThreads = ab.getNumThreads();

/** Runs fn at every ISA level and at 1 and 2 threads. */
function everywhere(fn) {
  try {
    for (const level of levels) {
      ab.isa.set(level);
      for (const threads of [1, 2]) {
        ab.setNumThreads(threads);
        fn(`${level}/${threads}t`);
      }
    }
  } finally {
    ab.isa.set(initialLevel);
    ab.setNumThreads(initialThreads);
  }
}

// Counts the addon calls each tfjs kernel makes, to prove which path ran (binding.ts loads this
// same module object).
const calls = {};
for (const name of ['stridedCopy', 'pad', 'mirrorPad', 'concat', 'gather', 'resizeBilinear', 'resizeNearest', 'cast']) {
  const f = nat[name];
  calls[name] = 0;
  nat[name] = (...args) => {
    ++calls[name];
    return f(...args);
  };
}

const size = (shape) => shape.reduce((p, d) => p * d, 1);
const stridesOf = (shape) => {
  const s = new Array(shape.length);
  let n = 1;
  for (let k = shape.length - 1; k >= 0; --k) {
    s[k] = n;
    n *= shape[k];
  }
  return s;
};
const locOf = (i, shape) => {
  const loc = new Array(shape.length);
  for (let k = shape.length - 1; k >= 0; --k) {
    loc[k] = i % shape[k];
    i = Math.floor(i / shape[k]);
  }
  return loc;
};

let seed = 7;
/** Random float32 data with NaN, ±Inf, -0 and a signalling-free NaN payload sprinkled in. */
function f32(n) {
  const r = rng(seed++), a = new Float32Array(n);
  for (let i = 0; i < n; ++i) a[i] = (r() - 0.5) * 200;
  const sp = [NaN, Infinity, -Infinity, -0, 0, 1e-40, 3e38];
  for (let k = 0; k < sp.length && n > 16; ++k) a[Math.floor(r() * n)] = sp[k];
  return a;
}
function i32(n) {
  const r = rng(seed++), a = new Int32Array(n);
  for (let i = 0; i < n; ++i) a[i] = Math.floor((r() - 0.5) * 4294967295);
  return a;
}

// Outputs of the direct addon calls sit between guard zones, which must stay untouched (a write
// past either end would otherwise corrupt the heap silently).
const GUARD = 16;
const guardValue = (Ctor) => (Ctor === Float32Array ? -12345.5 : 91);
function guarded(Ctor, n) {
  return new Ctor(n + 2 * GUARD).fill(guardValue(Ctor)).subarray(GUARD, GUARD + n);
}

/** Bitwise equality of two typed arrays (same constructor, length, and bits); guard zones intact. */
function sameBits(got, want, what) {
  if (got.byteOffset === GUARD * got.BYTES_PER_ELEMENT && got.buffer.byteLength === (got.length + 2 * GUARD) * got.BYTES_PER_ELEMENT) {
    const all = new got.constructor(got.buffer), v = guardValue(got.constructor);
    for (let i = 0; i < GUARD; ++i) {
      assert.ok(Object.is(all[i], v) && Object.is(all[GUARD + got.length + i], v), `${what}: wrote outside the output`);
    }
  }
  assert.equal(got.constructor.name, want.constructor.name, `${what}: array type`);
  assert.equal(got.length, want.length, `${what}: length`);
  const g = new Uint8Array(got.buffer, got.byteOffset, got.byteLength);
  const w = new Uint8Array(want.buffer, want.byteOffset, want.byteLength);
  for (let i = 0; i < g.length; ++i) {
    if (g[i] !== w[i]) {
      const e = Math.floor(i / got.BYTES_PER_ELEMENT);
      assert.fail(`${what}: element ${e}: got ${got[e]}, want ${want[e]}`);
    }
  }
}

// ---- plain-JS references --------------------------------------------------------------------

function refStrided(x, shape, offset, strides, Ctor) {
  const out = new Ctor(size(shape));
  for (let i = 0; i < out.length; ++i) {
    const loc = locOf(i, shape);
    out[i] = x[offset + loc.reduce((o, c, k) => o + c * strides[k], 0)];
  }
  return out;
}

function refTranspose(x, shape, perm, Ctor) {
  const outShape = perm.map((p) => shape[p]), os = stridesOf(outShape), out = new Ctor(x.length);
  for (let i = 0; i < x.length; ++i) {
    const loc = locOf(i, shape);
    out[perm.reduce((o, p, k) => o + loc[p] * os[k], 0)] = x[i];
  }
  return out;
}

function refPad(x, shape, before, after, value, Ctor) {
  const outShape = shape.map((d, k) => d + before[k] + after[k]), os = stridesOf(outShape);
  const out = new Ctor(size(outShape)).fill(value);
  for (let i = 0; i < x.length; ++i) out[locOf(i, shape).reduce((o, c, k) => o + (c + before[k]) * os[k], 0)] = x[i];
  return out;
}

function refMirrorPad(x, shape, before, after, offset, Ctor) {
  const outShape = shape.map((d, k) => d + before[k] + after[k]), xs = stridesOf(shape);
  const out = new Ctor(size(outShape));
  for (let i = 0; i < out.length; ++i) {
    const loc = locOf(i, outShape).map((c, k) => {
      const start = before[k], end = before[k] + shape[k];
      if (c < start) c = start * 2 - c - offset;
      else if (c >= end) c = (end - 1) * 2 - c + offset;
      return c - start;
    });
    out[i] = x[loc.reduce((o, c, k) => o + c * xs[k], 0)];
  }
  return out;
}

function refConcat(xs, widths, outer, Ctor) {
  const row = widths.reduce((p, w) => p + w, 0), out = new Ctor(outer * row);
  for (let r = 0; r < outer; ++r) {
    let col = 0;
    xs.forEach((x, i) => {
      for (let c = 0; c < widths[i]; ++c) out[r * row + col + c] = x[r * widths[i] + c];
      col += widths[i];
    });
  }
  return out;
}

function refGather(x, idx, [batch, outer, dim, slice, n], Ctor) {
  const out = new Ctor(batch * outer * n * slice);
  for (let b = 0; b < batch; ++b) for (let o = 0; o < outer; ++o) for (let i = 0; i < n; ++i) for (let s = 0; s < slice; ++s) {
    out[((b * outer + o) * n + i) * slice + s] = x[((b * outer + o) * dim + idx[b * n + i]) * slice + s];
  }
  return out;
}

// tfjs-cpu's resize formulas, restated (float64 arithmetic, one float32 rounding on store).
function refResize(bilinear, x, [B, H, W, C, OH, OW], align, half) {
  const eff = (i, o) => (align && o > 1 ? [i - 1, o - 1] : [i, o]);
  const [ih, oh] = eff(H, OH), [iw, ow] = eff(W, OW);
  const ry = ih / oh, rx = iw / ow, out = new Float32Array(B * OH * OW * C);
  const px = (b, y, xx, c) => x[((b * H + y) * W + xx) * C + c];
  for (let b = 0; b < B; ++b) for (let y = 0; y < OH; ++y) for (let xx = 0; xx < OW; ++xx) for (let c = 0; c < C; ++c) {
    const o = ((b * OH + y) * OW + xx) * C + c;
    if (bilinear) {
      const sy = half ? ry * (y + 0.5) - 0.5 : ry * y, sx = half ? rx * (xx + 0.5) - 0.5 : rx * xx;
      const y0 = Math.max(0, Math.floor(sy)), y1 = Math.min(H - 1, Math.ceil(sy)), fy = sy - y0;
      const x0 = Math.max(0, Math.floor(sx)), x1 = Math.min(W - 1, Math.ceil(sx)), fx = sx - x0;
      const top = px(b, y0, x0, c) + (px(b, y0, x1, c) - px(b, y0, x0, c)) * fx;
      const bot = px(b, y1, x0, c) + (px(b, y1, x1, c) - px(b, y1, x0, c)) * fx;
      out[o] = top + (bot - top) * fy;
    } else {
      const sy = half ? ry * (y + 0.5) : ry * y, sx = half ? rx * (xx + 0.5) : rx * xx;
      let ny = Math.min(H - 1, align ? Math.round(sy) : Math.floor(sy));
      let nx = Math.min(W - 1, align ? Math.round(sx) : Math.floor(sx));
      if (half) {
        ny = Math.max(0, ny);
        nx = Math.max(0, nx);
      }
      out[o] = px(b, ny, nx, c);
    }
  }
  return out;
}

// ---- the addon, directly ---------------------------------------------------------------------

test('stridedCopy: transposes, slices, negative and zero strides against the reference', () => {
  const cases = [];
  // Every permutation of an odd rank-4 shape.
  const perms4 = [];
  const permute = (p, rest) => (rest.length ? rest.forEach((r, i) => permute([...p, r], rest.filter((_, j) => j !== i))) : perms4.push(p));
  permute([], [0, 1, 2, 3]);
  for (const perm of perms4) cases.push({kind: 'transpose', shape: [3, 5, 7, 2], perm});
  for (const [shape, perm] of [
    [[1, 56, 56, 64], [0, 3, 1, 2]], [[1, 64, 56, 56], [0, 2, 3, 1]], [[2, 37, 35, 19], [0, 3, 1, 2]],
    [[2, 19, 37, 35], [0, 2, 3, 1]], [[67, 131], [1, 0]], [[16, 16], [1, 0]], [[3, 33, 17], [2, 1, 0]],
    [[2, 3, 4, 5, 6, 7], [5, 3, 1, 0, 4, 2]], [[1, 300, 3], [0, 2, 1]], [[1, 3, 300], [0, 2, 1]], [[5], [0]], [[], []],
    [[4, 0, 3], [2, 0, 1]], [[1, 1, 9, 1], [3, 2, 1, 0]], [[130, 70, 2], [1, 0, 2]],
  ]) cases.push({kind: 'transpose', shape, perm});
  for (const c of cases) {
    const n = size(c.shape);
    for (const [data, Ctor] of [[f32(n), Float32Array], [i32(n), Int32Array]]) {
      const want = refTranspose(data, c.shape, c.perm, Ctor);
      const xs = stridesOf(c.shape);
      everywhere((at) => {
        const out = guarded(Ctor, n);
        nat.stridedCopy(data, out, c.perm.map((p) => c.shape[p]), 0, c.perm.map((p) => xs[p]));
        sameBits(out, want, `transpose [${c.shape}] perm [${c.perm}] ${Ctor.name} at ${at}`);
      });
    }
  }
  // General views: offsets, negative strides (reversals), zero strides (broadcast / tile).
  const views = [
    {xn: 6 * 7 * 8, shape: [3, 4, 4], offset: 5 * 56 + 1, strides: [-112, 8, 2]},
    {xn: 100, shape: [7, 9], offset: 99, strides: [-10, -1]},
    {xn: 5, shape: [4, 3, 5], offset: 0, strides: [0, 0, 1]},
    {xn: 5, shape: [5, 33], offset: 0, strides: [1, 0]},
    {xn: 3 * 40000, shape: [40000, 3], offset: 0, strides: [1, 40000]},
    {xn: 200000, shape: [100000], offset: 199999, strides: [-2]},
    {xn: 1000, shape: [10, 10, 10], offset: 0, strides: [1, 10, 100]},
    {xn: 70000, shape: [2, 35000], offset: 1, strides: [35000 - 1, 1]},
  ];
  for (const v of views) {
    const data = f32(v.xn), want = refStrided(data, v.shape, v.offset, v.strides, Float32Array);
    everywhere((at) => {
      const out = guarded(Float32Array, size(v.shape));
      nat.stridedCopy(data, out, v.shape, v.offset, v.strides);
      sameBits(out, want, `view ${JSON.stringify(v)} at ${at}`);
    });
  }
});

test('pad and mirrorPad against the reference', () => {
  const pads = [
    [[1, 112, 112, 3], [0, 1, 1, 0], [0, 1, 1, 0]], [[2, 5, 6, 3], [0, 1, 2, 0], [0, 2, 1, 1]], [[7], [3], [0]],
    [[4, 9], [0, 0], [0, 0]], [[0, 3], [1, 1], [2, 0]], [[3, 0, 2], [0, 0, 0], [0, 0, 0]], [[2, 3, 4, 5, 6], [1, 0, 2, 0, 1], [0, 1, 0, 2, 1]],
    [[1, 64, 64, 32], [0, 2, 2, 0], [0, 3, 3, 0]], [[], [], []],
  ];
  for (const [shape, before, after] of pads) {
    const n = size(shape);
    for (const [data, Ctor, value] of [[f32(n), Float32Array, 1.5], [i32(n), Int32Array, -7.9], [f32(n), Float32Array, NaN],
                                        [i32(n), Int32Array, 3e9]]) {
      const want = refPad(data, shape, before, after, value, Ctor);
      everywhere((at) => {
        const out = guarded(Ctor, want.length);
        nat.pad(data, out, shape, before, after, value);
        sameBits(out, want, `pad [${shape}] ${before}/${after} ${Ctor.name} ${value} at ${at}`);
      });
    }
  }
  const mirrors = [
    [[4, 5, 3], [1, 3, 0], [2, 1, 0], 0], [[4, 5, 3], [4, 5, 1], [4, 1, 3], 1], [[1, 40, 40, 16], [0, 3, 3, 0], [0, 3, 3, 0], 0],
    [[9], [8], [8], 0], [[9], [9], [9], 1], [[3, 1, 2], [2, 1, 1], [2, 0, 2], 1], [[2, 3], [0, 0], [0, 0], 0], [[1, 1], [0, 0], [0, 0], 1],
  ];
  for (const [shape, before, after, mode] of mirrors) {
    const n = size(shape);
    for (const [data, Ctor] of [[f32(n), Float32Array], [i32(n), Int32Array]]) {
      const want = refMirrorPad(data, shape, before, after, mode, Ctor);
      everywhere((at) => {
        const out = guarded(Ctor, want.length);
        nat.mirrorPad(data, out, shape, before, after, mode);
        sameBits(out, want, `mirrorPad [${shape}] ${before}/${after} mode ${mode} at ${at}`);
      });
    }
  }
});

test('concat and gather against the reference', () => {
  for (const [outer, widths] of [[3136, [64, 64, 64, 64]], [5, [1, 2, 3, 0, 17]], [1, [100000, 3, 70001]], [2, [40000, 40000]],
                                 [7, [1]], [0, [3, 4]], [1000, [1, 1]], [30000, [3, 0, 5, 2]], [70000, [1, 1, 1]]]) {
    for (const Ctor of [Float32Array, Int32Array]) {
      const xs = widths.map((w) => (Ctor === Float32Array ? f32(outer * w) : i32(outer * w)));
      const want = refConcat(xs, widths, outer, Ctor);
      everywhere((at) => {
        const out = guarded(Ctor, want.length);
        nat.concat(xs, widths, out, outer);
        sameBits(out, want, `concat outer ${outer} widths ${widths} ${Ctor.name} at ${at}`);
      });
    }
  }
  for (const dims of [[1, 5, 7, 3, 4], [2, 3, 9, 1, 40], [1, 1, 1000, 64, 17], [3, 1, 4, 5, 0], [1, 2, 10, 100, 300]]) {
    const [batch, outer, dim, slice, n] = dims;
    const x = f32(batch * outer * dim * slice), r = rng(seed++);
    const idx = Int32Array.from({length: batch * n}, () => Math.floor(r() * dim));
    const want = refGather(x, idx, dims, Float32Array);
    everywhere((at) => {
      const out = guarded(Float32Array, want.length);
      nat.gather(x, idx, out, dims);
      sameBits(out, want, `gather ${dims} at ${at}`);
    });
  }
});

test('resizeBilinear and resizeNearest against tfjs-cpu\'s formulas, every flag combination', () => {
  const shapes = [
    [1, 5, 7, 3, 9, 4], [2, 4, 4, 8, 8, 8], [1, 6, 5, 17, 3, 11], [1, 1, 1, 5, 4, 3], [1, 8, 8, 32, 16, 16], [1, 3, 4, 2, 1, 1],
    [1, 2, 9, 1, 7, 25], [3, 4, 5, 9, 4, 5], [0, 4, 4, 2, 8, 8], [1, 6, 4, 1, 3, 11], [2, 5, 6, 2, 4, 9], [1, 7, 7, 3, 7, 6],
  ];
  for (const dims of shapes) {
    const n = dims[0] * dims[1] * dims[2] * dims[3];
    for (const [x, label] of [[f32(n), 'f32'], [i32(n).map((v) => v >> 20), 'i32']]) {
      for (const bilinear of [true, false]) {
        for (const align of [false, true]) {
          for (const half of [false, true]) {
            if (bilinear && align && half) continue;  // taps can leave the image (tested below)
            const want = refResize(bilinear, x, dims, align, half);
            everywhere((at) => {
              const out = guarded(Float32Array, want.length);
              (bilinear ? nat.resizeBilinear : nat.resizeNearest)(x, out, dims, align, half);
              sameBits(out, want, `${bilinear ? 'bilinear' : 'nearest'} ${dims} ${label} align ${align} half ${half} at ${at}`);
            });
          }
        }
      }
    }
  }
  // alignCorners + halfPixelCenters: fine while the taps stay inside, an error when they do not.
  const x = f32(2 * 2 * 3);
  const want = refResize(true, x, [1, 2, 2, 3, 2, 2], true, true);
  const out = guarded(Float32Array, want.length);
  nat.resizeBilinear(x, out, [1, 2, 2, 3, 2, 2], true, true);
  sameBits(out, want, 'bilinear align+half inside');
  assert.throws(() => nat.resizeBilinear(f32(10 * 10), new Float32Array(4), [1, 10, 10, 1, 2, 2], true, true),
                /outside the image/);
});

test('cast: ToInt32 and != 0 against JavaScript', () => {
  const specials = [0, -0, 0.5, -0.5, 1.9999, -1.9999, NaN, Infinity, -Infinity, 2147483647, 2147483648, -2147483648, -2147483904,
                    4294967296, 4294967295, 3e9, -3e9, 1e10, -1e10, 9.2233720368547758e18, -9.2233720368547758e18, 1e19, 3.4e38,
                    -3.4e38, 1e-40, 16777217, 123456789];
  for (const n of [specials.length, 1, 15, 16, 17, 1000, 300001]) {
    const x = new Float32Array(n);
    const base = f32(n);
    for (let i = 0; i < n; ++i) x[i] = i < specials.length ? specials[i] : base[i] * (i % 3 === 0 ? 1e8 : 1);
    const xi = i32(n);
    for (let i = 0; i < n; i += 5) xi[i] = 0;
    everywhere((at) => {
      const yi = guarded(Int32Array, n), yb = guarded(Uint8Array, n), yib = guarded(Uint8Array, n);
      nat.cast(x, yi);
      nat.cast(x, yb);
      nat.cast(xi, yib);
      sameBits(yi, Int32Array.from(x), `f32 -> i32 (n ${n}) at ${at}`);
      sameBits(yb, Uint8Array.from(x, (v) => (v !== 0 ? 1 : 0)), `f32 -> bool (n ${n}) at ${at}`);
      sameBits(yib, Uint8Array.from(xi, (v) => (v !== 0 ? 1 : 0)), `i32 -> bool (n ${n}) at ${at}`);
    });
  }
});

test('the movement functions reject bad arguments with clear errors', () => {
  const x = new Float32Array(24), out = new Float32Array(24);
  const bad = [
    [() => nat.stridedCopy(x, out, [2, 3, 4], 0, [12, 4]), /one stride per dim/],
    [() => nat.stridedCopy(x, out, [2, 3, 4], 1, [12, 4, 1]), /reach outside x/],
    [() => nat.stridedCopy(x, out, [2, 3, 4], 0, [-12, 4, 1]), /reach outside x/],
    [() => nat.stridedCopy(x, new Float32Array(23), [2, 3, 4], 0, [12, 4, 1]), /'out' has 23 elements/],
    [() => nat.stridedCopy(x, x.subarray(4), [2, 2], 0, [2, 1]), /must not share memory/],
    [() => nat.stridedCopy(x, out, [2, -3], 0, [1, 1]), /shape\[1\] must be in/],
    [() => nat.stridedCopy(new Float64Array(24), out, [24], 0, [1]), /argument 'x' must be a Float32Array, Int32Array or Uint32Array/],
    [() => nat.stridedCopy(x, new Uint8Array(24), [24], 0, [1]), /argument 'out' must be/],
    [() => nat.stridedCopy(x, out, [24], 0.5, [1]), /'offset' must be an integer/],
    [() => nat.stridedCopy(x, out), /expected 5 arguments/],
    [() => nat.pad(x, new Float32Array(48), [2, 3, 4], [0, 1], [0, 1, 0], 0), /one value per dim/],
    [() => nat.pad(x, new Float32Array(48), [2, 3, 4], [0, -1, 0], [0, 1, 0], 0), /pads must be in/],
    [() => nat.pad(x, new Float32Array(39), [2, 3, 4], [0, 1, 0], [0, 1, 0], 0), /smaller than its shape/],
    [() => nat.pad(x, out, [2, 3, 4], [0, 0, 0], [0, 0, 0], 'a'), /'value' must be a number/],
    [() => nat.mirrorPad(x, new Float32Array(100), [2, 3, 4], [0, 3, 0], [0, 0, 0], 0), /at most 2 for mode reflect/],
    [() => nat.mirrorPad(x, new Float32Array(100), [2, 3, 4], [0, 4, 0], [0, 0, 0], 1), /at most 3 for mode symmetric/],
    [() => nat.mirrorPad(x, new Float32Array(100), [2, 3, 4], [0, 0, 0], [0, 0, 0], 2), /'mode' must be 0/],
    [() => nat.concat(x, [1], out, 1), /'inputs' must be an array/],
    [() => nat.concat([x, new Float64Array(4)], [1, 1], out, 1), /inputs\[1\] must be/],
    [() => nat.concat([x, x], [1], out, 1), /one width per input/],
    [() => nat.concat([x, x], [12, 13], out, 2), /inputs\[1\] has 24 elements/],
    [() => nat.concat([x, x], [12, 12], out, 2), /'out' has 24 elements/],
    [() => nat.concat([x, out], [12, 12], x, 1), /must not share memory/],
    [() => nat.concat([x], [1], out, -1), /'outer' must be in/],
    [() => nat.gather(x, new Int32Array([0, 5]), out, [1, 1, 4, 6, 2]), /indices\[1\] = 5 is not in \[0, 4\)/],
    [() => nat.gather(x, new Int32Array([0, -1]), out, [1, 1, 4, 6, 2]), /indices\[1\] = -1/],
    [() => nat.gather(x, new Float32Array([0, 1]), out, [1, 1, 4, 6, 2]), /'indices' must be an Int32Array/],
    [() => nat.gather(x, new Int32Array([0, 1]), out, [1, 1, 4, 6]), /'dims' must hold 5 integers/],
    [() => nat.gather(x, new Int32Array([0, 1]), out, [1, 1, 5, 6, 2]), /smaller than its shape/],
    [() => nat.resizeBilinear(x, out, [1, 2, 3, 4, 2, 3], false), /expected 5 arguments/],
    [() => nat.resizeBilinear(x, out, [1, 2, 3, 4, 2, 3], 0, false), /'alignCorners' must be a boolean/],
    [() => nat.resizeBilinear(x, out, [1, 2, 3, 4, 2, 4], false, false), /smaller than its shape/],
    [() => nat.resizeBilinear(x, out, [1, 2, 3, 4, 2], false, false), /'dims' must hold 6 integers/],
    [() => nat.resizeNearest(new Uint8Array(24), out, [1, 2, 3, 4, 2, 3], false, false), /Float32Array or Int32Array/],
    [() => nat.resizeNearest(x, new Int32Array(24), [1, 2, 3, 4, 2, 3], false, false), /'out' must be a Float32Array/],
    [() => nat.resizeNearest(x, out, [1, 0, 3, 4, 2, 3], false, false), /empty image/],
    [() => nat.resizeNearest(x, x, [1, 2, 3, 4, 2, 3], false, false), /must not share memory/],
    [() => nat.cast(x, new Float32Array(24)), /casts Float32Array to Int32Array/],
    [() => nat.cast(new Uint8Array(4), new Int32Array(4)), /casts Float32Array/],
    [() => nat.cast(x, new Int32Array(23)), /'out' has 23 elements/],
    [() => nat.cast(x, new Int32Array(x.buffer)), /must not share memory/],
  ];
  bad.forEach(([fn, re], i) => assert.throws(fn, re, `case ${i}: ${fn}`));
});

// ---- the tfjs kernels on afterburner vs tfjs-cpu -------------------------------------------------

/**
 * Runs op on afterburner and on tfjs-cpu, on the same input data, and requires the same dtype,
 * shape, typed-array type and bits; `ref` (optional) gives the expected values independently.
 * `native` names the addon function that must (or, with a leading '!', must not) have been called.
 */
function vsCpu(what, inputs, op, {native, ref} = {}) {
  const results = {};
  for (const backend of ['cpu', 'afterburner']) {
    tf.setBackend(backend);
    const ts = inputs.map(({data, shape, dtype}) => tf.tensor(data, shape, dtype));
    const before = {...calls};
    let out;
    try {
      out = op(...ts);
    } catch (e) {
      results[backend] = {error: e.message};
      tf.dispose(ts);
      continue;
    }
    const values = tf.backend().data.get(out.dataId).values;
    results[backend] = {dtype: out.dtype, shape: out.shape, values: values.slice(), shared: ts.some((t) => {
      const v = tf.backend().data.get(t.dataId).values;
      return v.buffer === values.buffer;
    }), called: Object.keys(calls).filter((k) => calls[k] > before[k])};
    tf.dispose([...ts, out]);
  }
  tf.setBackend('afterburner');
  const c = results.cpu, a = results.afterburner;
  // Where tfjs-cpu throws (its own limitations included), afterburner throws the same error.
  assert.equal(a.error, c.error, `${what}: error`);
  if (c.error) return;
  assert.equal(a.dtype, c.dtype, `${what}: dtype`);
  assert.deepEqual(a.shape, c.shape, `${what}: shape`);
  sameBits(a.values, c.values, `${what}: afterburner vs cpu`);
  assert.equal(a.shared, c.shared, `${what}: shares its input's data (${c.shared} on cpu)`);
  if (ref) sameBits(a.values, ref, `${what}: vs reference`);
  if (native?.startsWith('!')) assert.ok(!a.called.includes(native.slice(1)), `${what}: ${native.slice(1)} must not run`);
  else if (native) assert.ok(a.called.includes(native), `${what}: ${native} did not run (called: ${a.called})`);
}

const F = (shape) => ({data: f32(size(shape)), shape, dtype: 'float32'});
const I = (shape) => ({data: i32(size(shape)), shape, dtype: 'int32'});

test('Transpose, Slice, StridedSlice, Tile on afterburner match tfjs-cpu', () => {
  everywhere((at) => {
    for (const mk of [F, I]) {
      for (const [shape, perm] of [[[1, 12, 13, 64], [0, 3, 1, 2]], [[2, 33, 17, 5], [0, 2, 3, 1]], [[3, 4, 5], [2, 0, 1]],
                                   [[5], [0]], [[], []], [[2, 0, 3], [2, 1, 0]], [[2, 3, 4, 5, 6], [4, 2, 0, 3, 1]]]) {
        const x = mk(shape);
        // (tfjs's transpose op clones rank <= 1 without calling the kernel)
        vsCpu(`transpose [${shape}] [${perm}] ${x.dtype} at ${at}`, [x], (t) => tf.transpose(t, perm),
              {native: shape.length > 1 ? 'stridedCopy' : undefined, ref: refTranspose(x.data, shape, perm, x.data.constructor)});
      }
      const x = mk([4, 5, 6]);
      vsCpu(`slice ${x.dtype} at ${at}`, [x], (t) => tf.slice(t, [1, 1, 2], [2, 3, 3]), {native: 'stridedCopy'});
      vsCpu(`slice 0-size ${x.dtype} at ${at}`, [x], (t) => tf.slice(t, [1, 1, 2], [2, 0, 3]));
      vsCpu(`contiguous slice shares ${x.dtype} at ${at}`, [x], (t) => tf.slice(t, [1, 0, 0], [2, 5, 6]), {native: '!stridedCopy'});
      vsCpu(`contiguous slice of rows shares ${x.dtype} at ${at}`, [x], (t) => tf.slice(t, [1, 2, 0], [1, 2, 6]), {native: '!stridedCopy'});
      const y = mk([6, 7, 8]);
      const ss = [
        [[5, 0, 1], [0, 7, 8], [-2, 3, 2], 0, 0, 0, 0, 0, 'stridedCopy'],
        [[1, 2, 0], [3, 5, 8], [1, 1, 1], 0, 0, 0, 0, 0, 'stridedCopy'],
        [[0, 0, 0], [6, 7, 8], [1, 1, 1], 0, 0, 0, 0, 0, '!stridedCopy'],
        [[2, 0, 0], [4, 7, 8], [1, 1, 1], 0, 0, 0, 0, 0, '!stridedCopy'],
        [[0, 0, 0], [0, 0, 0], [1, 1, -1], 7, 7, 0, 0, 0, 'stridedCopy'],
        [[1], [5], [2], 0, 0, 0, 0, 0, 'stridedCopy'],
        [[0, 1], [0, 6], [1, 2], 0, 0, 1, 0, 0, 'stridedCopy'],   // ellipsis
        [[0, 0, 1], [0, 0, 5], [1, 1, 1], 1, 1, 0, 2, 0, 'stridedCopy'],  // new axis
        [[1, 2], [0, 3], [1, 1], 0, 0, 0, 0, 0, null],           // begin > end: tfjs-cpu throws
        [[-1, -2, -3], [-6, -7, -9], [-1, -2, -3], 0, 0, 0, 0, 0, 'stridedCopy'],
      ];
      for (const [b, e, s, bm, em, elm, nam, sam, native] of ss) {
        vsCpu(`stridedSlice ${b}/${e}/${s} masks ${bm},${em},${elm},${nam},${sam} ${y.dtype} at ${at}`, [y],
              (t) => tf.stridedSlice(t, b, e, s, bm, em, elm, nam, sam), {native: native ?? undefined});
      }
      // Shrink axes with a non-unit stride: tfjs-cpu indexes x with too few coordinates, and throws
      // (or reads other elements); afterburner runs the same cpu code.
      for (const backend of ['cpu', 'afterburner']) {
        tf.setBackend(backend);
        const t = tf.tensor(y.data, y.shape, y.dtype);
        assert.throws(() => tf.stridedSlice(t, [0, 2], [6, 3], [2, 1], 0, 0, 0, 0, 2), /out of range element at 0,7/, backend);
        t.dispose();
      }
      tf.setBackend('afterburner');
      for (const [shape, reps] of [[[2, 3, 1], [3, 1, 4]], [[5], [3]], [[], []], [[2, 2], [0, 3]], [[1, 4, 4, 3], [2, 1, 1, 5]]]) {
        const z = mk(shape);
        vsCpu(`tile [${shape}] by [${reps}] ${z.dtype} at ${at}`, [z], (t) => tf.tile(t, reps), {native: 'stridedCopy'});
      }
    }
    const b = {data: Uint8Array.from([1, 0, 1, 1, 0, 0]), shape: [2, 3], dtype: 'bool'};
    vsCpu(`transpose bool at ${at}`, [b], (t) => tf.transpose(t), {native: '!stridedCopy'});
  });
});

test('PadV2, MirrorPad, Concat, GatherV2 on afterburner match tfjs-cpu', () => {
  everywhere((at) => {
    for (const mk of [F, I]) {
      for (const [shape, pads, value] of [[[1, 5, 6, 3], [[0, 0], [1, 2], [2, 1], [0, 0]], 1.5],
                                          [[5, 6], [[1, 2], [2, 1]], -7.7], [[0, 3], [[1, 1], [0, 2]], 2], [[4], [[0, 0]], 0]]) {
        const x = mk(shape);
        vsCpu(`pad [${shape}] ${JSON.stringify(pads)} ${value} ${x.dtype} at ${at}`, [x], (t) => tf.pad(t, pads, value), {native: 'pad'});
      }
      for (const [shape, pads, mode] of [[[4, 5, 3], [[1, 2], [3, 1], [0, 0]], 'reflect'], [[4, 5, 3], [[1, 4], [5, 1], [1, 0]], 'symmetric'],
                                         [[1, 6, 6, 2], [[0, 0], [2, 2], [2, 2], [0, 0]], 'reflect']]) {
        const x = mk(shape);
        vsCpu(`mirrorPad [${shape}] ${mode} ${x.dtype} at ${at}`, [x], (t) => tf.mirrorPad(t, pads, mode), {native: 'mirrorPad'});
      }
      for (const [shapes, axis, native] of [[[[2, 3, 4], [2, 3, 5], [2, 3, 1]], 2, 'concat'], [[[2, 3, 4], [1, 3, 4]], 0, 'concat'],
                                            [[[2, 3, 4], [2, 0, 4], [2, 2, 4]], -2, 'concat'], [[[3, 2], [3, 0]], 1, '!concat'],
                                            [[[0, 2], [0, 3]], 1, '!concat'], [[[2, 1], [2, 1], [2, 1], [2, 1], [2, 1], [2, 1], [2, 1]], 1, 'concat']]) {
        const xs = shapes.map(mk);
        vsCpu(`concat ${JSON.stringify(shapes)} axis ${axis} ${xs[0].dtype} at ${at}`, xs, (...ts) => tf.concat(ts, axis), {native});
      }
      for (const [shape, idx, axis, batchDims] of [[[5, 6, 7], [4, 0, 2, 2], 1, 0], [[5, 6], [5, 0, 2, 2, 3], 1, 0],
                                                   [[3, 4, 5], [[1, 0], [3, 3], [2, 1]], 1, 1], [[7], [6, 0, 0], 0, 0], [[4, 3], [], 0, 0]]) {
        const x = mk(shape), ind = {data: Int32Array.from(idx.flat()), shape: Array.isArray(idx[0]) ? [idx.length, idx[0].length] : [idx.length], dtype: 'int32'};
        vsCpu(`gather [${shape}] ${JSON.stringify(idx)} axis ${axis} batchDims ${batchDims} ${x.dtype} at ${at}`, [x, ind],
              (t, i) => tf.gather(t, i, axis, batchDims), {native: size(ind.shape) ? 'gather' : undefined});
      }
    }
  });
  // Out-of-range indices: the cpu kernel's error.
  assert.throws(() => tf.gather(tf.tensor([1, 2, 3]), tf.tensor1d([3], 'int32')), /GatherV2: the index value 3 is not in \[0, 2\]/);
});

test('ResizeBilinear and ResizeNearestNeighbor on afterburner match tfjs-cpu, every flag combination', () => {
  everywhere((at) => {
    for (const [shape, size2] of [[[2, 5, 7, 3], [9, 4]], [[1, 5, 7, 19], [12, 15]], [[1, 4, 4, 32], [8, 8]], [[1, 1, 1, 2], [3, 3]],
                                  [[1, 6, 6, 5], [1, 1]], [[0, 3, 3, 2], [6, 6]]]) {
      for (const mk of [F, I]) {
        const x = mk(shape);
        if (x.dtype === 'int32') x.data = x.data.map((v) => v >> 16);
        for (const [align, half] of [[false, false], [true, false], [false, true], [true, true]]) {
          for (const kernel of ['ResizeBilinear', 'ResizeNearestNeighbor']) {
            const native = size(shape) === 0 ? undefined : kernel === 'ResizeBilinear' ? (align && half ? '!resizeBilinear' : 'resizeBilinear') : 'resizeNearest';
            vsCpu(`${kernel} [${shape}] -> ${size2} align ${align} half ${half} ${x.dtype} at ${at}`, [x],
                  (t) => tf.engine().runKernel(kernel, {images: t}, {alignCorners: align, halfPixelCenters: half, size: size2}), {native});
          }
        }
      }
    }
    // A float32 tensor stored as an Int32Array (tfjs-cpu's Cast int32 -> float32 shares the buffer).
    const img = I([1, 4, 5, 3]);
    img.data = img.data.map((v) => v >> 20);
    vsCpu(`resizeBilinear of cast(int32 -> float32) at ${at}`, [img],
          (t) => tf.image.resizeBilinear(tf.cast(t, 'float32'), [7, 9]), {native: 'resizeBilinear'});
    vsCpu(`transpose of cast(int32 -> float32) at ${at}`, [img], (t) => tf.transpose(tf.cast(t, 'float32')), {native: 'stridedCopy'});
    // int32 tensors stored as a Float32Array (nearest resize of int32 images) or a Uint8Array (bool -> int32).
    vsCpu(`transpose of an int32 nearest resize at ${at}`, [img], (t) => tf.transpose(tf.image.resizeNearestNeighbor(t, [5, 6])),
          {native: 'stridedCopy'});
    const mask = {data: Uint8Array.from({length: 60}, (_, i) => i % 3 === 0), shape: [3, 4, 5], dtype: 'bool'};
    vsCpu(`pad of cast(bool -> int32) at ${at}`, [mask], (t) => tf.pad(tf.cast(t, 'int32'), [[1, 0], [0, 2], [1, 1]], 7), {native: 'pad'});
    vsCpu(`concat of cast(bool -> float32) at ${at}`, [mask, F([3, 4, 5])], (m, t) => tf.concat([tf.cast(m, 'float32'), t], 1),
          {native: 'concat'});
  });
});

test('Cast on afterburner matches tfjs-cpu and keeps sharing where tfjs-cpu does', () => {
  everywhere((at) => {
    const x = F([3, 37]);
    x.data.set([NaN, Infinity, -Infinity, -0, 0.5, -0.5, 3e9, -3e9, 2147483648, -2147483648, 1e20]);
    vsCpu(`cast f32 -> int32 at ${at}`, [x], (t) => tf.cast(t, 'int32'), {native: 'cast', ref: Int32Array.from(x.data)});
    vsCpu(`cast f32 -> bool at ${at}`, [x], (t) => tf.cast(t, 'bool'), {native: 'cast', ref: Uint8Array.from(x.data, (v) => +(v !== 0))});
    const y = I([50]);
    y.data.fill(0, 0, 10);
    vsCpu(`cast int32 -> bool at ${at}`, [y], (t) => tf.cast(t, 'bool'), {native: 'cast'});
    vsCpu(`cast int32 -> float32 shares at ${at}`, [y], (t) => tf.cast(t, 'float32'), {native: '!cast'});
    vsCpu(`cast f32 -> f32 shares at ${at}`, [x], (t) => tf.cast(t, 'float32'), {native: '!cast'});
    const b = {data: Uint8Array.from([1, 0, 1]), shape: [3], dtype: 'bool'};
    vsCpu(`cast bool -> int32 shares at ${at}`, [b], (t) => tf.cast(t, 'int32'), {native: '!cast'});
    vsCpu(`cast bool -> bool at ${at}`, [b], (t) => tf.cast(t, 'bool'), {native: '!cast'});
    vsCpu(`cast f32 -> complex64 at ${at}`, [x], (t) => tf.real(tf.cast(t, 'complex64')), {native: '!cast'});
    vsCpu(`cast of a 0-size tensor at ${at}`, [F([0, 4])], (t) => tf.cast(t, 'int32'));
  });
});

test('SplitV, Unpack, Pack, Reverse, DepthToSpace on afterburner match tfjs-cpu', () => {
  /** Ops with several outputs: compares every output. */
  const multi = (what, inputs, op, native) => {
    const n = tf.tidy(() => op(...inputs.map(({data, shape, dtype}) => tf.tensor(data, shape, dtype))).length);
    for (let k = 0; k < n; ++k) vsCpu(`${what} output ${k}`, inputs, (...ts) => op(...ts)[k], {native: k === 0 ? native : undefined});
  };
  everywhere((at) => {
    for (const mk of [F, I]) {
      const x = mk([2, 6, 5]);
      multi(`split axis 2 ${x.dtype} at ${at}`, [x], (t) => tf.split(t, [1, 3, 1], 2), 'stridedCopy');
      multi(`split axis 1 ${x.dtype} at ${at}`, [x], (t) => tf.split(t, 3, 1), 'stridedCopy');
      multi(`split axis 0 (views) ${x.dtype} at ${at}`, [x], (t) => tf.split(t, 2, 0), '!stridedCopy');
      multi(`split [1,6,5] axis 1 (views) ${x.dtype} at ${at}`, [mk([1, 6, 5])], (t) => tf.split(t, [2, -1], 1), '!stridedCopy');
      multi(`unstack axis 1 ${x.dtype} at ${at}`, [x], (t) => tf.unstack(t, 1), 'stridedCopy');
      multi(`unstack axis -1 ${x.dtype} at ${at}`, [x], (t) => tf.unstack(t, -1), 'stridedCopy');
      multi(`unstack axis 0 (views) ${x.dtype} at ${at}`, [x], (t) => tf.unstack(t, 0), '!stridedCopy');
      for (const axis of [0, 1, 2, 3, -1, -4]) {
        const xs = [mk([2, 3, 4]), mk([2, 3, 4]), mk([2, 3, 4])];
        vsCpu(`stack axis ${axis} ${x.dtype} at ${at}`, xs, (...ts) => tf.stack(ts, axis), {native: 'concat'});
      }
      vsCpu(`stack of one ${x.dtype} at ${at}`, [mk([2, 3])], (t) => tf.stack([t], 1), {native: '!concat'});
      for (const dims of [[0], [1, 2], [-1], [0, 1, 2], [2, 2], []]) {
        vsCpu(`reverse ${dims} ${x.dtype} at ${at}`, [x], (t) => tf.reverse(t, dims), {native: 'stridedCopy'});
      }
      vsCpu(`reverse 0-size ${x.dtype} at ${at}`, [mk([2, 0, 3])], (t) => tf.reverse(t, [1]));
    }
    for (const [shape, b] of [[[1, 3, 4, 8], 2], [[2, 2, 3, 27], 3], [[1, 5, 5, 4], 2]]) {
      vsCpu(`depthToSpace [${shape}] ${b} at ${at}`, [F(shape)], (t) => tf.depthToSpace(t, b), {native: 'stridedCopy'});
    }
    vsCpu(`depthToSpace int32 at ${at}`, [I([1, 3, 4, 8])], (t) => tf.depthToSpace(t, 2), {native: '!stridedCopy'});
  });
});

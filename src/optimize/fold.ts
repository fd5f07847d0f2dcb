// SPDX-License-Identifier: Apache-2.0
// The arithmetic of folding, in float64: a per-output-channel affine y = x * s + t applied after a
// conv/dense with weights W and bias b becomes W' = W * s (per output channel), b' = b * s + t.

/**
 * How output channels sit in a weight: 'last' (conv2d [fH, fW, inC, outC], conv1d, dense [in,
 * out]: the last axis), 'depthwise' ([fH, fW, inC, mult]: output channel c * mult + m, i.e. the
 * last two axes flattened, which is again the fastest-varying index), 'rows' (a matmul's
 * transposed b, [N, K]: the first axis).
 */
export type ChannelLayout = 'last'|'depthwise'|'rows';

/** Number of output channels of a weight of `shape` in `layout`. */
export function outChannels(shape: number[], layout: ChannelLayout): number {
  if (layout === 'rows') return shape[0];
  if (layout === 'depthwise') return shape[shape.length - 2] * shape[shape.length - 1];
  return shape[shape.length - 1];
}

/** W' = W * scale per output channel (rounded once to f32). */
export function scaleWeight(w: Float32Array, shape: number[], layout: ChannelLayout, scale: Float64Array): Float32Array {
  const n = outChannels(shape, layout);
  if (scale.length !== n) throw new Error(`afterburner: fold: ${scale.length} scales for ${n} channels`);
  const out = new Float32Array(w.length);
  if (layout === 'rows') {
    const k = w.length / n;
    for (let r = 0; r < n; r++) {
      const s = scale[r];
      for (let i = r * k; i < (r + 1) * k; i++) out[i] = w[i] * s;
    }
  } else {
    for (let i = 0; i < w.length; i++) out[i] = w[i] * scale[i % n];
  }
  return out;
}

/** b' = b * scale + shift (b = 0 when absent), in float64, rounded once. */
export function affineBias(bias: Float32Array|null, scale: Float64Array|null, shift: Float64Array|null, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    const b = bias ? bias[c] : 0;
    out[c] = b * (scale ? scale[c] : 1) + (shift ? shift[c] : 0);
  }
  return out;
}

/**
 * BatchNorm in inference form, y = (x - mean) / sqrt(var + eps) * gamma + beta, as x * s + t:
 * s = gamma / sqrt(var + eps), t = beta - mean * s. gamma/beta absent mean 1/0.
 */
export function batchNormAffine(
    mean: ArrayLike<number>, variance: ArrayLike<number>, gamma: ArrayLike<number>|null, beta: ArrayLike<number>|null,
    epsilon: number): {scale: Float64Array; shift: Float64Array} {
  const n = mean.length;
  const scale = new Float64Array(n);
  const shift = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    const s = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + epsilon);
    scale[c] = s;
    shift[c] = (beta ? beta[c] : 0) - mean[c] * s;
  }
  return {scale, shift};
}

/** Every value finite (a fold of Inf/NaN scales would not reproduce the unfolded result). */
export function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) return false;
  }
  return true;
}

/**
 * A constant broadcast per channel onto an output whose last axis has n channels: shape [] / [1]
 * / [..., 1, n] of rank <= maxRank. Returns its n values in float64, or null if it is not one.
 */
export function perChannel(data: Float32Array, shape: number[], n: number, maxRank: number): Float64Array|null {
  if (shape.length > maxRank) return null;
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) return null;
  if (size === 1) return new Float64Array(n).fill(data[0]);
  if (shape[shape.length - 1] !== n || size !== n) return null;
  return Float64Array.from(data);
}

// SPDX-License-Identifier: Apache-2.0
// Op cases for Conv2DBackpropInput (tf.conv2dTranspose) and for the NCHW convolutions, appended to
// the table in op-cases.mjs (which passes its data generator and helpers in).
import {refBinary, size} from './reference.mjs';

/** tfjs's conv geometry for an input of H x W: output size and the top/left pads (float64-free integers). */
function convGeometry(H, W, FH, FW, [sh, sw], pad, roundingMode) {
  const round = (v) => (roundingMode === 'ceil' ? Math.ceil(v) : roundingMode === 'floor' ? Math.floor(v) :
                        roundingMode === 'round' ? Math.round(v) : Math.trunc(v));
  if (pad === 'valid') return {OH: Math.ceil((H - FH + 1) / sh), OW: Math.ceil((W - FW + 1) / sw), pt: 0, pl: 0};
  if (pad === 'same') {
    const OH = Math.ceil(H / sh), OW = Math.ceil(W / sw);
    return {OH, OW, pt: Math.floor(Math.max(0, (OH - 1) * sh + FH - H) / 2), pl: Math.floor(Math.max(0, (OW - 1) * sw + FW - W) / 2)};
  }
  if (typeof pad === 'number') {
    return {OH: round((H - FH + 2 * pad) / sh + 1), OW: round((W - FW + 2 * pad) / sw + 1), pt: pad, pl: pad};
  }
  return {OH: Math.floor((H + pad[1][0] + pad[1][1] - FH) / sh) + 1, OW: Math.floor((W + pad[2][0] + pad[2][1] - FW) / sw) + 1,
          pt: pad[1][0], pl: pad[2][0]};
}

/** dx of a conv2d with input shape xs = [B, H, W, Ci], filter [FH, FW, Ci, Co], from dy, in float64. */
function refConvTranspose(dy, w, xs, ws, strides, g) {
  const [B, H, W, Ci] = xs, [FH, FW, , Co] = ws, [sh, sw] = strides;
  const out = new Float64Array(B * H * W * Ci), abs = new Float64Array(out.length);
  for (let b = 0; b < B; ++b) for (let oh = 0; oh < g.OH; ++oh) for (let ow = 0; ow < g.OW; ++ow) {
    for (let kh = 0; kh < FH; ++kh) for (let kw = 0; kw < FW; ++kw) {
      const ih = oh * sh - g.pt + kh, iw = ow * sw - g.pl + kw;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      for (let ci = 0; ci < Ci; ++ci) {
        let s = 0, t = 0;
        for (let co = 0; co < Co; ++co) {
          const p = dy[((b * g.OH + oh) * g.OW + ow) * Co + co] * w[((kh * FW + kw) * Ci + ci) * Co + co];
          s += p;
          t += Math.abs(p);
        }
        out[((b * H + ih) * W + iw) * Ci + ci] += s;
        abs[((b * H + ih) * W + iw) * Ci + ci] += t;
      }
    }
  }
  return {out, abs};
}

/** NHWC data of shape [B, H, W, C] as NCHW (and back with toNCHW = false). */
function permute(a, [B, H, W, C], toNCHW) {
  const out = new a.constructor(a.length);
  for (let b = 0; b < B; ++b) for (let h = 0; h < H; ++h) for (let w = 0; w < W; ++w) for (let c = 0; c < C; ++c) {
    const nhwc = ((b * H + h) * W + w) * C + c, nchw = ((b * C + c) * H + h) * W + w;
    if (toNCHW) out[nchw] = a[nhwc];
    else out[nhwc] = a[nchw];
  }
  return out;
}
const nchwShape = ([B, H, W, C]) => [B, C, H, W];

/**
 * Runs an NCHW case with AFTERBURNER_NCHW=native: while the backend's Transpose is tfjs-cpu's, small
 * NCHW convolutions would otherwise take the cpu kernel (nchwNativePays), leaving the native path
 * untested.
 */
const nativeNCHW = (run) => (tf, ...ts) => {
  const prev = process.env.AFTERBURNER_NCHW;
  process.env.AFTERBURNER_NCHW = 'native';
  try {
    return run(tf, ...ts);
  } finally {
    if (prev === undefined) delete process.env.AFTERBURNER_NCHW;
    else process.env.AFTERBURNER_NCHW = prev;
  }
};

export function addTconvCases(opCases, {data, refConv2d, ACT}) {
  // ---- Conv2DBackpropInput (tf.conv2dTranspose), NHWC and NCHW ------------------------------
  function tconvCase(xs, ws, strides, pad, {nchw = false, rounding} = {}) {
    const st = typeof strides === 'number' ? [strides, strides] : strides;
    const padN = nchw && Array.isArray(pad) ? [pad[0], pad[3], pad[1], pad[2]] : pad;  // the data format's order
    const g = convGeometry(xs[1], xs[2], ws[0], ws[1], st, pad, rounding);
    const dys = [xs[0], g.OH, g.OW, ws[3]];
    opCases.push({
      kernel: 'Conv2DBackpropInput',
      name: `dx[${xs}] f[${ws}] s${st} ${JSON.stringify(padN)}${rounding ? ` ${rounding}` : ''}${nchw ? ' NCHW' : ''}`,
      run: nchw ?
          nativeNCHW((tf, dy, w) => tf.engine().runKernel('Conv2DBackpropInput', {dy, filter: w},
                                                          {inputShape: nchwShape(xs), strides, pad: padN, dataFormat: 'NCHW', dimRoundingMode: rounding})) :
          (tf, dy, w) => tf.conv2dTranspose(dy, w, xs, strides, pad, rounding),
      build: () => {
        const dy = data(dys, -1, 1, []), w = data(ws, -1, 1, []);
        const r = refConvTranspose(dy, w, xs, ws, st, g);
        const k = Math.max(ws[0] * ws[1] * ws[3], 1);
        if (!nchw) {
          return {inputs: [{data: dy, shape: dys}, {data: w, shape: ws}], expected: {data: r.out, shape: xs, abs: r.abs},
                  check: {kind: 'dot', k, epilogueUlps: 0}};
        }
        return {inputs: [{data: permute(dy, dys, true), shape: nchwShape(dys)}, {data: w, shape: ws}],
                expected: {data: permute(r.out, xs, true), shape: nchwShape(xs), abs: permute(r.abs, xs, true)},
                check: {kind: 'dot', k, epilogueUlps: 0}};
      },
    });
  }
  // The GEMM + col2im path (out_c * stride^2 >= in_c) ...
  tconvCase([1, 8, 8, 5], [4, 4, 5, 7], 2, 'same');
  tconvCase([2, 9, 11, 3], [3, 3, 3, 6], 2, 'same');
  tconvCase([2, 9, 11, 3], [3, 3, 3, 6], 2, 'valid');
  tconvCase([1, 13, 10, 4], [5, 3, 4, 5], 3, 'same');
  tconvCase([1, 10, 12, 2], [2, 3, 2, 5], [1, 2], 'valid');
  tconvCase([3, 7, 7, 4], [3, 3, 4, 4], 1, 'same');
  tconvCase([1, 6, 7, 3], [2, 3, 3, 4], 1, [[0, 0], [1, 2], [0, 3], [0, 0]]);
  tconvCase([1, 9, 9, 3], [3, 3, 3, 8], 3, [[0, 0], [2, 0], [1, 1], [0, 0]]);
  tconvCase([1, 11, 11, 3], [4, 4, 3, 5], 2, 1, {rounding: 'ceil'});
  tconvCase([1, 11, 11, 3], [4, 4, 3, 5], 2, 1, {rounding: 'floor'});
  tconvCase([1, 28, 28, 16], [4, 4, 16, 32], 2, 'same');
  tconvCase([2, 80, 40, 128], [4, 4, 128, 32], 2, 'same');  // columns in several chunks, one boundary inside an image
  // ... and the stride-phase path (in_c > out_c * stride^2).
  tconvCase([2, 9, 11, 20], [3, 3, 20, 4], 1, 'same');
  tconvCase([1, 13, 10, 40], [4, 4, 40, 3], 2, 'same');
  tconvCase([1, 13, 10, 40], [5, 5, 40, 4], 3, 'valid');
  tconvCase([1, 8, 9, 33], [3, 2, 33, 2], [2, 3], [[0, 0], [1, 2], [2, 0], [0, 0]]);
  tconvCase([2, 10, 10, 19], [3, 3, 19, 1], 2, 'same');
  tconvCase([1, 128, 128, 256], [3, 3, 256, 2], 1, 'same');  // phase rows in several chunks (stride 1: written in place)
  tconvCase([4, 101, 100, 256], [3, 3, 256, 2], 2, 'same');  // ... and at stride 2, a chunk boundary inside an image
  // 1x1 stride 1 (one GEMM), empty and degenerate shapes.
  tconvCase([2, 5, 6, 7], [1, 1, 7, 9], 1, 'valid');
  tconvCase([0, 5, 5, 2], [3, 3, 2, 2], 1, 'same');
  tconvCase([1, 4, 4, 3], [3, 3, 3, 0], 2, 'same');
  tconvCase([1, 1, 1, 1], [1, 1, 1, 1], 1, 'same');
  // NCHW.
  tconvCase([2, 9, 11, 3], [3, 3, 3, 6], 2, 'same', {nchw: true});
  tconvCase([1, 13, 10, 40], [4, 4, 40, 3], 2, 'same', {nchw: true});
  tconvCase([1, 6, 7, 3], [2, 3, 3, 4], [1, 2], [[0, 0], [1, 2], [0, 3], [0, 0]], {nchw: true});

  // ---- Conv2DBackpropFilter (conv2d's filter gradient), NHWC and NCHW ---------------------------
  function filterGradCase(xs, ws, strides, pad, {nchw = false, rounding} = {}) {
    const st = typeof strides === 'number' ? [strides, strides] : strides;
    const g = convGeometry(xs[1], xs[2], ws[0], ws[1], st, pad, rounding);
    const dys = [xs[0], g.OH, g.OW, ws[3]];
    const padN = nchw && Array.isArray(pad) ? [pad[0], pad[3], pad[1], pad[2]] : pad;
    opCases.push({
      kernel: 'Conv2DBackpropFilter',
      name: `x[${xs}] f[${ws}] s${st} ${JSON.stringify(padN)}${rounding ? ` ${rounding}` : ''}${nchw ? ' NCHW' : ''}`,
      run: (tf, x, dy) => tf.engine().runKernel('Conv2DBackpropFilter', {x, dy}, {
        filterShape: ws, strides, pad: padN, dataFormat: nchw ? 'NCHW' : 'NHWC', dimRoundingMode: rounding}),
      build: () => {
        const x = data(xs, -1, 1, []), dy = data(dys, -1, 1, []);
        const [B, H, W, Ci] = xs, [FH, FW, , Co] = ws;
        const out = new Float64Array(size(ws)), abs = new Float64Array(out.length);
        for (let b = 0; b < B; ++b) for (let oh = 0; oh < g.OH; ++oh) for (let ow = 0; ow < g.OW; ++ow) {
          for (let kh = 0; kh < FH; ++kh) for (let kw = 0; kw < FW; ++kw) {
            const ih = oh * st[0] - g.pt + kh, iw = ow * st[1] - g.pl + kw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            for (let ci = 0; ci < Ci; ++ci) for (let co = 0; co < Co; ++co) {
              const p = x[((b * H + ih) * W + iw) * Ci + ci] * dy[((b * g.OH + oh) * g.OW + ow) * Co + co];
              out[((kh * FW + kw) * Ci + ci) * Co + co] += p;
              abs[((kh * FW + kw) * Ci + ci) * Co + co] += Math.abs(p);
            }
          }
        }
        const inputs = nchw ? [{data: permute(x, xs, true), shape: nchwShape(xs)}, {data: permute(dy, dys, true), shape: nchwShape(dys)}] :
                              [{data: x, shape: xs}, {data: dy, shape: dys}];
        return {inputs, expected: {data: out, shape: ws, abs}, check: {kind: 'dot', k: Math.max(B * g.OH * g.OW, 1), epilogueUlps: 0}};
      },
    });
  }
  filterGradCase([2, 9, 11, 3], [3, 3, 3, 6], 2, 'same');
  filterGradCase([1, 13, 10, 4], [5, 3, 4, 5], 3, 'valid');
  filterGradCase([1, 10, 12, 2], [2, 3, 2, 5], [1, 2], [[0, 0], [1, 2], [0, 3], [0, 0]]);
  filterGradCase([1, 11, 11, 3], [4, 4, 3, 5], 2, 1, {rounding: 'ceil'});
  filterGradCase([2, 5, 6, 7], [1, 1, 7, 9], 1, 'valid');
  filterGradCase([1, 64, 64, 64], [3, 3, 64, 4], 1, 'same');  // more than one chunk of positions
  filterGradCase([0, 5, 5, 2], [3, 3, 2, 2], 1, 'same');
  filterGradCase([2, 9, 11, 3], [3, 3, 3, 6], 2, 'same', {nchw: true});
  filterGradCase([1, 10, 12, 2], [2, 3, 2, 5], [1, 2], [[0, 0], [1, 2], [0, 3], [0, 0]], {nchw: true});

  // ---- Conv2D / FusedConv2D in NCHW: the NHWC reference, transposed ---------------------------
  function nchwConvCase(xs, ws, stride, pad, dil, fused, auto = false) {
    const kernel = fused ? 'FusedConv2D' : 'Conv2D';
    // explicit pads are given in the data format's order
    const padN = Array.isArray(pad) ? [pad[0], pad[3], pad[1], pad[2]] : pad;
    opCases.push({
      kernel,
      name: `NCHW x[${nchwShape(xs)}] f[${ws}] s${stride} ${JSON.stringify(padN)} d${dil}` +
          `${fused ? ` bias[${fused.bias ?? '-'}] ${fused.act}${fused.slope ? ` slope[${fused.slope}]` : ''}` : ''}` +
          `${auto ? ' (auto: native or cpu by the estimate)' : ''}`,
      // The kernel itself: tf.fused.conv2d checks 3-D PReLU weights against the NHWC reading of x's shape.
      run: (auto ? (f) => f : nativeNCHW)(fused ?
          (tf, x, w, ...rest) => {
            const [bias, slope] = fused.bias ? rest : [undefined, rest[0]];
            return tf.engine().runKernel('FusedConv2D', {x, filter: w, bias, preluActivationWeights: slope},
                                         {strides: stride, pad: padN, dataFormat: 'NCHW', dilations: dil, activation: fused.act,
                                          leakyreluAlpha: 0.1});
          } :
          (tf, x, w) => tf.conv2d(x, w, stride, padN, 'NCHW', dil)),
      build: () => {
        const x = data(xs, -1, 1, []), w = data(ws, -1, 1, []);
        const r = refConv2d(x, xs, w, ws, stride, pad, dil);
        const shape = nchwShape(r.shape);
        let out = permute(r.out, r.shape, true), abs = permute(r.abs, r.shape, true);
        const inputs = [{data: permute(x, xs, true), shape: nchwShape(xs)}, {data: w, shape: ws}];
        const C = r.shape[3];
        // tfjs-cpu: a 1-D bias / PReLU weights of C values is per channel ([C, 1, 1]); others broadcast as is.
        const asNCHW = (s) => (s.length === 1 && s[0] !== 1 ? [s[0], 1, 1] : s);
        if (fused?.bias) {
          const bias = data(fused.bias, -1, 1, []);
          inputs.push({data: bias, shape: fused.bias});
          abs = refBinary((p, q) => p + Math.abs(q), abs, shape, bias, asNCHW(fused.bias)).out;
          out = refBinary((p, q) => p + q, out, shape, bias, asNCHW(fused.bias)).out;
        }
        if (fused?.act === 'prelu') {
          const slope = data(fused.slope, 0, 0.5, []);
          inputs.push({data: slope, shape: fused.slope});
          out = refBinary((p, q) => (p < 0 ? q * p : p), out, shape, slope, asNCHW(fused.slope)).out;
        } else if (fused) {
          out = out.map(ACT[fused.act]);
        }
        void C;
        return {inputs, expected: {data: out, shape, abs},
                check: {kind: 'dot', k: Math.max(r.K + (fused?.bias ? 1 : 0), 1), epilogueUlps: fused ? 8 : 0}};
      },
    });
  }
  nchwConvCase([2, 9, 11, 5], [3, 3, 5, 7], 1, 'same', 1, null);
  nchwConvCase([1, 9, 11, 5], [3, 3, 5, 7], 2, 'valid', 1, null);
  nchwConvCase([1, 13, 10, 3], [3, 3, 3, 17], 1, 'same', 2, null);
  nchwConvCase([2, 8, 8, 16], [1, 1, 16, 33], 1, 'valid', 1, null);
  nchwConvCase([1, 6, 7, 3], [2, 3, 3, 4], 1, [[0, 0], [1, 2], [0, 3], [0, 0]], 1, null);
  for (const act of ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid']) {
    nchwConvCase([2, 7, 9, 6], [3, 3, 6, 10], 1, 'same', 1, {bias: [10], act});
  }
  nchwConvCase([1, 7, 9, 6], [3, 3, 6, 10], 2, 'same', 1, {bias: [1], act: 'relu'});
  nchwConvCase([1, 7, 9, 6], [3, 3, 6, 10], 1, 'same', 1, {bias: [], act: 'relu6'});
  nchwConvCase([1, 7, 9, 6], [3, 3, 6, 10], 1, 'valid', 1, {bias: [10], act: 'prelu', slope: [10]});
  nchwConvCase([1, 7, 9, 6], [3, 3, 6, 10], 1, 'valid', 1, {bias: [10], act: 'prelu', slope: [10, 1, 1]});
  nchwConvCase([1, 7, 9, 6], [3, 3, 6, 10], 1, 'same', 1, {bias: [10], act: 'prelu', slope: [10, 7, 9]});
  nchwConvCase([2, 7, 9, 6], [3, 3, 6, 10], 1, 'same', 1, {bias: [10], act: 'prelu', slope: [1, 7, 1]});
  nchwConvCase([1, 7, 9, 6], [3, 3, 6, 10], 1, 'same', 1, {act: 'prelu', slope: [1]});
  nchwConvCase([1, 9, 11, 5], [1, 1, 5, 7], 1, 'same', 1, null, true);
  nchwConvCase([1, 20, 20, 64], [3, 3, 64, 65], 1, 'same', 1, {bias: [65], act: 'relu'}, true);

  // ---- depthwise with dataFormat NCHW: tfjs-cpu ignores dataFormat (NHWC), and so do we ------------
  opCases.push({
    kernel: 'DepthwiseConv2dNative', name: 'x[1,4,5,4] f[3,3,4,2] dataFormat NCHW (read as NHWC, as tfjs-cpu)',
    run: (tf, x, w) => tf.depthwiseConv2d(x, w, 1, 'same', 'NCHW'),
    build: () => {
      const xs = [1, 4, 5, 4], ws = [3, 3, 4, 2];
      const x = data(xs, -1, 1, []), w = data(ws, -1, 1, []);
      const outs = [];
      for (let c = 0; c < 4; ++c) {
        const xc = new Float32Array(20), wc = new Float32Array(18);
        for (let i = 0; i < 20; ++i) xc[i] = x[i * 4 + c];
        for (let k = 0; k < 9; ++k) for (let q = 0; q < 2; ++q) wc[k * 2 + q] = w[(k * 4 + c) * 2 + q];
        outs.push(refConv2d(xc, [1, 4, 5, 1], wc, [3, 3, 1, 2], 1, 'same', 1));
      }
      const out = new Float64Array(160), abs = new Float64Array(160);
      for (let i = 0; i < 20; ++i) for (let c = 0; c < 4; ++c) for (let q = 0; q < 2; ++q) {
        out[i * 8 + c * 2 + q] = outs[c].out[i * 2 + q];
        abs[i * 8 + c * 2 + q] = outs[c].abs[i * 2 + q];
      }
      return {inputs: [{data: x, shape: xs}, {data: w, shape: ws}], expected: {data: out, shape: [1, 4, 5, 8], abs},
              check: {kind: 'dot', k: 9, epilogueUlps: 0}};
    },
  });
}

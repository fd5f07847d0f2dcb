// SPDX-License-Identifier: Apache-2.0
// The benchmark rows. Each case says what it computes on tfjs (`tfjs(tf, T, i)` -> output tensor
// of call i), the same computation as an ONNX graph for onnxruntime-node, its inputs (the same
// float32 data for every engine), and the work one call does (FLOPs, or bytes read + written).
// `peak` names the machine peak a row is compared with (engines.mjs PEAKS): rows whose working
// set fits the 32 MiB L3 are compared with L3 bandwidth, larger ones with DRAM bandwidth.

const MiB = 2 ** 20;

function gemm(n) {
  return {
    id: `gemm-${n}`, label: `GEMM ${n}³`, unit: 'GFLOP/s', work: 2 * n ** 3, readback: true, tol: 1e-4,
    inputs: {a: [n, n], b: [n, n]},
    tfjs: (tf, T) => tf.matMul(T.a, T.b),
    onnx: {nodes: [['MatMul', ['a', 'b'], ['y']]], outputs: [['y', [n, n]]]},
    // tfjs-cpu runs at ~0.5 GFLOP/s: 1024³ takes ~4 s a call, 2048³ ~35 s.
    limits: n >= 2048 ? {cpu: {skip: 'tfjs-cpu: ~35 s a call (use --full)'}} :
        n >= 1024 ? {cpu: {minReps: 1, maxReps: 2, quickSkip: 'tfjs-cpu: ~4 s a call (skipped with --quick)'}} : {},
  };
}

/** GEMV y = x W with cold weights: cycles over `sets` distinct 64 MiB weight matrices (6x the L3). */
function gemvCold(n = 4096, sets = 3) {
  const inputs = {x: [1, n]};
  for (let s = 0; s < sets; ++s) inputs[`w${s}`] = [n, n];
  return {
    id: `gemv-${n}`, label: `GEMV 1x${n}x${n} cold W`, unit: 'GB/s', work: 4 * (n * n + 2 * n), readback: true,
    tol: 1e-4, inputs, timing: {warmup: sets, minReps: 2 * sets},
    note: `weights cycle over ${sets} distinct ${4 * n * n / MiB} MiB matrices (${sets * 4 * n * n / MiB} MiB > 32 MiB L3); ` +
        `each is used once in warm-up (tfjs-wasm packs a weight on first use); onnxruntime: one session per weight, ` +
        `the weight a constant initializer (prepacked), as in a model`,
    tfjs: (tf, T, i) => tf.matMul(T.x, T[`w${i % sets}`]),
    onnx: {nodes: [['MatMul', ['x', 'w'], ['y']]], inputs: [['x', [1, n]]], outputs: [['y', [1, n]]]},
    ortModels: (inp) => Array.from({length: sets}, (_, s) => ({floatInits: [['w', [n, n], inp[`w${s}`].data]]})),
    ortFeeds: (T) => ({x: T.x}),
    limits: {cpu: {minReps: sets, maxReps: 2 * sets}},
  };
}

function batched(b = 64, n = 64) {
  return {
    id: `bmm-${b}x${n}`, label: `batched ${b}x(${n}x${n})`, unit: 'GFLOP/s', work: 2 * b * n ** 3, readback: true,
    tol: 1e-4, inputs: {a: [b, n, n], b: [b, n, n]},
    tfjs: (tf, T) => tf.matMul(T.a, T.b),
    onnx: {nodes: [['MatMul', ['a', 'b'], ['y']]], outputs: [['y', [b, n, n]]]},
  };
}

function fused(M = 512, K = 1024, N = 1024) {
  return {
    id: `fused-${M}x${K}x${N}`, label: `_FusedMatMul ${M}x${K}x${N} +bias+relu`, unit: 'GFLOP/s', work: 2 * M * N * K,
    readback: true, tol: 1e-4, inputs: {a: [M, K], b: [K, N], bias: [N]},
    tfjs: (tf, T) => tf.fused.matMul({a: T.a, b: T.b, bias: T.bias, activation: 'relu'}),
    onnx: {nodes: [['Gemm', ['a', 'b', 'bias'], ['g']], ['Relu', ['g'], ['y']]], outputs: [['y', [M, N]]]},
    limits: {cpu: {minReps: 1, maxReps: 2}},
  };
}

/** NHWC convolution, 'same' padding, stride 1 (issue 3's micro-benchmarks). */
function conv(h, w, cin, cout, k) {
  return {
    id: `conv${k}x${k}-${cin}-${cout}-${h}`, label: `Conv2D ${k}x${k} ${cin}->${cout} ${h}x${w}`, unit: 'GFLOP/s',
    work: 2 * h * w * k * k * cin * cout, readback: true, tol: 1e-4, inputs: {x: [1, h, w, cin], f: [k, k, cin, cout]},
    tfjs: (tf, T) => tf.conv2d(T.x, T.f, 1, 'same'),
    limits: {cpu: {minReps: 1, maxReps: 3}, ort: {skip: 'onnxruntime: ONNX Conv is NCHW; not compared yet'}},
  };
}

/** NHWC depthwise convolution, 3x3, 'same', stride 1: GB/s of the minimal traffic (x read, y written). */
function depthwise(h, c) {
  return {
    id: `dwconv3x3-${c}-${h}`, label: `DepthwiseConv 3x3 ${c}ch ${h}x${h}`, unit: 'GB/s', work: 8 * h * h * c + 36 * c,
    readback: true, tol: 1e-4, inputs: {x: [1, h, h, c], f: [3, 3, c, 1]}, peak: 'l3',
    note: 'depthwise 3x3: 18 flops per output element against 8 bytes of minimal traffic: memory-bound',
    tfjs: (tf, T) => tf.depthwiseConv2d(T.x, T.f, 1, 'same'),
    limits: {cpu: {minReps: 1, maxReps: 5}, ort: {skip: 'onnxruntime: ONNX Conv is NCHW; not compared yet'}},
  };
}

/** NHWC max pooling 3x3 stride 2 'same' (GB/s of x read + y written). */
function maxPool(h, c) {
  const oh = Math.ceil(h / 2);
  return {
    id: `maxpool3x3s2-${c}-${h}`, label: `MaxPool 3x3/2 ${c}ch ${h}x${h}`, unit: 'GB/s', work: 4 * (h * h * c + oh * oh * c),
    readback: true, tol: 1e-6, inputs: {x: [1, h, h, c]}, peak: 'l3',
    tfjs: (tf, T) => tf.maxPool(T.x, 3, 2, 'same'),
    limits: {cpu: {minReps: 1, maxReps: 10}, ort: {skip: 'onnxruntime: ONNX MaxPool is NCHW; not compared yet'}},
  };
}

/** tf.conv2dTranspose (Conv2DBackpropInput), NHWC, 'same': dy [1, h, h, cin] -> [1, h*s, h*s, cout], k x k stride s. */
function conv2dTranspose(h, cin, cout, k, s) {
  const oh = h * s;
  return {
    id: `convt${k}x${k}s${s}-${cin}-${cout}-${h}`, label: `conv2dTranspose ${k}x${k}/${s} ${cin}->${cout} ${h}->${oh}`,
    unit: 'GFLOP/s', work: 2 * h * h * k * k * cin * cout, readback: true, tol: 1e-4,
    inputs: {x: [1, h, h, cin], f: [k, k, cout, cin]},
    tfjs: (tf, T) => tf.conv2dTranspose(T.x, T.f, [1, oh, oh, cout], s, 'same'),
    limits: {cpu: {minReps: 1, maxReps: 3}, ort: {skip: 'onnxruntime: ONNX ConvTranspose is NCHW; not compared yet'}},
  };
}

/** Elementwise and row ops: GB/s counting the minimal traffic (each input read once, output written once). */
function binary(op, onnxOp, n, tag = '') {
  return {
    id: `${op}-${n >= MiB ? n / MiB + 'm' : n}`, label: `${op[0].toUpperCase() + op.slice(1)} ${n >= MiB ? n / MiB + 'M' : n} f32${tag}`,
    unit: 'GB/s', work: 12 * n, tol: 1e-6, inputs: {a: [n], b: [n]}, peak: 12 * n <= 24 * MiB ? 'l3' : 'dram',
    tfjs: (tf, T) => tf[op](T.a, T.b),
    onnx: {nodes: [[onnxOp, ['a', 'b'], ['y']]], outputs: [['y', [n]]]},
    limits: {cpu: {maxReps: 30}},
  };
}

function unary(op, onnxOp, n) {
  return {
    id: `${op}-${n / MiB}m`, label: `${op[0].toUpperCase() + op.slice(1)} ${n / MiB}M f32`, unit: 'GB/s', work: 8 * n,
    tol: 1e-5, inputs: {x: [n]}, peak: 'l3',
    tfjs: (tf, T) => tf[op](T.x),
    onnx: {nodes: [[onnxOp, ['x'], ['y']]], outputs: [['y', [n]]]},
    limits: {cpu: {maxReps: 30}},
  };
}

/** Data movement (GB/s of the bytes read + written once; all fit the L3). */
function movement() {
  const n112 = 112 * 112 * 64, n56 = 56 * 56 * 64, rIn = 128 * 128 * 32, rOut = 256 * 256 * 32;
  const padIn = 112 * 112 * 32, padOut = 114 * 114 * 32, M = MiB;
  const row = (id, label, work, inputs, tfjs, extra = {}) => ({
    id, label, unit: 'GB/s', work, readback: true, tol: 1e-6, inputs, peak: 'l3', tfjs,
    limits: {cpu: {minReps: 1, maxReps: 10}, ort: {skip: 'onnxruntime: not compared for data movement yet'}}, ...extra,
  });
  return [
    row('transpose-nhwc-nchw-112', 'Transpose NHWC->NCHW 1x112x112x64', 8 * n112, {x: [1, 112, 112, 64]},
        (tf, T) => tf.transpose(T.x, [0, 3, 1, 2])),
    row('transpose-nchw-nhwc-112', 'Transpose NCHW->NHWC 1x64x112x112', 8 * n112, {x: [1, 64, 112, 112]},
        (tf, T) => tf.transpose(T.x, [0, 2, 3, 1])),
    row('concat4-56-ch', 'Concat 4x 1x56x56x64 on channels', 8 * 4 * n56,
        {a: [1, 56, 56, 64], b: [1, 56, 56, 64], c: [1, 56, 56, 64], d: [1, 56, 56, 64]},
        (tf, T) => tf.concat([T.a, T.b, T.c, T.d], 3)),
    row('resize-bilinear-128-256', 'ResizeBilinear 1x128x128x32 -> 256x256', 4 * (rIn + rOut), {x: [1, 128, 128, 32]},
        (tf, T) => tf.image.resizeBilinear(T.x, [256, 256])),
    row('resize-bilinear-hp-224-3', 'ResizeBilinear 1x480x640x3 -> 224x224 halfPixel', 4 * (480 * 640 * 3 + 224 * 224 * 3),
        {x: [1, 480, 640, 3]}, (tf, T) => tf.image.resizeBilinear(T.x, [224, 224], false, true)),
    row('resize-nearest-128-256', 'ResizeNearest 1x128x128x32 -> 256x256', 4 * (rIn + rOut), {x: [1, 128, 128, 32]},
        (tf, T) => tf.image.resizeNearestNeighbor(T.x, [256, 256])),
    row('pad-112-32', 'PadV2 1x112x112x32 by 1 (H, W)', 4 * (padIn + padOut), {x: [1, 112, 112, 32]},
        (tf, T) => tf.pad(T.x, [[0, 0], [1, 1], [1, 1], [0, 0]])),
    row('slice-112-ch', 'Slice 1x112x112x64 -> channels 16..47', 4 * (n112 / 2) * 2, {x: [1, 112, 112, 64]},
        (tf, T) => tf.slice(T.x, [0, 0, 0, 16], [1, 112, 112, 32])),
    row('cast-f32-i32-1m', 'Cast float32 -> int32 1M', 8 * M, {x: [M]}, (tf, T) => tf.cast(T.x, 'int32'),
        {note: 'outputs compared as raw bits'}),
  ];
}

export function allCases() {
  const M = MiB;
  return [
    gemm(64), gemm(256), gemm(1024), gemm(2048),
    gemvCold(),
    batched(),
    fused(),
    conv(56, 56, 64, 64, 3), conv(56, 56, 64, 256, 1), depthwise(112, 32), maxPool(112, 64),
    conv2dTranspose(28, 64, 32, 4, 2), conv2dTranspose(28, 64, 32, 3, 2), conv2dTranspose(28, 32, 64, 3, 1),
    binary('add', 'Add', M), binary('mul', 'Mul', M), binary('add', 'Add', 16 * M, ' (DRAM)'),
    unary('exp', 'Exp', M), unary('sigmoid', 'Sigmoid', M),
    {
      id: 'softmax-1024', label: 'Softmax 1024x1024', unit: 'GB/s', work: 8 * M, tol: 1e-5, inputs: {x: [1024, 1024]}, peak: 'l3',
      tfjs: (tf, T) => tf.softmax(T.x),
      onnx: {nodes: [['Softmax', ['x'], ['y'], {axis: -1}]], outputs: [['y', [1024, 1024]]]},
      limits: {cpu: {maxReps: 30}},
    },
    {
      id: 'sum-1024', label: 'Sum rows 1024x1024', unit: 'GB/s', work: 4 * M + 4 * 1024, tol: 1e-4, inputs: {x: [1024, 1024]}, peak: 'l3',
      tfjs: (tf, T) => tf.sum(T.x, -1),
      onnx: {nodes: [['ReduceSum', ['x', 'axes'], ['y'], {keepdims: 0}]], outputs: [['y', [1024]]], int64Inits: [['axes', [-1]]]},
      limits: {cpu: {maxReps: 30}},
    },
    {
      id: 'tiny-add-8', label: 'tiny call: Add 8+8 (+dispose)', unit: 'µs', work: null, tol: 1e-6, inputs: {a: [8], b: [8]},
      note: 'time per call including dispose, median of batches of calls; no readback',
      tfjs: (tf, T) => tf.add(T.a, T.b),
      onnx: {nodes: [['Add', ['a', 'b'], ['y']]], outputs: [['y', [8]]]},
      timing: {minSample: 2e-3, minReps: 50, minTime: 0.3},
    },
    ...movement(),
  ];
}

/** A case by id: one of allCases(), or any `gemm-N` (square GEMM of size N, for bench/gemm.mjs). */
export function findCase(id) {
  const c = allCases().find((x) => x.id === id);
  if (c) return c;
  const m = /^gemm-(\d+)$/.exec(id);
  return m ? gemm(Number(m[1])) : null;
}

/** The ONNX graph description with default inputs (every case input, in order). */
export function onnxSpec(c) {
  return {inputs: c.onnx.inputs ?? Object.entries(c.inputs).map(([k, s]) => [k, s]), int64Inits: [], ...c.onnx};
}

// SPDX-License-Identifier: Apache-2.0
// ab.optimize(): options, the report, and option validation (IPEX's ipex.optimize counterpart).

/** Options of `ab.optimize(model, options)`. `level` sets the defaults; explicit flags override them. */
export interface OptimizeOptions {
  /** 'O1' (default): every rewrite below on. 'O0': none (the returned model computes exactly as the original). */
  level?: 'O0'|'O1';
  /**
   * 'float32' (default) or 'bfloat16' (bf16 weights for conv/dense/matmul, when this build has them),
   * or 'int8' / 'int4' (weight-only quantized dense/matmul weights, groups of 128 / 64 rows along K;
   * conv filters stay float32).
   */
  dtype?: 'float32'|'bfloat16'|'int8'|'int4';
  /** Fold inference-form BatchNormalization (and per-channel constant scales) into the preceding conv/dense. */
  foldBatchNorm?: boolean;
  /** Fuse a following bias add and activation (and, in a GraphModel, a preceding zero Pad) into the conv/dense/matmul. */
  fuseActivations?: boolean;
  /** Prepack conv filters and dense kernels into the native kernels' blocked layout. */
  weightsPrepack?: boolean;
  /** Remove layers/ops that are identities at inference (Dropout, GaussianNoise, Identity, ...). */
  removeDropout?: boolean;
  /**
   * Rewrite the model object itself instead of returning an optimized copy. A LayersModel's
   * contents are replaced by the optimized model's (the object stays the same); a GraphModel's
   * graph and weight map are rewritten.
   */
  inplace?: boolean;
}

export type ResolvedOptions = Required<OptimizeOptions>;

/** Something optimize() did not rewrite, and why. */
export interface LeftAlone {
  /** The layer or node name. */
  name: string;
  /** Its class name (LayersModel) or op (GraphModel). */
  op: string;
  reason: string;
}

/**
 * A weight that a prepacking or bf16 pass would convert. kind: 'conv2d' = a conv2d filter [fH, fW,
 * inC, outC]; 'depthwiseConv2d' = a depthwise filter [fH, fW, inC, mult]; 'matmul' = the B operand
 * [K, N] of a matMul; 'matmulT' = the B operand [N, K] of a matMul with transposeB.
 */
export interface WeightCandidate {
  /** Layer or node name that consumes it. */
  name: string;
  kind: 'conv2d'|'depthwiseConv2d'|'matmul'|'matmulT';
  shape: number[];
}

/** What ab.optimize() did, attached to the returned model as `model.optimizationReport`. */
export interface OptimizationReport {
  modelType: 'LayersModel'|'GraphModel';
  options: ResolvedOptions;
  /** False when the model was left exactly as it was (O0, or nothing could be rewritten safely). */
  changed: boolean;
  /** BatchNormalization layers / FusedBatchNorm nodes folded into the conv or dense before them. */
  batchNormsFolded: number;
  /** GraphModel: per-channel constant Mul nodes folded into the conv/matmul weights before them. */
  scalesFolded: number;
  /** GraphModel: BiasAdd/Add nodes with a per-channel constant folded into the conv/matmul's bias. */
  biasesFused: number;
  /** Activation layers / nodes merged into the conv/dense/matmul before them. */
  activationsFused: number;
  /**
   * LayersModel: conv/dense layers set to run conv + bias + activation as one fused kernel where
   * tfjs-layers runs them apart (DepthwiseConv2D always; Conv2D/Dense with relu6 or sigmoid).
   */
  fusedKernelLayers: number;
  /**
   * Padding folded into the convolution reading it: GraphModel zero Pad nodes (explicit padding),
   * LayersModel ZeroPadding2D layers equal to the next VALID conv's 'same' padding.
   */
  padsFused: number;
  /** Dropout-like layers / Identity nodes removed. */
  dropoutsRemoved: number;
  /** Weights packed (f32) into the native kernels' blocked layout now (bf16 ones are not counted here). */
  weightsPacked: number;
  /** 'applied', 'disabled' (option off), or 'unavailable: the native addon is not loaded' (no native addon passes). */
  prepack: string;
  /** Weights marked bfloat16 (bf16 packed; their matmuls/convs run the bf16 GEMM); depthwise filters stay f32. */
  weightsBf16: number;
  /** 'not requested', 'applied', or why not ('unavailable: the native addon is not loaded'). */
  bf16: string;
  /** Dense/matmul weights quantized to int8 / int4 (dtype 'int8' / 'int4'); conv filters stay float32. */
  weightsQuantized: number;
  /** 'not requested', 'applied', or why not ('unavailable: the native addon is not loaded'). */
  quant: string;
  /** The conv filters and dense kernels that prepacking / bf16 apply to (one call per weight). */
  weightCandidates: WeightCandidate[];
  /** Parts left as they were, with the reason. */
  leftAlone: LeftAlone[];
  /** tfjs kernels the optimized model uses that run on the cpu fallback (not in ab.info().nativeKernels). */
  cpuFallback: string[];
  /** Layer classes / graph ops whose kernels optimize() cannot name (so cpuFallback may miss them). */
  unknownKernels: string[];
  notes: string[];
}

const KNOWN: (keyof OptimizeOptions)[] =
    ['level', 'dtype', 'foldBatchNorm', 'fuseActivations', 'weightsPrepack', 'removeDropout', 'inplace'];

/** Validates `options` (unknown keys, bad values throw) and fills in the level's defaults. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options == null) options = {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`ab.optimize: options must be an object, got ${Array.isArray(options) ? 'an array' : typeof options}`);
  }
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(KNOWN as string[]).includes(k)) {
      throw new TypeError(`ab.optimize: unknown option '${k}' (known: ${KNOWN.join(', ')})`);
    }
  }
  const level = o.level === undefined ? 'O1' : o.level;
  if (level !== 'O0' && level !== 'O1') {
    throw new TypeError(`ab.optimize: option 'level' must be 'O0' or 'O1', got ${JSON.stringify(level)}`);
  }
  const dtype = o.dtype === undefined ? 'float32' : o.dtype;
  if (dtype !== 'float32' && dtype !== 'bfloat16' && dtype !== 'int8' && dtype !== 'int4') {
    throw new TypeError(`ab.optimize: option 'dtype' must be 'float32', 'bfloat16', 'int8' or 'int4', got ${JSON.stringify(dtype)}`);
  }
  const on = level === 'O1';
  const flag = (k: keyof OptimizeOptions, def: boolean): boolean => {
    const v = o[k];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') throw new TypeError(`ab.optimize: option '${k}' must be a boolean, got ${JSON.stringify(v)}`);
    return v;
  };
  return {
    level,
    dtype,
    foldBatchNorm: flag('foldBatchNorm', on),
    fuseActivations: flag('fuseActivations', on),
    weightsPrepack: flag('weightsPrepack', on),
    removeDropout: flag('removeDropout', on),
    inplace: flag('inplace', false),
  };
}

export function emptyReport(modelType: OptimizationReport['modelType'], options: ResolvedOptions): OptimizationReport {
  return {
    modelType,
    options,
    changed: false,
    batchNormsFolded: 0,
    scalesFolded: 0,
    biasesFused: 0,
    activationsFused: 0,
    fusedKernelLayers: 0,
    padsFused: 0,
    dropoutsRemoved: 0,
    weightsPacked: 0,
    prepack: options.weightsPrepack ? 'unavailable: the native addon is not loaded' : 'disabled',
    weightsBf16: 0,
    bf16: options.dtype === 'bfloat16' ? 'unavailable: the native addon is not loaded' : 'not requested',
    weightsQuantized: 0,
    quant: options.dtype === 'int8' || options.dtype === 'int4' ? 'unavailable: the native addon is not loaded' : 'not requested',
    weightCandidates: [],
    leftAlone: [],
    cpuFallback: [],
    unknownKernels: [],
    notes: [],
  };
}

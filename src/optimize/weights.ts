// SPDX-License-Identifier: Apache-2.0
// Weight passes of ab.optimize(): prepacking and bfloat16. Both work one weight at a time, on the
// conv filters and dense/matmul kernels that the model rewrites collect (WeightRef).
//
// Wiring: setWeightPasses() is called once at import (src/optimize/index.ts) with the weight
// cache's passes (prepackWeight, toBf16Weight). With dtype 'bfloat16' the bf16 pass runs first and
// prepacking then takes the weights it did not convert. Depthwise filters stay float32 (no bf16
// depthwise kernel, and their kernel reads the filter as it is) and are listed in leftAlone.
import type {Tensor} from '@tensorflow/tfjs-core';

import type {OptimizationReport, ResolvedOptions, WeightCandidate} from './types';

export interface WeightRef extends WeightCandidate {
  /** The weight tensor exactly as the kernel receives it (a Variable for LayersModel). */
  tensor: Tensor;
  /**
   * Gives the model's weight data of its own (a copy, where optimize() made a model that shares
   * it with the original) and returns the tensor the kernel now receives. Used before marking a
   * weight bf16, which is a property of its data.
   */
  own?: () => Tensor;
}

export type WeightPass = (tensor: Tensor, kind: WeightCandidate['kind']) => boolean;
export type QuantPass = (tensor: Tensor, kind: WeightCandidate['kind'], dtype: 'int8'|'int4') => boolean;

/** Prepacks one weight for the native conv/matmul kernels (cached by its dataId). */
let PREPACK: WeightPass|null = null;
/** Gives one weight a bfloat16 copy for the bf16 GEMM. */
let TO_BF16: WeightPass|null = null;
/** Quantizes one dense/matmul weight to int8 / int4 for the quantized GEMM. */
let TO_QUANT: QuantPass|null = null;

/** Installs the weight passes this build has (internal: not exported from the package). */
export function setWeightPasses(passes: {prepack?: WeightPass|null; bf16?: WeightPass|null; quant?: QuantPass|null}): void {
  if (passes.prepack !== undefined) PREPACK = passes.prepack;
  if (passes.bf16 !== undefined) TO_BF16 = passes.bf16;
  if (passes.quant !== undefined) TO_QUANT = passes.quant;
}

/** Runs the weight passes the options ask for over `weights` and records the outcome in `report`. */
export function applyWeightPasses(weights: WeightRef[], options: ResolvedOptions, report: OptimizationReport): void {
  report.weightCandidates = weights.map(({name, kind, shape}) => ({name, kind, shape}));
  const current = weights.map((w) => w.tensor);  // the tensor each weight is after the passes
  const isBf16 = weights.map(() => false);
  if (options.dtype === 'bfloat16') {
    if (TO_BF16 == null) {
      report.bf16 = 'unavailable: the native addon is not loaded';
    } else {
      const pass = TO_BF16;
      const owned = new Map<unknown, Tensor>();  // original dataId -> the tensor with data of its own
      weights.forEach((w, i) => {
        if (w.kind === 'depthwiseConv2d') {
          report.leftAlone.push({name: w.name, op: 'depthwise filter',
                                 reason: 'bf16: stays float32 (there is no bf16 depthwise kernel)'});
          return;
        }
        const id = (w.tensor as unknown as {dataId: unknown}).dataId;
        let t = owned.get(id);
        if (t == null) {
          t = !options.inplace && w.own ? w.own() : w.tensor;
          owned.set(id, t);
        }
        current[i] = t;
        if (pass(t, w.kind)) {
          isBf16[i] = true;
          report.weightsBf16++;
        } else {
          report.leftAlone.push({name: w.name, op: `${w.kind} weight`,
                                 reason: 'bf16: not converted (not float32 on the afterburner backend, or past the prepack budget)'});
        }
      });
      report.bf16 = 'applied';
    }
  }
  if (options.dtype === 'int8' || options.dtype === 'int4') applyQuantPass(weights, options, report, current, isBf16);
  if (options.weightsPrepack) {
    if (PREPACK == null) {
      report.prepack = 'unavailable: the native addon is not loaded';
    } else {
      const pass = PREPACK;
      weights.forEach((w, i) => {
        if (!isBf16[i] && pass(current[i], w.kind)) report.weightsPacked++;
      });
      report.prepack = 'applied';
    }
  }
}

/**
 * dtype 'int8' / 'int4': dense/matmul weights are quantized (weight-only, the quantized GEMM);
 * conv and depthwise filters stay float32 (listed in leftAlone; prepacking then takes the convs).
 * Marks `converted[i]` for the weights it quantized.
 */
function applyQuantPass(weights: WeightRef[], options: ResolvedOptions, report: OptimizationReport, current: Tensor[],
                        converted: boolean[]): void {
  const dtype = options.dtype as 'int8'|'int4';
  if (TO_QUANT == null) {
    report.quant = 'unavailable: the native addon is not loaded';
    return;
  }
  const pass = TO_QUANT;
  const owned = new Map<unknown, Tensor>();  // original dataId -> the tensor with data of its own
  weights.forEach((w, i) => {
    if (w.kind !== 'matmul' && w.kind !== 'matmulT') {
      report.leftAlone.push({name: w.name, op: w.kind === 'conv2d' ? 'conv2d filter' : 'depthwise filter',
                             reason: `${dtype}: stays float32 (weight-only quantization covers dense/matmul weights)`});
      return;
    }
    const id = (w.tensor as unknown as {dataId: unknown}).dataId;
    let t = owned.get(id);
    if (t == null) {
      t = !options.inplace && w.own ? w.own() : w.tensor;
      owned.set(id, t);
    }
    current[i] = t;
    let ok = false, why = 'not float32 on the afterburner backend, or past the prepack budget';
    try {
      ok = pass(t, w.kind, dtype);
    } catch (e) {
      why = (e as Error).message;
    }
    if (ok) {
      converted[i] = true;
      report.weightsQuantized++;
    } else {
      report.leftAlone.push({name: w.name, op: `${w.kind} weight`, reason: `${dtype}: not converted (${why})`});
    }
  });
  report.quant = 'applied';
}

// SPDX-License-Identifier: Apache-2.0
// Weight passes of ab.optimize(): prepacking and bfloat16. Both work one weight at a time, on the
// conv filters and dense/matmul kernels that the model rewrites collect (WeightRef).
//
// Wiring point: this build has neither a prepacking cache nor a bf16 GEMM, so both passes are null
// and the report says 'unavailable in this build'. To wire one in, call setWeightPasses() once (at
// import) with a function that converts (or registers) one weight and returns whether it did, e.g.
//   setWeightPasses({prepack: (t, kind) => kind !== 'depthwiseConv2d' && prepackWeight(t, kind)})
// (the kinds 'conv2d' | 'matmul' | 'matmulT' are those of the weight cache's prepackWeight).
import type {Tensor} from '@tensorflow/tfjs-core';

import type {OptimizationReport, ResolvedOptions, WeightCandidate} from './types';

export interface WeightRef extends WeightCandidate {
  /** The weight tensor exactly as the kernel receives it (a Variable for LayersModel). */
  tensor: Tensor;
}

export type WeightPass = (tensor: Tensor, kind: WeightCandidate['kind']) => boolean;

/** Prepacks one weight for the native conv/matmul kernels (cached by its dataId). */
let PREPACK: WeightPass|null = null;
/** Gives one weight a bfloat16 copy for the bf16 GEMM. */
let TO_BF16: WeightPass|null = null;

/** Installs the weight passes this build has (internal: not exported from the package). */
export function setWeightPasses(passes: {prepack?: WeightPass|null; bf16?: WeightPass|null}): void {
  if (passes.prepack !== undefined) PREPACK = passes.prepack;
  if (passes.bf16 !== undefined) TO_BF16 = passes.bf16;
}

/** Runs the weight passes the options ask for over `weights` and records the outcome in `report`. */
export function applyWeightPasses(weights: WeightRef[], options: ResolvedOptions, report: OptimizationReport): void {
  report.weightCandidates = weights.map(({name, kind, shape}) => ({name, kind, shape}));
  if (options.weightsPrepack) {
    if (PREPACK == null) {
      report.prepack = 'unavailable in this build';
    } else {
      const pass = PREPACK;
      for (const w of weights) if (pass(w.tensor, w.kind)) report.weightsPacked++;
      report.prepack = 'applied';
    }
  }
  if (options.dtype === 'bfloat16') {
    if (TO_BF16 == null) {
      report.bf16 = 'unavailable in this build';
    } else {
      const pass = TO_BF16;
      for (const w of weights) if (pass(w.tensor, w.kind)) report.weightsBf16++;
      report.bf16 = 'applied';
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
// ab.optimize(model, options): IPEX's ipex.optimize for tfjs models. Model-level rewrites for
// inference (fold BatchNorm, fuse bias + activation, drop dropout, prepack weights) on a
// LayersModel or GraphModel, returning a model with the same API and a report of what it did.
import {isGraphModel, optimizeGraphModel} from './graph';
import {isLayersModel, optimizeLayersModel} from './layers';
import {emptyReport, OptimizationReport, OptimizeOptions, resolveOptions} from './types';
import {prepackWeight, quantSpec, toBf16Weight, toQuantWeight} from '../backend/weight-cache';
import {native} from '../binding';
import {setWeightPasses} from './weights';

// The weight passes of this build: f32 prepacking and bf16 weights, from the weight cache (a
// depthwise filter is neither: its kernel reads the filter as it is).
if (native != null) setWeightPasses({
  prepack: (t, kind) => kind !== 'depthwiseConv2d' && prepackWeight(t, kind),
  bf16: (t, kind) => kind !== 'depthwiseConv2d' && toBf16Weight(t, kind),
  // int8 / int4 at the default group sizes; throws on non-finite weights (the pass reports them)
  quant: (t, kind, dtype) => (kind === 'matmul' || kind === 'matmulT') && toQuantWeight(t, kind, quantSpec('ab.optimize', {dtype})),
});

export type {LeftAlone, OptimizationReport, OptimizeOptions, WeightCandidate} from './types';

/**
 * Optimizes a tfjs LayersModel or GraphModel for inference and returns it with the same API
 * (predict / execute / executeAsync), with `optimizationReport` attached.
 *
 * - level 'O1' (default): folds BatchNormalization into the conv/dense before it, fuses bias and
 *   activation into it, removes dropout-like identities, prepacks weights (when this build can).
 *   'O0': none of these (individual flags still turn rewrites on).
 * - Without `inplace`, the original model is not changed (the new one shares its unchanged
 *   weight data); with `inplace: true` the model object itself is rewritten and returned.
 * - A part that cannot be rewritten safely is left as it was and listed in
 *   `report.leftAlone`. Outputs equal the original's within float32 rounding.
 * - The result is for inference: folded models no longer train like the original.
 */
export function optimize<T extends object>(model: T, options: OptimizeOptions = {}): T&{optimizationReport: OptimizationReport} {
  const opts = resolveOptions(options);
  let report: OptimizationReport;
  let result: object;
  if (isLayersModel(model)) {
    report = emptyReport('LayersModel', opts);
    result = optimizeLayersModel(model, opts, report);
  } else if (isGraphModel(model)) {
    report = emptyReport('GraphModel', opts);
    result = optimizeGraphModel(model, opts, report);
  } else {
    throw new TypeError('ab.optimize: expected a tfjs LayersModel (tf.loadLayersModel, tf.sequential, tf.model) ' +
        'or GraphModel (tf.loadGraphModel)');
  }
  Object.defineProperty(result, 'optimizationReport', {value: report, configurable: true, enumerable: false, writable: true});
  return result as T&{optimizationReport: OptimizationReport};
}

// SPDX-License-Identifier: Apache-2.0
// `import 'afterburner'` registers the afterburner tfjs backend (native, ISA-dispatched kernels)
// at a priority above cpu and wasm; ordinary tfjs code then runs on it.
import {native, nativeLoadError} from './binding';
import {BACKEND_NAME, BACKEND_PRIORITY, AfterburnerBackend} from './backend/backend';
import {nativeKernelNames, registerAfterburner} from './backend/register';
import {getNumThreads, isa, IsaLevel, ISA_LEVELS, setNumThreads} from './isa';

registerAfterburner();

// eslint-disable-next-line @typescript-eslint/no-var-requires
export const version: string = require('../../package.json').version;
export {AfterburnerBackend, BACKEND_NAME, BACKEND_PRIORITY, getNumThreads, isa, ISA_LEVELS, setNumThreads};
export type {IsaLevel};
export {prepackStats, prepackWeight} from './backend/weight-cache';
export {clearOutputPool, outputPoolStats} from './backend/output-pool';
export {updateSlice} from './backend/update-slice-op';
export type {OutputPoolStats} from './backend/output-pool';
export type {PrepackStats, WeightKind} from './backend/weight-cache';

export interface Info {
  version: string;
  backend: string;
  native: boolean;
  nativeError: string|null;
  isa: {current: IsaLevel; supported: IsaLevel[]; built: IsaLevel[]; amx: string};
  threads: number;
  physicalCores: number;
  gemm: string|null;
  nativeKernels: string[];
}

/** What is loaded and how it will run (the `afterburner info` command prints this). */
export function info(): Info {
  return {
    version,
    backend: BACKEND_NAME,
    native: native != null,
    nativeError: nativeLoadError(),
    isa: {current: isa.current(), supported: isa.supported(), built: isa.built(), amx: isa.amxStatus()},
    threads: getNumThreads(),
    physicalCores: native ? native.physicalCores() : 1,
    gemm: native ? native.gemmInfo().summary : null,
    nativeKernels: nativeKernelNames,
  };
}

// Graph mode (issue 4): trace a function or model into the IR, rewrite it, run it as one plan.
export {compile} from './graph/compile';
export type {CompileOptions, CompileSummary, CompiledExtras, CompiledFunction} from './graph/compile';
export type {ProfileNode, ProfileReport} from './graph/profile';
export {Graph, IrError, printGraph, validate} from './graph/ir';
export {traceFunction} from './graph/trace';
import {traceFunction as traceFn} from './graph/trace';
import type {Tensor as TfTensor} from '@tensorflow/tfjs-core';
/** Records `fn` run once on `exampleInputs` as a graph (the IR; see ab.compile to run it). */
export function trace(fn: (...xs: TfTensor[]) => unknown, exampleInputs: TfTensor[]): import('./graph/ir').Graph {
  return traceFn(fn, exampleInputs).graph;
}

// ab.optimize(): model-level rewrites for inference (src/optimize/).
export {optimize} from './optimize';
export type {LeftAlone, OptimizationReport, OptimizeOptions, WeightCandidate} from './optimize';

// Weight-only int8 / int4 quantization of matmul weights (native/gemm/gemm_quant.h).
export {quantizeWeight} from './backend/weight-cache';
export type {QuantizeOptions} from './backend/weight-cache';

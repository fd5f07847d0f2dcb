// SPDX-License-Identifier: Apache-2.0
// Graph passes. Rewrites are (pattern, rewrite) rules run by one engine (runRules) with one shared
// fusion-legality check (fusible); dead-code elimination and constant folding are the two
// structural passes. Each pass reports what it changed; the pipeline can validate the IR after
// every pass (tests turn it on) and dump the graph after each (AFTERBURNER_DUMP_GRAPH=1).
import {engine, getKernel} from '@tensorflow/tfjs-core';
import type {DataId, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {BACKEND_NAME} from '../backend/backend';
import {sizeOf} from '../backend/kernel-utils';
import {kernelRunner} from './executor';
import {Graph, Node, printGraph, validate, ValueId} from './ir';

export interface Rule {
  name: string;
  /** The op(s) a match is rooted at. */
  ops: string[];
  /** Tries to rewrite at `node`; returns true if it changed the graph. */
  apply(g: Graph, node: Node, ctx: RuleContext): boolean;
}

export interface RuleContext {
  consumers: Map<ValueId, Node[]>;
}

/**
 * The shared legality check for fusing the producer of `v` into its reader: `v` must have exactly
 * one reading node (which reads it once) and must not be a graph output, so nothing else observes
 * the intermediate that fusion removes.
 */
export function fusible(g: Graph, ctx: RuleContext, v: ValueId): boolean {
  if (g.outputs.includes(v)) return false;
  const readers = ctx.consumers.get(v) ?? [];
  return readers.length === 1 && readers[0].inputs.filter((x) => x === v).length === 1;
}

/** Counts of what a pass or pipeline changed, by rule name. */
export type PassStats = Map<string, number>;

function bump(stats: PassStats, name: string, by = 1): void {
  stats.set(name, (stats.get(name) ?? 0) + by);
}

/** Applies `rules` until none matches (a fixed point), then removes dead code. */
export function runRules(g: Graph, rules: Rule[], stats: PassStats = new Map()): PassStats {
  const byOp = new Map<string, Rule[]>();
  for (const r of rules) for (const op of r.ops) byOp.set(op, [...(byOp.get(op) ?? []), r]);
  for (let round = 0; round < 100; ++round) {
    let changed = false;
    for (const node of g.nodes.slice()) {
      if (!g.nodes.includes(node)) continue;  // removed by an earlier rewrite this round
      for (const r of byOp.get(node.op) ?? []) {
        if (r.apply(g, node, {consumers: g.consumers()})) {
          bump(stats, r.name);
          changed = true;
          break;
        }
      }
    }
    if (!changed) break;
    deadCodeElimination(g, stats);
  }
  return stats;
}

/** Removes nodes none of whose outputs is read or returned, and constants no one reads. */
export function deadCodeElimination(g: Graph, stats: PassStats = new Map()): PassStats {
  const live = new Set<ValueId>(g.outputs);
  const keep: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; --i) {
    const n = g.nodes[i];
    if (n.outputs.some((v) => live.has(v))) {
      keep.push(n);
      for (const v of n.inputs) live.add(v);
    } else {
      bump(stats, 'dead nodes removed');
    }
  }
  g.nodes = keep.reverse();
  for (const id of [...g.constants.keys()]) {
    if (!live.has(id)) {
      g.constants.delete(id);
      g.values[id].kind = 'dead';
    }
  }
  return stats;
}

/** Ops whose result is not a function of their inputs alone: never folded. */
const NOT_FOLDABLE = /Random|Multinomial|Dropout|Variable|Assign/;

/**
 * Runs every node whose inputs are all constants (weights transposed, reshaped or scaled at run
 * time, constant subgraphs) once, now, and makes its outputs constants. Outputs larger than
 * `maxElements` are left to run time.
 */
export function constantFolding(g: Graph, stats: PassStats = new Map(), maxElements = 1 << 24): PassStats {
  const be = engine().findBackend(BACKEND_NAME) as unknown as MathBackendCPU;
  for (const n of g.nodes.slice()) {
    if (n.op.startsWith('ab.') || NOT_FOLDABLE.test(n.op) || !n.inputs.every((v) => g.isConstant(v))) continue;
    if (n.outputs.some((v) => sizeOf(g.value(v).shape) > maxElements)) continue;
    if (getKernel(n.op, BACKEND_NAME) == null) continue;
    const made: DataId[] = [];
    const ins = n.inputs.map((v) => {
      const val = g.value(v);
      const dataId = be.write(g.constants.get(v) as never, val.shape, val.dtype) as DataId;
      made.push(dataId);
      return {dataId, shape: val.shape, dtype: val.dtype} as TensorInfo;
    });
    let outs: TensorInfo[];
    try {
      outs = kernelRunner(be, n.op, n.inputNames, n.attrs)(ins);
    } finally {
      for (const d of made) be.disposeData(d);
    }
    n.outputs.forEach((v, i) => {
      const o = outs[i];
      // readSync copies nothing for the cpu storage; the values outlive the dataId we free next.
      const data = be.readSync(o.dataId);
      be.disposeData(o.dataId);
      const c = g.addConstant(o.shape, o.dtype, data);
      g.replaceAllUses(v, c);
    });
    g.removeNode(n);
    bump(stats, 'constants folded');
  }
  return stats;
}

export interface PipelineOptions {
  /** Validate the IR after every pass (tests do). */
  validateEach?: boolean;
  /** Print the graph after each pass (also AFTERBURNER_DUMP_GRAPH=1). */
  dump?: boolean|((pass: string, text: string) => void);
}

export interface Pass {
  name: string;
  run(g: Graph, stats: PassStats): void;
}

/** Runs `passes` in order; returns the stats of each. */
export function runPipeline(g: Graph, passes: Pass[], opts: PipelineOptions = {}): {pass: string, stats: PassStats}[] {
  const dumpEnv = typeof process !== 'undefined' && /^(1|true|yes)$/i.test(process.env.AFTERBURNER_DUMP_GRAPH ?? '');
  const dump = typeof opts.dump === 'function' ? opts.dump
             : (opts.dump || dumpEnv) ? (pass: string, text: string) => process.stderr.write(`// after ${pass}\n${text}\n`) : null;
  const results: {pass: string, stats: PassStats}[] = [];
  if (opts.validateEach) validate(g);
  dump?.('trace', printGraph(g));
  for (const p of passes) {
    const stats: PassStats = new Map();
    p.run(g, stats);
    if (opts.validateEach) validate(g);
    dump?.(p.name, printGraph(g));
    results.push({pass: p.name, stats});
  }
  return results;
}


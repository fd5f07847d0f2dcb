// SPDX-License-Identifier: Apache-2.0
// ab.compile(): graph mode's public face. It takes a tfjs function, a GraphModel or a
// LayersModel, traces it per input signature (shapes and dtypes), rewrites the graph (constant
// folding, BatchNorm folding, bias and activation fusion, dead code), and runs it with the
// executor. The result has the call API of what it was given, plus summary(), toDot(), dispose().
import {Tensor} from '@tensorflow/tfjs-core';

import {nativeKernelNames} from '../backend/register';
import {QuantSpec, quantSpec, toBf16Weight, toQuantWeight} from '../backend/weight-cache';
import {Executor} from './executor';
import {EWCHAIN_RULES} from './ewchain';
import {CONCAT_RULES, FUSION_RULES} from './fusion';
import {MATMUL_RESIDUAL_OP, RESIDUAL_OP} from './residual';
import {commonSubexpressions, PATTERN_RULES} from './patterns';
import {SIMPLIFY_RULES} from './simplify';
import {describeRaw, Generalizer, Lineage} from './generalize';
import {Graph, IrError, printGraph, validate, ValueId} from './ir';
import {peakBytes, planMemory} from './planner';
import {ProfileReport, profileReport} from './profile';
import {constantFolding, deadCodeElimination, Pass, PassStats, PipelineOptions, runPipeline, runRules} from './passes';
import {OutputStructure, traceFunction} from './trace';

export interface CompileOptions {
  /** 'O0': trace and run as recorded, no rewrites; 'O1' (default): all passes. */
  level?: 'O0'|'O1';
  /** Validate the IR after every pass (slower; tests use it). */
  validate?: boolean;
  /** Print the graph after each pass to stderr (or AFTERBURNER_DUMP_GRAPH=1). */
  dumpGraph?: boolean;
  /**
   * 'bfloat16': the constant conv filters and matmul weights of the plan are computed with the bf16
   * GEMM (bf16 operands, f32 accumulation; depthwise filters stay float32). Default 'float32';
   * weights that ab.optimize({dtype: 'bfloat16'}) marked stay bf16 either way. 'int8' / 'int4':
   * the matmul weights (2-D B operands) are quantized weight-only (ab.quantizeWeight's default
   * group sizes; conv filters stay float32); weights already quantized stay so.
   */
  dtype?: 'float32'|'bfloat16'|'int8'|'int4';
  /**
   * New input shapes of a known structure are planned from a generic graph instead of traced
   * (default true; src/graph/generalize.ts). false: every new input signature is traced.
   */
  dynamic?: boolean;
  /** Plans kept per compiled object (and per GraphModel output selection), least recently used evicted first (default 16). */
  maxPlans?: number;
  /**
   * Inputs that are state (JAX's donate_argnums): where an output is ab.updateSlice of such an
   * input (a KV cache written at pos), the native plan writes it in place and returns it over its
   * own buffer; passing that output back as the input the next call skips the copy and consumes
   * (disposes) it. Any other tensor passed there is copied in and left as it is; a returned state
   * tensor not passed back keeps its values (it is given a copy before the buffer is reused).
   */
  donate?: number[];
}

export interface CompileSummary {
  /** Input signatures compiled so far (one plan each). */
  plans: number;
  nodes: number;
  ops: {[op: string]: number};
  /** What the passes did, by rule ('batch norms folded', 'activations fused', ...). */
  rewrites: {[what: string]: number};
  constants: number;
  constantBytes: number;
  /** The most bytes of intermediates alive at once (liveness order), graph outputs included. */
  peakBytes: number;
  /** The memory planner's arena for the intermediates (liveness-based offsets, src/graph/planner.ts). */
  arenaBytes: number;
  /** Whether runs write intermediates into the arena (from the second run on; off: AFTERBURNER_GRAPH_ARENA=0). */
  arena: 'on'|'off'|'after the first run';
  /** Ops that run through the cpu backend's kernels rather than native ones. */
  cpuFallbackOps: string[];
  /** Constant weights computed in bf16 (compile's dtype option, or marked by ab.optimize). */
  bf16Weights: number;
  /** Constant matmul weights computed from int8 / int4 codes (compile's dtype, or marked before). */
  quantWeights: number;
  /**
   * How runs execute: 'native' (the plan's native calls replayed segment by segment, src/graph/
   * native-plan.ts), or 'interpreter' (before the plan is captured in the second run, or with
   * AFTERBURNER_GRAPH_NATIVE=0, or for graphs the native executor does not take).
   */
  executor: 'native'|'interpreter';
  /** The native plan: captured calls, nodes by kind, segments, the ops of the JS nodes (null before capture). */
  nativePlan: {calls: number, native: number, view: number, js: number, segments: number, jsOps: string[]}|null;
  /** How plans are made for new input shapes (generalize.ts); counts are since compile(). */
  shapes: {
    /** How the current plan was made: traced, or instantiated from a generic graph (no trace, no passes). */
    plan: 'traced'|'instantiated';
    /** Milliseconds spent making the current plan (trace and passes, or instantiation), its runs not included. */
    planMs: number;
    traced: number;
    instantiated: number;
    /** Instantiated plans whose first run failed the shape check (each then traced). */
    rejected: number;
    /** Plans dropped by the maxPlans limit (their executors disposed). */
    evicted: number;
    /** The current plan's structure: 'generic' (new shapes are instantiated), 'waiting' (more shapes must be traced first), 'traced' (every shape is), 'off'. */
    state: 'generic'|'waiting'|'traced'|'off';
    /** Why, in words: which dims it is generic over, or what is not affine. */
    status: string;
    /** The family's last event: a new structure and how it differs, or a failed instantiation. */
    note: string;
  };
}

const PASSES: Pass[] = [
  {name: 'constant folding', run: (g, s) => constantFolding(g, s)},
  {name: 'simplify and fuse', run: (g, s) => runRules(g, [...SIMPLIFY_RULES, ...FUSION_RULES], s)},
  {name: 'common subexpressions', run: (g, s) => commonSubexpressions(g, s)},
  {name: 'parallel matmuls', run: (g, s) => runRules(g, CONCAT_RULES, s)},
  {name: 'norms and attention', run: (g, s) => runRules(g, PATTERN_RULES, s)},
  // After conv/matmul fusion has taken the bias adds and activations it can.
  {name: 'elementwise chains', run: (g, s) => runRules(g, EWCHAIN_RULES, s)},
  {name: 'dead code', run: (g, s) => deadCodeElimination(g, s)},
];

/** Graphviz DOT text for a graph: ops as boxes, constants and inputs as ellipses. */
export function toDot(g: Graph, name = 'afterburner'): string {
  const esc = (s: string) => s.replace(/"/g, '\\"');
  const lines = [`digraph "${esc(name)}" {`, '  rankdir=TB; node [fontname="Helvetica", fontsize=10];'];
  const ty = (v: number) => `${g.value(v).dtype}[${g.value(v).shape.join(',')}]`;
  g.inputs.forEach((v, i) => lines.push(`  v${v} [shape=ellipse, style=filled, fillcolor="#dbeafe", label="input ${i}\\n${ty(v)}"];`));
  const native = new Set(nativeKernelNames);
  for (const n of g.nodes) {
    const color = n.op.startsWith('ab.') || native.has(n.op) ? '#dcfce7' : '#fee2e2';
    const act = n.attrs.activation && n.attrs.activation !== 'linear' ? ` + ${n.attrs.activation}` : '';
    lines.push(`  n${n.id} [shape=box, style=filled, fillcolor="${color}", label="${esc(n.op + act)}\\n${n.outputs.map(ty).join(', ')}"];`);
    n.inputs.forEach((v) => {
      const p = g.value(v);
      if (p.kind === 'const') {
        lines.push(`  c${v}_${n.id} [shape=ellipse, fontsize=8, label="const ${ty(v)}"];`, `  c${v}_${n.id} -> n${n.id};`);
      } else if (p.kind === 'input') {
        lines.push(`  v${v} -> n${n.id};`);
      } else {
        lines.push(`  n${p.producer} -> n${n.id};`);
      }
    });
  }
  g.outputs.forEach((v, i) => {
    lines.push(`  out${i} [shape=ellipse, style=filled, fillcolor="#fef9c3", label="output ${i}\\n${ty(v)}"];`);
    const p = g.value(v);
    lines.push(`  ${p.kind === 'node' ? `n${p.producer}` : `v${v}`} -> out${i};`);
  });
  lines.push('}');
  return lines.join('\n');
}

interface Plan {
  graph: Graph;
  executor: Executor;
  structure: OutputStructure;
  rewrites: PassStats;
  /** 'instantiated': made from a generic graph without tracing (generalize.ts). */
  source: 'traced'|'instantiated';
  /** An instantiated plan until its first run passed the executor's shape check. */
  unverified?: {reject(why: string): void};
  /** Frees what the plan shares with others (an instantiated plan's constants). */
  release?: () => void;
  lineage?: Lineage;
  /** Milliseconds it took to make (trace and rewrite, or instantiate) the plan, its first run not included. */
  planMs?: number;
  bf16Weights: number;
  quantWeights: number;
}

/**
 * Marks the plan's constant conv filters and matmul B operands with the weight format `pick`
 * chooses for each ('bf16', an int8/int4 spec — matmul weights only — or null: float32). A weight
 * the kernels cannot take in that format (batched matmul weights, empty ones) stays float32.
 */
function markWeights(g: Graph, ex: Executor, pick: (v: ValueId, conv: boolean) => 'bf16'|QuantSpec|null):
    {bf16Weights: number, quantWeights: number} {
  const done = new Set<ValueId>();
  let bf16Weights = 0, quantWeights = 0;
  for (const n of g.nodes) {
    const conv = n.op === 'Conv2D' || n.op === 'FusedConv2D' || n.op === RESIDUAL_OP;
    const mm = n.op === 'BatchMatMul' || n.op === '_FusedMatMul' || n.op === 'MatMul' || n.op === MATMUL_RESIDUAL_OP;
    if (!conv && !mm) continue;
    const i = n.inputNames?.indexOf(conv ? 'filter' : 'b') ?? -1;
    const v = i < 0 ? undefined : n.inputs[i];
    if (v == null || done.has(v)) continue;
    const info = ex.constantInfo(v), shape = g.value(v).shape;
    if (info == null || info.dtype !== 'float32') continue;
    if (mm && (shape.length < 2 || shape.slice(0, -2).some((d) => d !== 1))) continue;
    if (conv && shape.length !== 4) continue;
    const format = pick(v, conv);
    if (format == null) continue;
    const kind = conv ? 'conv2d' : n.attrs.transposeB ? 'matmulT' : 'matmul';
    if (format === 'bf16') {
      if (toBf16Weight(info, kind)) ++bf16Weights;
    } else if (!conv && toQuantWeight(info, kind as 'matmul'|'matmulT', format)) {
      ++quantWeights;
    }
    done.add(v);
  }
  return {bf16Weights, quantWeights};
}

/** Plans per compiled object unless `maxPlans` says otherwise. */
const MAX_PLANS = 16;

/** Traces, rewrites and plans per input signature; the compiled objects below share it. */
class PlanCache {
  /** Least recently used first. */
  private plans = new Map<string, Plan>();
  private last: Plan|null = null;
  private gen: Generalizer|null;
  private counts = {traced: 0, instantiated: 0, rejected: 0, evicted: 0};
  /** Data arrays of constants that ab.optimize marked bf16 (from every trace): they stay bf16. */
  private bf16Carried = new Set<unknown>();
  private quantCarried = new Map<unknown, QuantSpec>();

  /** The weight formats the options ask for, and those carried from marked source tensors. */
  private markWeights(g: Graph, ex: Executor): {bf16Weights: number, quantWeights: number} {
    const dt = this.opts.dtype;
    const spec = dt === 'int8' || dt === 'int4' ? quantSpec('compile', {dtype: dt}) : null;
    // bf16 (asked for, or carried) wins over int8/int4, as the latest mark does on the weight cache.
    return markWeights(g, ex, (v, conv) => {
      const data = g.constants.get(v);
      if (dt === 'bfloat16' || this.bf16Carried.has(data)) return 'bf16';
      return conv ? null : spec ?? this.quantCarried.get(data) ?? null;
    });
  }

  constructor(private fn: (...xs: Tensor[]) => unknown, private opts: CompileOptions) {
    this.gen = opts.dynamic === false ? null : new Generalizer();
  }

  private trace(inputs: Tensor[]): Plan {
    const {graph, structure, shares, bf16Constants, quantConstants} = traceFunction(this.fn, inputs);
    for (const d of bf16Constants) this.bf16Carried.add(d);
    for (const [d, q] of quantConstants) this.quantCarried.set(d, q);
    ++this.counts.traced;
    // The kernel calls as the function made them, before the passes rewrite the graph in place.
    const raw = this.gen == null ? null : describeRaw(graph, shares);
    const rewrites: PassStats = new Map();
    if ((this.opts.level ?? 'O1') === 'O1') {
      const pipe: PipelineOptions = {validateEach: this.opts.validate, dump: this.opts.dumpGraph};
      for (const r of runPipeline(graph, PASSES, pipe)) for (const [k, v] of r.stats) rewrites.set(k, (rewrites.get(k) ?? 0) + v);
    }
    const lineage = this.gen?.addTrace(graph, raw, {structure, rewrites});
    const executor = new Executor(graph, {donate: this.opts.donate});
    const {bf16Weights, quantWeights} = this.markWeights(graph, executor);
    return {graph, executor, structure, rewrites, source: 'traced', lineage, bf16Weights, quantWeights};
  }

  private instantiate(inputs: Tensor[]): Plan|null {
    if (this.gen == null || inputs.some((t) => t.isDisposed)) return null;
    const inst = this.gen.instantiate(inputs);
    if (inst == null) return null;
    // The function replayed at this signature without computing must make the calls the fit
    // predicts (shape arithmetic in its own code shows here); the first run then checks shapes.
    const why = inst.verify(this.fn, inputs);
    if (why != null) {
      inst.reject(why);
      inst.release();
      ++this.counts.rejected;
      return null;
    }
    if (this.opts.validate) validate(inst.graph);
    const {structure, rewrites} = inst.extra as {structure: OutputStructure, rewrites: PassStats};
    ++this.counts.instantiated;
    const executor = new Executor(inst.graph, {constants: inst.constants, checkShapes: true, donate: this.opts.donate});
    const {bf16Weights, quantWeights} = this.markWeights(inst.graph, executor);
    return {graph: inst.graph, executor, structure, rewrites, source: 'instantiated', unverified: inst, release: inst.release,
            lineage: inst.lineage, bf16Weights, quantWeights};
  }

  private drop(p: Plan): void {
    p.executor.dispose();
    p.release?.();
  }

  private insert(key: string, p: Plan): void {
    this.plans.set(key, p);
    const max = this.opts.maxPlans ?? MAX_PLANS;
    for (const [k, old] of this.plans) {
      if (this.plans.size <= max) break;
      this.plans.delete(k);
      this.drop(old);
      ++this.counts.evicted;
    }
  }

  private profiling = false;

  startProfile(): void {
    this.profiling = true;
    for (const p of this.plans.values()) p.executor.startProfile();
  }

  /** The report of the plan that ran most since startProfile() (null if none ran). */
  stopProfile(): ProfileReport|null {
    if (!this.profiling) throw new IrError('stopProfile: no profile was started (call startProfile() first)');
    this.profiling = false;
    let best: {p: Plan, prof: NonNullable<ReturnType<Executor['stopProfile']>>}|null = null;
    for (const p of this.plans.values()) {
      const prof = p.executor.stopProfile();
      if (prof != null && prof.runs > 0 && (best == null || prof.runs >= best.prof.runs)) best = {p, prof};
    }
    if (best == null) return null;
    return profileReport(best.p.graph, best.prof, best.p.executor.nodeKinds());
  }

  plan(inputs: Tensor[]): Plan {
    for (const t of inputs) {
      if (!(t instanceof Tensor)) throw new IrError('compiled: every input must be a Tensor');
    }
    const key = inputs.map((t) => `${t.dtype}[${t.shape}]`).join(';');
    let p = this.plans.get(key);
    if (p != null && p.source === 'instantiated' && p.lineage?.group.state !== 'generic') {
      // Its group's fit was refuted since (a later shape did not fit): nothing made from it is trusted.
      this.plans.delete(key);
      this.drop(p);
      p = undefined;
    }
    if (p != null) {
      this.plans.delete(key);  // most recently used goes last
      this.plans.set(key, p);
    } else {
      const t0 = performance.now();
      p = this.instantiate(inputs) ?? this.trace(inputs);
      p.planMs = performance.now() - t0;
      this.insert(key, p);
    }
    this.last = p;
    if (this.profiling && !p.executor.isProfiling()) p.executor.startProfile();
    return p;
  }

  run(inputs: Tensor[]): unknown {
    let p = this.plan(inputs);
    let outs: Tensor[];
    const unverified = p.unverified;
    if (unverified != null) {
      // An instantiated plan's first run checks every node's output shape; if it fails (or a
      // kernel rejects an attribute), the signature is traced for real: never a wrong result.
      try {
        outs = p.executor.run(inputs);
        p.unverified = undefined;
      } catch (e) {
        const key = inputs.map((t) => `${t.dtype}[${t.shape}]`).join(';');
        unverified.reject(String((e as Error).message ?? e).replace(/^afterburner graph: /, ''));
        ++this.counts.rejected;
        this.plans.delete(key);
        this.drop(p);
        const t0 = performance.now();
        p = this.trace(inputs);
        p.planMs = performance.now() - t0;
        this.insert(key, p);
        this.last = p;
        if (this.profiling) p.executor.startProfile();
        outs = p.executor.run(inputs);
      }
    } else {
      outs = p.executor.run(inputs);
    }
    return this.shape(p, outs);
  }

  /**
   * run() with the plan's native segments on a libuv worker (the event loop stays free). The first
   * run of an instantiated plan (its shape check) runs synchronously, as run() does.
   */
  async runAsync(inputs: Tensor[]): Promise<unknown> {
    const p = this.plan(inputs);
    if (p.unverified != null) return this.run(inputs);
    return this.shape(p, await p.executor.runAsync(inputs));
  }

  private shape(p: Plan, outs: Tensor[]): unknown {
    const s = p.structure;
    if (s.kind === 'single') return outs[0];
    if (s.kind === 'array') return outs;
    const m: {[k: string]: Tensor} = {};
    s.keys.forEach((k, i) => m[k] = outs[i]);
    return m;
  }

  current(): Plan {
    if (this.last == null) throw new IrError('nothing compiled yet: call the compiled model once first');
    return this.last;
  }

  summary(): CompileSummary {
    const p = this.current();
    const g = p.graph;
    const native = new Set(nativeKernelNames);
    const ops: {[op: string]: number} = {};
    for (const [k, v] of g.opCounts()) ops[k] = v;
    return {
      plans: this.plans.size,
      nodes: g.nodes.length,
      ops,
      rewrites: Object.fromEntries(p.rewrites),
      constants: g.constants.size,
      constantBytes: p.executor.constantBytes(),
      peakBytes: peakBytes(g),
      arenaBytes: p.executor.arenaMode() === 'arena' ? p.executor.arenaBytes : planMemory(g).arenaBytes,
      arena: p.executor.arenaMode() === 'arena' ? 'on' : p.executor.arenaMode() === 'probe' ? 'after the first run' : 'off',
      cpuFallbackOps: Object.keys(ops).filter((op) => !op.startsWith('ab.') && !native.has(op)).sort(),
      bf16Weights: p.bf16Weights,
      quantWeights: p.quantWeights,
      executor: p.executor.runner(),
      nativePlan: p.executor.nativeStats(),
      shapes: {
        plan: p.source,
        planMs: p.planMs ?? 0,
        ...this.counts,
        state: this.gen == null ? 'off' : p.lineage?.group.state ?? 'traced',
        status: this.gen == null ? 'shape generalization is off (dynamic: false)' : p.lineage?.group.status ?? '',
        note: p.lineage?.family.note ?? '',
      },
    };
  }

  dispose(): void {
    for (const p of this.plans.values()) this.drop(p);
    this.plans.clear();
    this.gen?.dispose();
    this.last = null;
  }
}

/** What every compiled object has. */
export interface CompiledExtras {
  summary(): CompileSummary;
  /** Starts timing every node of the runs to come (native calls timed in the addon). */
  startProfile(): void;
  /**
   * Stops timing: per node of the plan that ran most meanwhile, milliseconds per run, share,
   * GFLOP/s of convolutions and matmuls, and a table() of the top nodes and ops.
   */
  stopProfile(): ProfileReport|null;
  toDot(): string;
  /** The current plan's IR as text. */
  print(): string;
  /** The current plan's graph (read it; don't change it). */
  graph(): Graph;
  dispose(): void;
}

export type CompiledFunction<F> = F&CompiledExtras&{
  /** The same call with the native segments on a libuv worker: the event loop stays free while it runs. */
  runAsync(...xs: Parameters<F&((...a: Tensor[]) => unknown)>): Promise<ReturnType<F&((...a: Tensor[]) => unknown)>>;
};

interface GraphModelLike {
  execute(inputs: unknown, outputs?: string|string[]): Tensor|Tensor[];
  executeAsync(inputs: unknown, outputs?: string|string[]): Promise<Tensor|Tensor[]>;
  predict(inputs: unknown, config?: unknown): unknown;
  inputs: {name: string}[];
  outputs: {name: string}[];
}

interface LayersModelLike {
  predict(x: Tensor|Tensor[], config?: unknown): Tensor|Tensor[];
  layers: unknown[];
  inputs: unknown[];
}

function isGraphModel(m: unknown): m is GraphModelLike {
  const o = m as GraphModelLike;
  return o != null && typeof o.execute === 'function' && typeof o.executeAsync === 'function' && Array.isArray(o.inputs);
}

function isLayersModel(m: unknown): m is LayersModelLike {
  const o = m as LayersModelLike;
  return o != null && typeof o.predict === 'function' && Array.isArray(o.layers);
}

/** summary/toDot/print/graph/dispose over the plan cache `current()` returns (it throws before any plan). */
function extras(current: () => PlanCache, dispose: () => void): CompiledExtras {
  return {
    summary: () => current().summary(),
    startProfile: () => current().startProfile(),
    stopProfile: () => current().stopProfile(),
    toDot: () => toDot(current().current().graph),
    print: () => printGraph(current().current().graph),
    graph: () => current().current().graph,
    dispose,
  };
}

/**
 * Compiles a tfjs function (Tensors in, a Tensor / array / object of Tensors out), a GraphModel
 * (execute, executeAsync, predict) or a LayersModel (predict). Weights are captured as constants
 * when a signature is first seen (as torch.jit.freeze does): later changes to a model's weights
 * are not seen by the compiled object.
 */
export function compile<F extends (...xs: Tensor[]) => unknown>(fn: F, options?: CompileOptions): CompiledFunction<F>;
export function compile<M extends object>(model: M, options?: CompileOptions): M&CompiledExtras&{
  /** LayersModels: predict() with the native segments on a libuv worker (GraphModels have executeAsync). */
  predictAsync?(x: Tensor|Tensor[]): Promise<Tensor|Tensor[]>;
};
export function compile(target: unknown, options: CompileOptions = {}): unknown {
  for (const k of Object.keys(options)) {
    if (!['level', 'validate', 'dumpGraph', 'dtype', 'dynamic', 'maxPlans', 'donate'].includes(k)) throw new IrError(`compile: unknown option '${k}'`);
  }
  if (options.dtype != null && !['float32', 'bfloat16', 'int8', 'int4'].includes(options.dtype)) {
    throw new IrError(`compile: dtype must be 'float32', 'bfloat16', 'int8' or 'int4', not '${options.dtype}'`);
  }
  if (options.donate != null && !(Array.isArray(options.donate) && options.donate.every((i) => Number.isInteger(i) && i >= 0))) {
    throw new IrError(`compile: donate must be an array of input indices, not ${JSON.stringify(options.donate)}`);
  }
  if (options.level != null && options.level !== 'O0' && options.level !== 'O1') {
    throw new IrError(`compile: level must be 'O0' or 'O1', not '${options.level}'`);
  }
  if (options.maxPlans != null && !(Number.isInteger(options.maxPlans) && options.maxPlans >= 1)) {
    throw new IrError(`compile: maxPlans must be an integer >= 1, not ${options.maxPlans}`);
  }
  if (isGraphModel(target)) {
    const model = target;
    const names = model.inputs.map((i) => i.name);
    // One plan per output selection as well as per input signature.
    const caches = new Map<string, PlanCache>();
    let lastCache: PlanCache|null = null;
    const toList = (inputs: unknown): Tensor[] => {
      if (inputs instanceof Tensor) return [inputs];
      if (Array.isArray(inputs)) return inputs as Tensor[];
      const m = inputs as {[k: string]: Tensor};
      return names.map((n) => {
        if (m[n] == null) throw new IrError(`compiled GraphModel: missing input '${n}'`);
        return m[n];
      });
    };
    // A model with control flow (dynamic ops) cannot be traced: execute() refuses it with the
    // reason; executeAsync() runs the model itself instead (uncompiled) and says so in summary().
    let refused: string|null = null;
    const execute = (inputs: unknown, outputs?: string|string[]) => {
      const key = outputs == null ? '' : JSON.stringify(outputs);
      let cache = caches.get(key);
      if (cache == null) {
        cache = new PlanCache((...xs: Tensor[]) => {
          const feed: {[k: string]: Tensor} = {};
          names.forEach((n, i) => feed[n] = xs[i]);
          try {
            return model.execute(feed, outputs);
          } catch (e) {
            if (/dynamic op/.test(String((e as Error).message))) {
              refused = String((e as Error).message).split('\n')[0];
              throw new IrError(`compile: this GraphModel has control flow, which graph mode does not trace ` +
                                `(use executeAsync(), which runs it uncompiled): ${refused}`);
            }
            throw e;
          }
        }, options);
        caches.set(key, cache);
      }
      const result = cache.run(toList(inputs));
      lastCache = cache;
      return result;
    };
    const executeNative = async (inputs: unknown, outputs?: string|string[]) => {
      const cache = caches.get(outputs == null ? '' : JSON.stringify(outputs));
      // The first call traces (synchronously); later ones run the plan's native segments on a worker.
      if (cache == null) return execute(inputs, outputs);
      const result = await cache.runAsync(toList(inputs));
      lastCache = cache;
      return result;
    };
    const current = () => {
      if (lastCache != null) return lastCache;
      throw new IrError(refused != null ? `not compiled: ${refused}` : 'nothing compiled yet: call the compiled model once first');
    };
    return {
      inputs: model.inputs,
      outputs: model.outputs,
      execute,
      executeAsync: async (inputs: unknown, outputs?: string|string[]) => {
        if (refused == null) {
          try {
            return await executeNative(inputs, outputs);
          } catch (e) {
            if (refused == null) throw e;
          }
        }
        return model.executeAsync(inputs, outputs);
      },
      predict: (inputs: unknown) => execute(inputs),
      ...extras(current, () => {
        for (const c of caches.values()) c.dispose();
        caches.clear();
        lastCache = null;
      }),
    };
  }
  if (isLayersModel(target)) {
    const model = target;
    const cache = new PlanCache((...xs: Tensor[]) => model.predict(xs.length === 1 ? xs[0] : xs), options);
    const predict = (x: Tensor|Tensor[]) => cache.run(Array.isArray(x) ? x : [x]);
    // predict() with the native segments on a libuv worker (the event loop stays free).
    const predictAsync = (x: Tensor|Tensor[]) => cache.runAsync(Array.isArray(x) ? x : [x]);
    return {inputs: model.inputs, layers: model.layers, predict, predictAsync, ...extras(() => cache, () => cache.dispose())};
  }
  if (typeof target === 'function') {
    const cache = new PlanCache(target as (...xs: Tensor[]) => unknown, options);
    const f = (...xs: Tensor[]) => cache.run(xs);
    const runAsync = (...xs: Tensor[]) => cache.runAsync(xs);
    return Object.assign(f, {runAsync}, extras(() => cache, () => cache.dispose()));
  }
  throw new IrError('compile: expected a function, a GraphModel or a LayersModel');
}

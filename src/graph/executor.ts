// SPDX-License-Identifier: Apache-2.0
// The graph executor (interpreter form): runs a graph's nodes in order by calling the registered
// afterburner kernels directly — no engine bookkeeping, no Tensor objects, no scopes between
// nodes — and frees every intermediate right after its last reader (liveness). Constants are
// written to the backend once, when the executor is made, so their dataIds stay stable (weight
// prepacking caches by dataId), and released by dispose().
import {engine, getKernel, Tensor, util} from '@tensorflow/tfjs-core';
import type {DataId, KernelFunc, NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {BACKEND_NAME} from '../backend/backend';
import {native} from '../binding';
import {setOutputAllocator} from '../backend/kernel-utils';
import {observing} from './hook';
import {Graph, IrError, Node, ValueId} from './ir';
import {Capture, constantHomes, NativePlan, nativePlansEnabled, planEligible} from './native-plan';
import {planMemory, Slot, valueBytes} from './planner';

/** Our conv + residual add op (residual.ts; named here so the executor does not import the kernels). */
export const RESIDUAL_OP = 'ab.FusedConv2DAdd';

/**
 * Whether conv node `n` is NHWC and its epilogue operands (bias, prelu slope) are absent, one
 * value, or one per output channel: the native conv then takes them in its epilogue, never
 * indexed by position (what writing in place needs).
 */
function convEpilogueByChannel(g: Graph, n: Node): boolean {
  if (n.attrs.dataFormat != null && n.attrs.dataFormat !== 'NHWC') return false;
  const names = n.inputNames ?? [];
  const oc = g.value(n.outputs[0]).shape[3];
  for (const k of ['bias', 'preluActivationWeights']) {
    const i = names.indexOf(k);
    if (i < 0) continue;
    const s = g.value(n.inputs[i]).shape, size = s.reduce((a, b) => a * b, 1);
    if (size !== 1 && !(s[s.length - 1] === oc && size === oc)) return false;
  }
  return true;
}

/** The input of a RESIDUAL_OP node its output may overwrite: the addend (see convEpilogueByChannel), else none. */
function residualInPlaceInput(g: Graph, n: Node): ValueId[] {
  const i = (n.inputNames ?? []).indexOf('addend');
  return i >= 0 && convEpilogueByChannel(g, n) ? [n.inputs[i]] : [];
}

/** Our own fused ops ('ab.*'): implementations the executor calls like kernels. */
export type GraphOpImpl = (args: {inputs: TensorInfo[], attrs: {[k: string]: unknown}, backend: MathBackendCPU,
                                  /** The node's input names (null when it has none). */
                                  names: string[]|null}) => TensorInfo[];
const graphOps = new Map<string, GraphOpImpl>();

export function registerGraphOp(name: string, impl: GraphOpImpl): void {
  if (!name.startsWith('ab.')) throw new IrError(`graph op '${name}': our own ops are named 'ab.*'`);
  graphOps.set(name, impl);
}

interface Step {
  op: string;
  run: (inputs: TensorInfo[]) => TensorInfo[];
  inputs: ValueId[];
  outputs: ValueId[];
  /** Values whose last reader is this step: freed right after it. */
  frees: ValueId[];
}

/** A function running node `op` (a registered kernel or one of our graph ops) on input TensorInfos. */
export function kernelRunner(backend: MathBackendCPU, op: string, inputNames: string[]|null, attrs: object): (ins: TensorInfo[]) => TensorInfo[] {
  const impl = graphOps.get(op);
  if (impl != null) return (ins) => impl({inputs: ins, attrs: attrs as {[k: string]: unknown}, backend, names: inputNames});
  const k = getKernel(op, BACKEND_NAME);
  if (k == null) throw new IrError(`no kernel '${op}' is registered for '${BACKEND_NAME}' and it is not a graph op`);
  const fn = k.kernelFunc as unknown as (a: {inputs: NamedTensorInfoMap, attrs: object, backend: MathBackendCPU}) => TensorInfo|TensorInfo[];
  return (ins) => {
    let inputs: NamedTensorInfoMap;
    if (inputNames == null) {
      inputs = ins as unknown as NamedTensorInfoMap;
    } else {
      inputs = {};
      for (let i = 0; i < ins.length; ++i) inputs[inputNames[i]] = ins[i];
    }
    const out = fn({inputs, attrs, backend});
    return Array.isArray(out) ? out : [out];
  };
}

/** Elementwise kernels that may write their output over an input of the same shape (out === x). */
const IN_PLACE_OPS = new Set(['Relu', 'Relu6', 'Elu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Sqrt', 'Rsqrt',
  'Square', 'Neg', 'Abs', 'Erf', 'ClipByValue', 'Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum',
  'SquaredDifference', 'Prelu']);

/**
 * NHWC row ops whose native kernel may write the output over its input (out === x, output rows no
 * more and no longer than the input's, same channels — for a depthwise conv, channel multiplier 1):
 * the output's rows are written back once no later output row reads the input they cover
 * (pooling: native/ops/inplace_rows.h; depthwise: native/ops/depthwise.cc).
 */
const ROW_IN_PLACE_OPS = new Set(['MaxPool', 'AvgPool', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2D']);

/** Whether `out` (NHWC) fits over `x` row by row: same batch and channels, no more rows, no longer rows. */
function fitsRowByRow(x: number[], out: number[]): boolean {
  return x.length === 4 && out.length === 4 && out[0] === x[0] && out[3] === x[3] && out[1] <= x[1] && out[2] <= x[2];
}

/**
 * A convolution written over its input x (native/ops/conv2d_inplace.h): NHWC, output rows no more
 * and no longer (out_w * out_c floats) than x's, bias and prelu slope one value or one per channel.
 */
function convInPlaceInput(g: Graph, n: Node): ValueId[] {
  const xi = (n.inputNames ?? []).indexOf('x');
  if (xi < 0 || !convEpilogueByChannel(g, n)) return [];
  const x = g.value(n.inputs[xi]).shape, out = g.value(n.outputs[0]).shape;
  if (x.length !== 4 || out.length !== 4 || out[0] !== x[0] || out[1] > x[1] || out[2] * out[3] > x[2] * x[3]) return [];
  return [n.inputs[xi]];
}
const CONV_IN_PLACE_OPS = new Set(['Conv2D', 'FusedConv2D']);

export interface ExecutorOptions {
  /** Constants already written to the backend, shared with other executors (their owner frees them, not dispose()). */
  constants?: Map<ValueId, TensorInfo>;
  /** The first (probe) run checks each node's output shapes and dtypes against the graph's (an instantiated graph, generalize.ts). */
  checkShapes?: boolean;
  /**
   * Graph inputs that are state (compile's `donate`): a graph output that is ab.updateSlice of one
   * (its last reader) is written in place into the native plan's buffer for it, and returned over
   * that buffer; passed back as the input, it is not copied in, and is consumed (disposed).
   */
  donate?: number[];
}

export class Executor {
  readonly graph: Graph;
  private backend: MathBackendCPU;
  private steps: Step[] = [];
  private constInfos = new Map<ValueId, TensorInfo>();
  private disposed = false;
  /**
   * 'probe': the first run allocates as eager does and records which outputs are views of an
   * input's data (Reshape, contiguous Slice, Identity); 'arena': later runs write intermediates
   * into one planned arena; 'fresh': arena off (AFTERBURNER_GRAPH_ARENA=0, or nothing to plan).
   */
  private mode: 'probe'|'arena'|'fresh';
  /** value -> the value whose memory it views (alias groups; the root owns the memory). */
  private aliasOf = new Map<ValueId, ValueId>();
  private arena: Float32Array|null = null;
  private views = new Map<ValueId, Float32Array>();
  arenaBytes = 0;
  /**
   * The native executor (src/graph/native-plan.ts): captured in the first run after the probe,
   * then each run replays it; null before that, or when off (AFTERBURNER_GRAPH_NATIVE=0, a graph
   * with string or complex values, or a capture that failed).
   */
  private nplan: NativePlan|null = null;
  private nativeOff: boolean;
  private checkShapes: boolean;
  private ownsConstants: boolean;
  /** Step index -> the graph input whose plan buffer it writes in place (donated state). */
  private inPlace = new Map<number, number>();

  constructor(graph: Graph, opts: ExecutorOptions = {}) {
    this.graph = graph;
    const be = engine().findBackend(BACKEND_NAME) as unknown as MathBackendCPU|null;
    if (be == null) throw new IrError(`the '${BACKEND_NAME}' backend is not available`);
    this.backend = be;
    this.mode = (typeof process !== 'undefined' && process.env.AFTERBURNER_GRAPH_ARENA === '0') ? 'fresh' : 'probe';
    this.nativeOff = this.mode === 'fresh' || !nativePlansEnabled() || !planEligible(graph);
    this.checkShapes = opts.checkShapes ?? false;
    this.findInPlace(graph, opts.donate ?? []);
    this.ownsConstants = opts.constants == null;
    if (opts.constants != null) this.constInfos = new Map(opts.constants);
    else for (const [id, data] of graph.constants) {
      const v = graph.value(id);
      const dataId = be.write(data as never, v.shape, v.dtype) as DataId;
      this.constInfos.set(id, {dataId, shape: v.shape, dtype: v.dtype});
    }
    // Liveness: the last step reading each intermediate value frees it (graph outputs never).
    const lastRead = graph.lastReads();
    const keep = new Set(graph.outputs);
    this.steps = graph.nodes.map((n, i) => ({
      op: n.op,
      run: kernelRunner(be, n.op, n.inputNames, n.attrs),
      inputs: n.inputs,
      outputs: n.outputs,
      frees: [] as ValueId[],
    }));
    graph.nodes.forEach((n, i) => {
      for (const v of n.outputs) {
        if (keep.has(v)) continue;
        const last = lastRead.get(v);
        // An output nobody reads is freed right after the node that makes it.
        this.steps[last ?? i].frees.push(v);
      }
    });
  }

  /** The backend TensorInfo of constant `v` (written once, when the executor was made). */
  constantInfo(v: ValueId): TensorInfo|undefined {
    return this.constInfos.get(v);
  }

  /**
   * State steps: ab.updateSlice ('AbUpdateSlice') of a donated graph input that is its last reader
   * (nothing reads the old state after the write), whose output is a graph output: the native plan
   * writes it in place (later readers of the output read the buffer, which holds the new state).
   */
  private findInPlace(g: Graph, donate: number[]): void {
    if (donate.length === 0) return;
    const last = g.lastReads();
    g.nodes.forEach((n, si) => {
      if (n.op !== 'AbUpdateSlice' || n.outputs.length !== 1) return;
      const x = n.inputs[n.inputNames?.indexOf('x') ?? 0];
      const i = g.inputs.indexOf(x);
      const out = n.outputs[0];
      if (i < 0 || !donate.includes(i) || last.get(x) !== si) return;
      if (g.inputs.filter((v) => v === x).length !== 1 || g.outputs.filter((v) => v === out).length !== 1) return;
      if ([...this.inPlace.values()].includes(i)) return;
      this.inPlace.set(si, i);
    });
  }

  /** Graph output index -> donated input index, for the steps written in place. */
  stateOutputs(): Map<number, number> {
    const m = new Map<number, number>();
    for (const [si, i] of this.inPlace) m.set(this.graph.outputs.indexOf(this.graph.nodes[si].outputs[0]), i);
    return m;
  }

  arenaMode(): 'probe'|'arena'|'fresh' {
    return this.mode;
  }

  /** Bytes held by the graph's constants (written once). */
  constantBytes(): number {
    let b = 0;
    for (const [, data] of this.graph.constants) b += (data as ArrayLike<number> & {byteLength?: number}).byteLength ?? 0;
    return b;
  }

  /** While profiling: milliseconds per step of the interpreted runs, and the runs counted. */
  private prof: {ms: Float64Array, runs: number, native: boolean}|null = null;

  /** Starts timing every node of the runs to come (the native plan's timing starts at its next run). */
  startProfile(): void {
    this.prof = {ms: new Float64Array(this.steps.length), runs: 0, native: false};
  }

  /** Stops timing: milliseconds per step summed over the runs since startProfile(), and the runs. */
  stopProfile(): {ms: Float64Array, runs: number, native: boolean}|null {
    const pr = this.prof;
    this.prof = null;
    if (pr == null) return null;
    if (this.nplan != null && this.nplan.profiling()) {
      const ms = this.nplan.stopProfile();
      for (let i = 0; i < ms.length; ++i) pr.ms[i] += ms[i];
    }
    return pr;
  }

  isProfiling(): boolean {
    return this.prof != null;
  }

  /** The native plan's kind of each step (native / view / js), or null when there is no plan. */
  nodeKinds(): readonly string[]|null {
    return this.nplan != null ? this.nplan.kinds : null;
  }

  /** Counts a run while profiling; starts the native plan's timing when it was made after startProfile(). */
  private profiled(p: NativePlan|null): void {
    if (this.prof == null) return;
    ++this.prof.runs;
    if (p != null) {
      this.prof.native = true;
      if (!p.profiling()) p.startProfile();
    }
  }

  /** Which runner the next run uses: 'interpreter' (probe, arena or capture run) or 'native'. */
  runner(): 'interpreter'|'native' {
    return this.nplan != null && this.nplan.current() ? 'native' : 'interpreter';
  }

  /** The native plan's node kinds and segments (null before the capture run, or when off). */
  nativeStats(): ReturnType<NativePlan['stats']>|null {
    return this.nplan != null ? this.nplan.stats() : null;
  }

  private checkInputs(inputs: Tensor[]): void {
    if (this.disposed) throw new IrError('the compiled graph was disposed');
    const g = this.graph;
    if (!Array.isArray(inputs) || inputs.length !== g.inputs.length) {
      throw new IrError(`expected ${g.inputs.length} inputs, got ${Array.isArray(inputs) ? inputs.length : typeof inputs}`);
    }
    g.inputs.forEach((v, i) => {
      const t = inputs[i], want = g.value(v);
      if (!(t instanceof Tensor)) throw new IrError(`input ${i} is not a Tensor`);
      if (t.isDisposed) throw new IrError(`input ${i} is disposed`);
      if (t.dtype !== want.dtype || t.shape.length !== want.shape.length || t.shape.some((d, j) => d !== want.shape[j])) {
        throw new IrError(`input ${i} is ${t.dtype}[${t.shape}], the graph takes ${want.dtype}[${want.shape}]`);
      }
    });
  }

  /** The native plan if it is valid for this run; a plan captured at another ISA level is dropped. */
  private currentPlan(): NativePlan|null {
    const p = this.nplan;
    if (p == null || p.current()) return p;
    if (p.busy()) throw new IrError('the ISA level changed while an async run of this compiled plan is in flight');
    p.free();
    this.nplan = null;  // the next run captures again, at the new level
    return null;
  }

  /** Runs the graph on `inputs` (shapes and dtypes as the graph's inputs) and returns new Tensors. */
  run(inputs: Tensor[]): Tensor[] {
    this.checkInputs(inputs);
    if (this.nplan != null && this.nplan.busy()) {
      throw new IrError('a compiled plan cannot run synchronously while an async run of it is in flight (await it first)');
    }
    // While a tracer observes (a compiled function inside a traced one), the kernels run.
    const p = observing() ? null : this.currentPlan();
    this.profiled(p);
    if (p != null) return p.run(inputs);
    return this.interpret(inputs);
  }

  /**
   * run() with the native segments on a libuv worker, so the event loop stays free; runs of one
   * plan queue. The first runs (probe and capture) are synchronous.
   */
  async runAsync(inputs: Tensor[]): Promise<Tensor[]> {
    this.checkInputs(inputs);
    if (this.nplan != null && (observing() || !this.nplan.current()) && this.nplan.busy()) await this.nplan.idle();
    const p = observing() ? null : this.currentPlan();
    this.profiled(p);
    if (p != null) return p.runAsync(inputs);
    return this.interpret(inputs);
  }

  private interpret(inputs: Tensor[]): Tensor[] {
    const g = this.graph;
    const be = this.backend;
    const env = new Map<ValueId, TensorInfo>(this.constInfos);
    let cap: Capture|null = null;
    // The capture run: the first after the probe (in the arena, or fresh arrays when nothing was planned).
    if (!this.nativeOff && this.mode !== 'probe' && this.nplan == null && !observing() && !Capture.active) {
      const homes = constantHomes(be, this.constInfos);
      if (homes == null) this.nativeOff = true;
      else cap = new Capture(g, be, this.steps, this.constInfos, homes);
    }
    try {
      g.inputs.forEach((v, i) => {
        const t = inputs[i];
        env.set(v, cap != null ? cap.input(i, v, t) : {dataId: t.dataId, shape: t.shape, dtype: t.dtype});
      });
    } catch (e) {
      if (cap != null) {
        cap.end(false);
        this.nativeOff = true;
      }
      throw e;
    }
    const owned = new Set<ValueId>();
    const mode = this.mode;
    const valuesOf = (info: TensorInfo) => be.data.get(info.dataId)?.values as ArrayBufferView|undefined;
    let handOut: Float32Array|null = null;
    if (mode === 'arena' || cap != null) setOutputAllocator((n) => {
      const v = handOut;
      if (v == null || v.length !== n) return null;
      handOut = null;  // once per node: a second allocation (a temporary, a second step) is fresh
      return v;
    });
    try {
      for (let si = 0; si < this.steps.length; ++si) {
        const s = this.steps[si];
        const ins = s.inputs.map((v) => env.get(v)!);
        handOut = mode === 'arena' ? this.views.get(s.outputs[0]) ?? null : null;
        // Donated state: the plan's buffer for the input becomes the output (written in place).
        if (cap != null && this.inPlace.has(si)) {
          const h = cap.plan.homes.get(g.inputs[this.inPlace.get(si)!]);
          handOut = h instanceof Float32Array ? h : null;
        }
        cap?.beforeStep();
        const t0 = this.prof != null ? performance.now() : 0;
        const outs = s.run(ins);
        if (this.prof != null) this.prof.ms[si] += performance.now() - t0;
        if (outs.length !== s.outputs.length) throw new IrError(`${s.op} returned ${outs.length} outputs, the graph expects ${s.outputs.length}`);
        cap?.afterStep(si, ins, outs);
        s.outputs.forEach((v, i) => {
          env.set(v, outs[i]);
          owned.add(v);
        });
        if (mode === 'probe') {
          if (this.checkShapes) checkOutputs(g, s.op, s.outputs, outs);
          // Which outputs view the data of an input (same buffer)?
          s.outputs.forEach((v, i) => {
            const buf = valuesOf(outs[i])?.buffer;
            const k = ins.findIndex((t) => valuesOf(t)?.buffer === buf);
            if (buf != null && k >= 0) this.aliasOf.set(v, s.inputs[k]);
          });
        } else if (mode === 'arena') {
          // A view of arena memory must be the slot handed out or a planned alias: anything else
          // would be overwritten while alive.
          s.outputs.forEach((v, i) => {
            const vals = valuesOf(outs[i]);
            if (vals?.buffer !== this.arena!.buffer || vals === this.views.get(v)) return;
            if (!this.aliasOf.has(v)) throw new IrError(`${s.op}: an output views arena memory the plan did not give it`);
          });
        }
        for (const v of s.frees) {
          be.disposeData(env.get(v)!.dataId);
          owned.delete(v);
        }
      }
    } catch (e) {
      for (const v of owned) be.disposeData(env.get(v)!.dataId);
      if (cap != null) {
        cap.end(false);
        this.nativeOff = true;  // keep interpreting
      }
      throw e;
    } finally {
      if (mode === 'arena' || cap != null) setOutputAllocator(null);
    }
    if (mode === 'probe') this.planArena();
    if (cap != null) {
      // The capture run's outputs are copied out (their arrays are the plan's homes).
      const e = engine();
      const res = g.outputs.map((v) => {
        const info = env.get(v)!;
        const vals = be.data.get(info.dataId).values as Float32Array;
        return e.makeTensorFromTensorInfo(be.makeTensorInfo(info.shape, info.dtype, vals.slice() as never), be as never);
      });
      for (const v of owned) be.disposeData(env.get(v)!.dataId);
      this.nplan = cap.end(true);
      if (this.nplan == null) this.nativeOff = true;  // the capture failed: keep interpreting
      else this.nplan.setState(this.stateOutputs());
      return res;
    }
    // Each kernel output holds one reference; a graph output read twice, or one that is an input
    // or a constant, takes another.
    const e = engine();
    return g.outputs.map((v) => {
      let info = env.get(v)!;
      const vals = valuesOf(info);
      if (this.arena != null && vals != null && vals.buffer === this.arena.buffer) {
        // A graph output that views arena memory (a reshape of an intermediate): copied out.
        info = be.makeTensorInfo(info.shape, info.dtype, (vals as Float32Array).slice() as never);
        if (owned.has(v)) {
          be.disposeData(env.get(v)!.dataId);
          owned.delete(v);
        }
        return e.makeTensorFromTensorInfo(info, be as never);
      }
      if (owned.has(v)) owned.delete(v);
      else be.incRef(info.dataId);
      return e.makeTensorFromTensorInfo(info, be as never);
    });
  }

  /**
   * After the probe run: plans the arena. A view and the value it views share one region, alive
   * as long as any of them is; graph outputs, inputs and constants (and views of them) stay out.
   */
  private planArena(): void {
    const g = this.graph;
    const outs = new Set(g.outputs);
    // Writing a conv over its input saves its output's bytes at that node but merges the two
    // lifetimes into one slot, which can place worse elsewhere: the plan is made with and without
    // convs in place, and the smaller arena kept.
    const withConvs = this.inPlaceValues(outs, true), without = this.inPlaceValues(outs, false);
    const variants = withConvs.size > without.size ? [withConvs, without] : [without];
    let best: {inPlaceOf: Map<ValueId, ValueId>, plan: ReturnType<typeof planMemory>, root: (v: ValueId) => ValueId}|null = null;
    for (const inPlaceOf of variants) {
      const root = (v: ValueId): ValueId => {
        let r = v;
        for (;;) {
          const next = this.aliasOf.get(r) ?? inPlaceOf.get(r);
          if (next == null) return r;
          r = next;
        }
      };
      const plan = planMemory(g, {
        group: root,
        // A view lies within what it views; an in-place output (from the slot's start) is its own
        // size: after a pooling written over its input, the slot holds only the pooled rows.
        memberBytes: (v) => {
          let w = v;
          while (this.aliasOf.has(w)) w = this.aliasOf.get(w)!;
          return valueBytes(g, w);
        },
        // Float32 node outputs only (the kernels' newOutput hands out float32 arrays).
        eligible: (v) => g.value(v).dtype === 'float32' && !outs.has(v) && g.value(v).kind === 'node',
      });
      if (best == null || plan.arenaBytes < best.plan.arenaBytes) best = {inPlaceOf, plan, root};
    }
    const {inPlaceOf, plan, root} = best!;
    this.arenaBytes = plan.arenaBytes;
    if (plan.slots.size === 0 || plan.arenaBytes === 0) {
      this.mode = 'fresh';
      return;
    }
    // On a cache-line boundary (slot offsets are multiples of 64 bytes, so every intermediate starts
    // on one too): a 16-float vector load or store then never straddles two lines (V8 places its
    // own large arrays 16 bytes into a line). AFTERBURNER_ALIGNED_ARENA=0: a plain array.
    const n = plan.arenaBytes / 4;
    const aligned = typeof process !== 'undefined' && process.env.AFTERBURNER_ALIGNED_ARENA === '0' ? null : native?.alignedF32(n) ?? null;
    this.arena = aligned ?? new Float32Array(n);
    for (const [v, slot] of plan.slots) {
      if (root(v) !== v) continue;  // views get their memory from their root's kernel
      this.views.set(v, this.arena.subarray(slot.offset / 4, (slot.offset + slot.bytes) / 4));
    }
    // An in-place output is handed its input's region (the kernel writes over the input it reads).
    // (a smaller output, a pooling's, takes the region's start).
    for (const v of inPlaceOf.keys()) {
      const r = this.views.get(root(v));
      const n = g.value(v).shape.reduce((a, b) => a * b, 1);
      if (r != null) this.views.set(v, r.length === n ? r : r.subarray(0, n));
    }
    this.mode = 'arena';
  }

  /**
   * In place: the output of an elementwise op (unary, or binary with the output's shape) may take
   * the arena region of an input of the same shape whose last reader it is, when nothing else views
   * that input (the kernels allow out === input). Arena peaks drop below eager's, where each op
   * needs its input and its output alive at once. AFTERBURNER_GRAPH_INPLACE=0 turns it off.
   */
  private inPlaceValues(outs: Set<ValueId>, convs: boolean): Map<ValueId, ValueId> {
    const m = new Map<ValueId, ValueId>();
    if (typeof process !== 'undefined' && process.env.AFTERBURNER_GRAPH_INPLACE === '0') return m;
    const g = this.graph, last = g.lastReads();
    const viewed = new Set(this.aliasOf.values()), taken = new Set<ValueId>();
    g.nodes.forEach((n, si) => {
      const rowOp = ROW_IN_PLACE_OPS.has(n.op), convOp = convs && CONV_IN_PLACE_OPS.has(n.op);
      if ((!IN_PLACE_OPS.has(n.op) && !rowOp && !convOp && n.op !== RESIDUAL_OP) || n.outputs.length !== 1) return;
      const out = n.outputs[0], ov = g.value(out);
      if (ov.dtype !== 'float32' || outs.has(out) || this.aliasOf.has(out)) return;
      // A conv with its residual add writes over the addend only (never over x or the weights),
      // and only where the native epilogue takes the addend (bias and prelu slope per channel).
      // A row op (pooling, depthwise conv) writes over its x input.
      // A conv whose output rows fit over x's writes over x.
      const candidates = n.op === RESIDUAL_OP ? residualInPlaceInput(g, n) : rowOp ? [n.inputs[0]] :
                         convOp ? convInPlaceInput(g, n) : n.inputs;
      for (const x of candidates) {
        const xv = g.value(x);
        if (xv.kind !== 'node' || xv.dtype !== 'float32' || outs.has(x) || this.aliasOf.has(x) || viewed.has(x) || taken.has(x)) continue;
        const fits = rowOp ? fitsRowByRow(xv.shape, ov.shape) : convOp ? true : util.arraysEqual(xv.shape, ov.shape);
        if (!fits || last.get(x) !== si || n.inputs.filter((y) => y === x).length !== 1) continue;
        m.set(out, x);
        taken.add(x);
        break;
      }
    });
    return m;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.nplan?.free();
    this.nplan = null;
    this.arena = null;
    this.views.clear();
    if (this.ownsConstants) for (const [, info] of this.constInfos) this.backend.disposeData(info.dataId);
    this.constInfos.clear();
  }
}

/** Throws unless each output has the shape and dtype the graph gives it. */
function checkOutputs(g: Graph, op: string, vs: ValueId[], outs: TensorInfo[]): void {
  vs.forEach((v, i) => {
    const want = g.value(v), got = outs[i];
    if (got.dtype !== want.dtype || got.shape.length !== want.shape.length || got.shape.some((d, j) => d !== want.shape[j])) {
      throw new IrError(`shape check: ${op} made ${got.dtype}[${got.shape}], the graph says ${want.dtype}[${want.shape}]`);
    }
  });
}

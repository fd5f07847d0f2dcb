// SPDX-License-Identifier: Apache-2.0
// The native executor: a compiled graph run as segments of captured native calls.
//
// One run of the executor (the first arena run) is a *capture* run: the addon's compute functions
// run as usual and, in capture mode (native/addon/capture.h), also append a copy of each call with
// its validated arguments to a native plan. Every value gets a *home*, an array that stays put
// across runs: graph inputs get plan-owned buffers (the caller's data is copied in at each run),
// constants and arena views are stable already, and any other value keeps the array the capture
// run made for it. Each node is then classified:
//   native  it made >= 1 captured call and computed nothing in JS (kernel-utils' jsCompute: the
//           cpu fallbacks, conversions, JS reads of non-constant data): replayed natively;
//   view    it made no call and its outputs lie inside an input's memory (Reshape, contiguous
//           Slice): nothing to do, the view sees its input's home;
//   js      anything else: its captured calls are dropped; at replay its kernel runs from JS on
//           TensorInfos over its inputs' homes, and its outputs are copied into their homes.
// JS nodes end segments; a replay runs the segments with one native call each (planRun), or on a
// libuv worker (planRunAsync), with the JS nodes between them on the main thread. A native call may
// ask at replay for its node to run in JS (TopK over NaN/Inf: kRunInJs): the segment stops before
// it, the node runs from JS, and the segment resumes after the node's calls. Graph outputs are
// copied out of their homes into fresh arrays.
import {engine, Tensor} from '@tensorflow/tfjs-core';
import type {DataId, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {native, NativePlanHandle} from '../binding';
import {jsCompute, setOutputAllocator} from '../backend/kernel-utils';
import {currentIsaLevel} from '../backend/weight-cache';
import {Graph, IrError, ValueId} from './ir';
import {retain as retainArray} from '../backend/output-pool';

export type Home = Float32Array|Int32Array|Uint8Array;

/** What the plan needs of the executor's steps. */
export interface PlanStep {
  op: string;
  run: (inputs: TensorInfo[]) => TensorInfo[];
  inputs: ValueId[];
  outputs: ValueId[];
}

export type NodeKind = 'native'|'view'|'js';

/** Test-only switches (test/graph-native.test.mjs). */
export const nativePlanTesting = {
  /** Skip the JS nodes at replay (their outputs keep the capture run's values): must fail tests. */
  staleJsNodes: false,
};

function homeFor(dtype: string, n: number): Home|null {
  if (dtype === 'float32') return new Float32Array(n);
  if (dtype === 'int32') return new Int32Array(n);
  if (dtype === 'bool') return new Uint8Array(n);
  return null;
}

function isHome(v: unknown): v is Home {
  return v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array;
}

/** Whether `inner`'s memory lies inside `outer`'s (an empty inner array always does). */
function inside(inner: ArrayBufferView, outer: ArrayBufferView): boolean {
  if (inner.byteLength === 0) return true;
  return inner.buffer === outer.buffer && inner.byteOffset >= outer.byteOffset &&
      inner.byteOffset + inner.byteLength <= outer.byteOffset + outer.byteLength;
}

/** Whether native plans are wanted (AFTERBURNER_GRAPH_NATIVE=0 keeps the JS interpreter). */
export function nativePlansEnabled(): boolean {
  return native != null && !(typeof process !== 'undefined' && process.env.AFTERBURNER_GRAPH_NATIVE === '0');
}

/** Whether a graph can run as a native plan: every value a float32, int32 or bool array. */
export function planEligible(g: Graph): boolean {
  for (const id of g.values.keys()) {
    const d = g.value(id).dtype;
    if (d !== 'float32' && d !== 'int32' && d !== 'bool') return false;
  }
  return true;
}

/**
 * The capture run's bookkeeping; the executor calls it around each step. On any failure the
 * executor drops it (free()) and keeps interpreting.
 */
export class Capture {
  /** Whether a capture is in progress (one at a time in the process). */
  static active = false;
  readonly plan: NativePlan;
  /** Why this capture cannot make a plan (the run itself goes on), or null. */
  failed: string|null = null;
  private n0 = 0;
  private j0 = 0;
  private tempInputs: DataId[] = [];

  private readonly constIds: Set<DataId>;

  constructor(g: Graph, private readonly be: MathBackendCPU, steps: PlanStep[], constInfos: Map<ValueId, TensorInfo>,
              constHomes: Map<ValueId, Home>) {
    this.constIds = new Set([...constInfos.values()].map((i) => i.dataId));
    this.plan = new NativePlan(g, be, steps, constInfos, constHomes);
    native!.captureBegin(this.plan.handle);
    Capture.active = true;
  }

  /** Graph input i's TensorInfo for the capture run: a plan-owned copy of t's data. */
  input(i: number, v: ValueId, t: Tensor): TensorInfo {
    const home = this.plan.inputHome(i, v, t);
    const dataId = this.be.write(home, t.shape, t.dtype) as DataId;
    this.tempInputs.push(dataId);
    return {dataId, shape: t.shape, dtype: t.dtype};
  }

  beforeStep(): void {
    this.n0 = native!.planSize(this.plan.handle);
    this.j0 = jsCompute.count;
    jsCompute.reads = [];
  }

  afterStep(index: number, ins: TensorInfo[], outs: TensorInfo[]): void {
    const step = this.plan.steps[index];
    const n1 = native!.planSize(this.plan.handle);
    const reads = jsCompute.reads ?? [];
    jsCompute.reads = null;
    if (this.failed != null) return;
    const homes = outs.map((o) => this.be.data.get(o.dataId)?.values);
    if (!homes.every(isHome)) {
      this.failed = `${step.op}: an output is not stored in a typed array`;
      return;
    }
    step.outputs.forEach((v, i) => {
      this.plan.homes.set(v, homes[i] as Home);
      retainArray(homes[i]);  // the plan writes it on every replay: the eager output pool must never reuse it
    });
    const inHomes = ins.map((t) => this.be.data.get(t.dataId)?.values as ArrayBufferView|undefined);
    const views = homes.map((h) => inHomes.some((x) => x != null && inside(h as Home, x)));
    step.outputs.forEach((v, i) => {
      if (views[i]) this.plan.viewValues.add(v);
    });
    let kind: NodeKind;
    if (n1 === this.n0 && views.every((x) => x)) {
      kind = 'view';
    } else if (jsCompute.count !== this.j0 || reads.some((t) => !this.constIds.has(t.dataId)) || n1 === this.n0) {
      kind = 'js';
    } else {
      kind = 'native';
    }
    if (kind === 'js') {
      native!.planTruncate(this.plan.handle, this.n0);
      this.plan.jsSteps.push({step: index, at: this.n0});
    } else if (kind === 'native') {
      this.plan.nativeCalls.push({step: index, begin: this.n0, end: n1});
    }
    this.plan.kinds.push(kind);
  }

  /** Ends the capture; the plan is ready (ok) or freed. Disposes the capture run's input infos. */
  end(ok: boolean): NativePlan|null {
    native!.captureEnd();
    Capture.active = false;
    ok = ok && this.failed == null;
    jsCompute.reads = null;
    for (const d of this.tempInputs) this.be.disposeData(d);
    this.tempInputs = [];
    if (!ok) {
      this.plan.free();
      return null;
    }
    this.plan.finish();
    return this.plan;
  }
}

export class NativePlan {
  readonly handle: NativePlanHandle;
  /** Every value's array (inputs, constants, node outputs). */
  readonly homes = new Map<ValueId, Home>();
  readonly kinds: NodeKind[] = [];
  /** Values whose home lies inside an input's (views): never handed to a kernel as its output. */
  readonly viewValues = new Set<ValueId>();
  /** JS steps, in order, with the plan call index they run at. */
  readonly jsSteps: {step: number, at: number}[] = [];
  /** Native steps, in order, with their calls [begin, end). */
  readonly nativeCalls: {step: number, begin: number, end: number}[] = [];
  /** Native nodes run from JS because a call of theirs asked for it at replay (TopK over NaN/Inf). */
  deferredRuns = 0;
  private inputHomes: Home[] = [];
  private total = 0;
  readonly isa: string;
  private queue: Promise<unknown> = Promise.resolve();
  private pendingAsync = 0;
  private freed = false;

  constructor(private readonly g: Graph, private readonly be: MathBackendCPU, readonly steps: PlanStep[],
              private readonly constInfos: Map<ValueId, TensorInfo>, constHomes: Map<ValueId, Home>) {
    this.handle = native!.planNew();
    this.isa = currentIsaLevel(native!);
    for (const [v, h] of constHomes) this.homes.set(v, h);
  }

  inputHome(i: number, v: ValueId, t: Tensor): Home {
    const home = homeFor(t.dtype, t.size);
    if (home == null) throw new IrError(`input ${i}: dtype ${t.dtype} has no native home`);
    home.set(this.be.data.get(t.dataId).values as ArrayLike<number>);
    this.inputHomes[i] = home;
    this.homes.set(v, home);
    return home;
  }

  finish(): void {
    this.total = native!.planSize(this.handle);
  }

  /** Calls, and nodes by kind, for summaries and tests. */
  stats(): {calls: number, native: number, view: number, js: number, segments: number, jsOps: string[]} {
    const c = (k: NodeKind) => this.kinds.filter((x) => x === k).length;
    let segments = 0, pos = 0;
    for (const j of this.jsSteps) {
      if (j.at > pos) ++segments;
      pos = j.at;
    }
    if (this.total > pos) ++segments;
    return {calls: this.total, native: c('native'), view: c('view'), js: c('js'), segments,
            jsOps: [...new Set(this.jsSteps.map((j) => this.steps[j.step].op))].sort()};
  }

  /** Whether the plan is still valid for this run (the ISA level it dispatched at is unchanged). */
  current(): boolean {
    return !this.freed && currentIsaLevel(native!) === this.isa;
  }

  busy(): boolean {
    return this.pendingAsync > 0;
  }

  /** Settles when the queued async runs have. */
  idle(): Promise<unknown> {
    return this.queue;
  }

  /** Graph output index -> donated input index (state written in place: Executor.findInPlace). */
  private state = new Map<number, number>();
  /** Per donated input: the tensor last returned over its buffer (valid until the buffer is written again). */
  private lastState = new Map<number, Tensor>();

  setState(state: Map<number, number>): void {
    this.state = state;
  }

  private copyIn(inputs: Tensor[]): void {
    for (const i of this.state.values()) {
      const held = this.lastState.get(i);
      // A state tensor this plan returned, still alive and not passed back now: give it its own copy
      // before the buffer is overwritten (it stays what it was).
      if (held != null && !held.isDisposed && held !== inputs[i]) {
        const d = this.be.data.get(held.dataId);
        d.values = (d.values as Home).slice() as never;
      }
    }
    inputs.forEach((t, i) => {
      const vals = this.be.data.get(t.dataId).values;
      if (vals !== this.inputHomes[i]) this.inputHomes[i].set(vals as ArrayLike<number>);
    });
  }

  /** After a run: a state tensor passed back as its input is consumed (it now aliases the new state). */
  private consume(inputs: Tensor[]): void {
    for (const i of this.state.values()) {
      const t = inputs[i];
      if (!t.isDisposed && this.be.data.get(t.dataId).values === this.inputHomes[i]) t.dispose();
    }
  }

  private runJs(index: number): void {
    const be = this.be, step = this.steps[index];
    if (nativePlanTesting.staleJsNodes) return;
    const temps: DataId[] = [];
    const ins = step.inputs.map((v) => {
      const c = this.constInfos.get(v);
      if (c != null) return c;  // the executor's (stable dataIds: the weight cache keys by them)
      const val = this.g.value(v);
      const dataId = be.write(this.homes.get(v)!, val.shape, val.dtype) as DataId;
      temps.push(dataId);
      return {dataId, shape: val.shape, dtype: val.dtype} as TensorInfo;
    });
    // The kernel may write its float32 output straight into its home.
    let handOut: Home|null = this.viewValues.has(step.outputs[0]) ? null : this.homes.get(step.outputs[0]) ?? null;
    setOutputAllocator((n) => {
      const h = handOut;
      handOut = null;
      return h instanceof Float32Array && h.length === n ? h : null;
    });
    let outs: TensorInfo[];
    try {
      outs = step.run(ins);
    } catch (e) {
      for (const d of temps) be.disposeData(d);
      throw e;
    } finally {
      setOutputAllocator(null);
    }
    try {
      step.outputs.forEach((v, i) => {
        const vals = be.data.get(outs[i].dataId).values as ArrayLike<number>;
        const home = this.homes.get(v)!;
        if (vals !== home) {
          if ((vals as ArrayLike<number>).length !== home.length) throw new IrError(`${step.op}: output ${i} changed size`);
          home.set(vals);
        }
      });
    } finally {
      for (const o of outs) be.disposeData(o.dataId);
      for (const d of temps) be.disposeData(d);
    }
  }

  private outputs(): Tensor[] {
    const e = engine();
    return this.g.outputs.map((v, o) => {
      const val = this.g.value(v);
      const i = this.state.get(o);
      const home = this.homes.get(v)!;
      const info = this.be.makeTensorInfo(val.shape, val.dtype, (i != null ? home : home.slice()) as never);
      const t = e.makeTensorFromTensorInfo(info, this.be as never);
      if (i != null) this.lastState.set(i, t);
      return t;
    });
  }

  /**
   * A call at replay asked for its node to run in JS (its data is a case the native op leaves to the
   * cpu kernel, native/addon/capture.h kRunInJs): runs that node from JS; returns the index of the
   * first call after the node's.
   */
  private runDeferred(at: number): number {
    let lo = 0, hi = this.nativeCalls.length - 1;
    while (lo < hi) {  // the last node whose calls begin at or before `at`
      const mid = (lo + hi + 1) >> 1;
      if (this.nativeCalls[mid].begin <= at) lo = mid;
      else hi = mid - 1;
    }
    const s = this.nativeCalls[lo];
    if (s == null || at < s.begin || at >= s.end) throw new IrError(`native plan: call ${at} asked to run in JS but belongs to no node`);
    ++this.deferredRuns;
    this.timedJs(s.step);
    return s.end;
  }

  /** Calls [begin, end) natively, with the nodes whose calls ask for it run from JS. */
  private runSegment(begin: number, end: number): void {
    for (let pos = begin; pos < end;) {
      const stop = native!.planRun(this.handle, pos, end);
      pos = stop < end ? this.runDeferred(stop) : end;
    }
  }

  private async runSegmentAsync(begin: number, end: number): Promise<void> {
    for (let pos = begin; pos < end;) {
      const stop = await native!.planRunAsync(this.handle, pos, end);
      if (this.freed) throw new IrError('the compiled graph was disposed');
      pos = stop < end ? this.runDeferred(stop) : end;
    }
  }

  /** Per step: milliseconds of its JS runs while profiling (the native calls are timed by the addon). */
  private jsMs: Float64Array|null = null;

  profiling(): boolean {
    return this.jsMs != null;
  }

  /** Starts timing every node of every run (native calls in the addon, JS nodes here). */
  startProfile(): void {
    native!.planProfile(this.handle, true);
    this.jsMs = new Float64Array(this.steps.length);
  }

  /** Stops timing; milliseconds per step summed over the runs since startProfile(). */
  stopProfile(): Float64Array {
    const ms = this.jsMs ?? new Float64Array(this.steps.length);
    this.jsMs = null;
    const ns = native!.planProfileRead(this.handle);
    native!.planProfile(this.handle, false);
    for (const c of this.nativeCalls) {
      for (let i = c.begin; i < c.end && i < ns.length; ++i) ms[c.step] += ns[i] * 1e-6;
    }
    return ms;
  }

  private timedJs(index: number): void {
    if (this.jsMs == null) return this.runJs(index);
    const t0 = performance.now();
    this.runJs(index);
    this.jsMs[index] += performance.now() - t0;
  }

  /** One run (inputs already validated by the executor). */
  run(inputs: Tensor[]): Tensor[] {
    if (this.pendingAsync > 0) {
      throw new IrError('a compiled plan cannot run synchronously while an async run of it is in flight (await it first)');
    }
    this.copyIn(inputs);
    let pos = 0;
    for (const j of this.jsSteps) {
      if (j.at > pos) this.runSegment(pos, j.at);
      pos = j.at;
      this.timedJs(j.step);
    }
    if (this.total > pos) this.runSegment(pos, this.total);
    this.consume(inputs);
    return this.outputs();
  }

  /** One run with the native segments on a libuv worker; runs of one plan queue one after another. */
  runAsync(inputs: Tensor[]): Promise<Tensor[]> {
    // Keep the inputs alive until the run starts: copied in when it does.
    const keep = inputs.map((t) => {
      this.be.incRef(t.dataId);
      return t.dataId;
    });
    ++this.pendingAsync;
    const go = async () => {
      try {
        if (this.freed) throw new IrError('the compiled graph was disposed');
        this.copyIn(inputs);
        for (const d of keep) this.be.disposeData(d);
        keep.length = 0;
        let pos = 0;
        for (const j of this.jsSteps) {
          if (j.at > pos) await this.runSegmentAsync(pos, j.at);
          if (this.freed) throw new IrError('the compiled graph was disposed');
          pos = j.at;
          this.timedJs(j.step);
        }
        if (this.total > pos) await this.runSegmentAsync(pos, this.total);
        if (this.freed) throw new IrError('the compiled graph was disposed');
        this.consume(inputs);
        return this.outputs();
      } finally {
        for (const d of keep) this.be.disposeData(d);
        --this.pendingAsync;
      }
    };
    const p = this.queue.then(go, go);
    this.queue = p.catch(() => undefined);
    return p;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    native!.planFree(this.handle);  // after an in-flight async run, if any
    this.homes.clear();
    this.inputHomes = [];
  }
}

/** The home arrays of the executor's constants. */
export function constantHomes(be: MathBackendCPU, constInfos: Map<ValueId, TensorInfo>): Map<ValueId, Home>|null {
  const m = new Map<ValueId, Home>();
  for (const [v, info] of constInfos) {
    const vals = be.data.get(info.dataId)?.values;
    if (!isHome(vals)) return null;
    m.set(v, vals);
  }
  return m;
}

export {setOutputAllocator};

// SPDX-License-Identifier: Apache-2.0
// The graph executor (interpreter form): runs a graph's nodes in order by calling the registered
// afterburner kernels directly — no engine bookkeeping, no Tensor objects, no scopes between
// nodes — and frees every intermediate right after its last reader (liveness). Constants are
// written to the backend once, when the executor is made, so their dataIds stay stable (weight
// prepacking caches by dataId), and released by dispose().
import {engine, getKernel, Tensor} from '@tensorflow/tfjs-core';
import type {DataId, KernelFunc, NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {BACKEND_NAME} from '../backend/backend';
import {Graph, IrError, ValueId} from './ir';

/** Our own fused ops ('ab.*'): implementations the executor calls like kernels. */
export type GraphOpImpl = (args: {inputs: TensorInfo[], attrs: {[k: string]: unknown}, backend: MathBackendCPU}) => TensorInfo[];
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

function kernelRunner(backend: MathBackendCPU, op: string, inputNames: string[]|null, attrs: object): (ins: TensorInfo[]) => TensorInfo[] {
  const impl = graphOps.get(op);
  if (impl != null) return (ins) => impl({inputs: ins, attrs: attrs as {[k: string]: unknown}, backend});
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

export class Executor {
  readonly graph: Graph;
  private backend: MathBackendCPU;
  private steps: Step[] = [];
  private constInfos = new Map<ValueId, TensorInfo>();
  private disposed = false;

  constructor(graph: Graph) {
    this.graph = graph;
    const be = engine().findBackend(BACKEND_NAME) as unknown as MathBackendCPU|null;
    if (be == null) throw new IrError(`the '${BACKEND_NAME}' backend is not available`);
    this.backend = be;
    for (const [id, data] of graph.constants) {
      const v = graph.value(id);
      const dataId = be.write(data as never, v.shape, v.dtype) as DataId;
      this.constInfos.set(id, {dataId, shape: v.shape, dtype: v.dtype});
    }
    // Liveness: the last step reading each intermediate value frees it (graph outputs never).
    const lastRead = new Map<ValueId, number>();
    graph.nodes.forEach((n, i) => n.inputs.forEach((v) => lastRead.set(v, i)));
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

  /** Bytes held by the graph's constants (written once). */
  constantBytes(): number {
    let b = 0;
    for (const [, data] of this.graph.constants) b += (data as ArrayLike<number> & {byteLength?: number}).byteLength ?? 0;
    return b;
  }

  /** Runs the graph on `inputs` (shapes and dtypes as the graph's inputs) and returns new Tensors. */
  run(inputs: Tensor[]): Tensor[] {
    if (this.disposed) throw new IrError('the compiled graph was disposed');
    const g = this.graph;
    if (inputs.length !== g.inputs.length) throw new IrError(`expected ${g.inputs.length} inputs, got ${inputs.length}`);
    const env = new Map<ValueId, TensorInfo>(this.constInfos);
    g.inputs.forEach((v, i) => {
      const t = inputs[i], want = g.value(v);
      if (!(t instanceof Tensor)) throw new IrError(`input ${i} is not a Tensor`);
      if (t.isDisposed) throw new IrError(`input ${i} is disposed`);
      if (t.dtype !== want.dtype || t.shape.length !== want.shape.length || t.shape.some((d, j) => d !== want.shape[j])) {
        throw new IrError(`input ${i} is ${t.dtype}[${t.shape}], the graph takes ${want.dtype}[${want.shape}]`);
      }
      env.set(v, {dataId: t.dataId, shape: t.shape, dtype: t.dtype});
    });
    const be = this.backend;
    const owned = new Set<ValueId>();
    try {
      for (const s of this.steps) {
        const ins = s.inputs.map((v) => env.get(v)!);
        const outs = s.run(ins);
        if (outs.length !== s.outputs.length) throw new IrError(`${s.op} returned ${outs.length} outputs, the graph expects ${s.outputs.length}`);
        s.outputs.forEach((v, i) => {
          env.set(v, outs[i]);
          owned.add(v);
        });
        for (const v of s.frees) {
          be.disposeData(env.get(v)!.dataId);
          owned.delete(v);
        }
      }
    } catch (e) {
      for (const v of owned) be.disposeData(env.get(v)!.dataId);
      throw e;
    }
    // Each kernel output holds one reference; a graph output read twice, or one that is an input
    // or a constant, takes another.
    const e = engine();
    return g.outputs.map((v) => {
      const info = env.get(v)!;
      if (owned.has(v)) owned.delete(v);
      else be.incRef(info.dataId);
      return e.makeTensorFromTensorInfo(info, be as never);
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const [, info] of this.constInfos) this.backend.disposeData(info.dataId);
    this.constInfos.clear();
  }
}

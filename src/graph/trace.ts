// SPDX-License-Identifier: Apache-2.0
// The trace builder: runs a tfjs function once on the afterburner backend with example inputs and
// records every top-level kernel call as a node. Tensors the function reads that it did not make
// from its inputs (weights, tensors made inside it) become constants of the graph, holding their
// data by reference (tfjs never writes a tensor's data after making it). A function that reads
// tensor data while it runs (dataSync, data, arraySync: data-dependent control flow) is refused.
import {engine, Tensor, tidy} from '@tensorflow/tfjs-core';
import type {BackendValues, DataId, DataType, NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';

import {BACKEND_NAME} from '../backend/backend';
import {retain as retainArray} from '../backend/output-pool';
import {QuantSpec, weightCacheOf} from '../backend/weight-cache';
import {KernelCall, setKernelObserver} from './hook';
import {AttrValue, Attrs, Graph, IrError, ValueId} from './ir';

/** How the function's result was shaped, to rebuild it from the flat output list. */
export type OutputStructure = {kind: 'single'}|{kind: 'array', length: number}|{kind: 'map', keys: string[]};

export interface Traced {
  /**
   * The data arrays of constants whose source tensor was marked bf16 (ab.optimize({dtype:
   * 'bfloat16'})): compile keeps the mark, also on constants folded from them without a copy (a
   * reshaped dense kernel).
   */
  bf16Constants: Set<unknown>;
  /** Likewise for int8 / int4 marks (ab.quantizeWeight, ab.optimize({dtype: 'int8' | 'int4'})): data array -> spec. */
  quantConstants: Map<unknown, QuantSpec>;
  graph: Graph;
  structure: OutputStructure;
  /** Per node as traced, per output: the input whose data the kernel returned as it (Cast to the same dtype, Reshape), else -1. */
  shares: number[][];
}

/** tfjs attrs -> plain data (numbers, strings, booleans, arrays, plain objects). */
export function plainAttrs(op: string, attrs: object|undefined): Attrs {
  const conv = (v: unknown, path: string): AttrValue => {
    if (v == null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v as AttrValue;
    if (Array.isArray(v)) return v.map((x, i) => conv(x, `${path}[${i}]`));
    if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
    if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const o: {[k: string]: AttrValue} = {};
      for (const [k, x] of Object.entries(v as object)) o[k] = conv(x, `${path}.${k}`);
      return o;
    }
    throw new IrError(`${op}: attribute ${path} is a ${(v as object).constructor?.name ?? typeof v}, which a graph cannot hold`);
  };
  const out: Attrs = {};
  for (const [k, v] of Object.entries(attrs ?? {})) out[k] = conv(v, k);
  return out;
}

/** Maps tfjs tensors (dataId + shape + dtype: a reshape shares its input's dataId) to graph values. */
class ValueMap {
  private byData = new Map<DataId, {shape: number[], dtype: string, id: ValueId}[]>();

  get(t: TensorInfo): ValueId|undefined {
    const list = this.byData.get(t.dataId);
    if (list == null) return undefined;
    for (let i = list.length - 1; i >= 0; --i) {
      const e = list[i];
      if (e.dtype === t.dtype && e.shape.length === t.shape.length && e.shape.every((d, j) => d === t.shape[j])) return e.id;
    }
    return undefined;
  }

  /** Every value stored under this dataId (a reshape shares its input's). */
  all(dataId: DataId): ValueId[] {
    return (this.byData.get(dataId) ?? []).map((e) => e.id);
  }

  set(t: TensorInfo, id: ValueId): void {
    let list = this.byData.get(t.dataId);
    if (list == null) this.byData.set(t.dataId, list = []);
    list.push({shape: t.shape.slice(), dtype: t.dtype, id});
  }
}

function flatten(result: unknown): {tensors: Tensor[], structure: OutputStructure} {
  if (result instanceof Tensor) return {tensors: [result], structure: {kind: 'single'}};
  if (Array.isArray(result) && result.every((t) => t instanceof Tensor)) {
    return {tensors: result as Tensor[], structure: {kind: 'array', length: result.length}};
  }
  if (result != null && typeof result === 'object' && Object.values(result).every((t) => t instanceof Tensor)) {
    const keys = Object.keys(result);
    return {tensors: keys.map((k) => (result as {[k: string]: Tensor})[k]), structure: {kind: 'map', keys}};
  }
  throw new IrError('trace: the function must return a Tensor, an array of Tensors or an object of Tensors');
}

/** How many times traceFunction ran: traces (kernels computed) and replays (tests check that new input shapes are instantiated, not traced). */
export const traceStats = {calls: 0, replays: 0};

/**
 * Runs `fn(...inputs)` once on the afterburner backend and returns its graph. The inputs become
 * the graph's inputs in order; the function's tensors are disposed afterwards.
 */
export interface TraceOptions {
  /**
   * A replay: kernel calls that read a value derived from the inputs do not run; the k-th such
   * call returns outputs of the shapes and dtypes fake(k, op) gives (holding no data), or the
   * replay stops with an error when it gives null. Calls on constants alone run as usual.
   */
  fake?: (k: number, op: string) => {shape: number[], dtype: DataType, share: number}[]|null;
}

export function traceFunction(fn: (...xs: Tensor[]) => unknown, inputs: Tensor[], opts: TraceOptions = {}): Traced {
  if (engine().backendName !== BACKEND_NAME) {
    throw new IrError(`trace: the active backend is '${engine().backendName}'; graph mode traces on '${BACKEND_NAME}' (tf.setBackend('${BACKEND_NAME}'))`);
  }
  if (opts.fake == null) ++traceStats.calls;
  else ++traceStats.replays;
  const g = new Graph();
  const values = new ValueMap();
  // Values that depend on the inputs' data. A read of one of them while tracing means the
  // function may branch on the data; reads of others (constants, values computed from constants,
  // as a GraphModel does for shape and axis tensors) are fixed for the traced signature.
  const tainted = new Set<ValueId>();
  const backend = engine().backend as unknown as {readSync(d: DataId): never, data: {get(d: DataId): {values: unknown}}};
  for (const t of inputs) {
    if (!(t instanceof Tensor)) throw new IrError('trace: every example input must be a Tensor');
    if (t.isDisposed) throw new IrError('trace: an example input is disposed');
    const id = g.addInput(t.shape, t.dtype);
    values.set(t, id);
    tainted.add(id);
  }
  let readOutside = false;
  const bf16Constants = new Set<unknown>();
  const quantConstants = new Map<unknown, QuantSpec>();
  const shares: number[][] = [];
  const valueOf = (t: TensorInfo): ValueId => {
    const known = values.get(t);
    if (known != null) return known;
    // Not made by a traced kernel from the inputs: a constant (a weight, or made inside fn).
    const data = backend.data.get(t.dataId)?.values;
    if (data == null) throw new IrError(`trace: a ${t.dtype}[${t.shape}] tensor read by a kernel has no data on '${BACKEND_NAME}'`);
    // The graph keeps the array past the tensor's life: the eager output pool must not reuse it.
    retainArray(data);
    const id = g.addConstant(t.shape, t.dtype, data as never);
    values.set(t, id);
    if (weightCacheOf(backend)?.isBf16(t)) bf16Constants.add(data);
    const q = weightCacheOf(backend)?.quantOf(t);
    if (q != null) quantConstants.set(data, q);
    return id;
  };
  const onCall = (c: KernelCall) => {
    const arrayInputs = Array.isArray(c.inputs);
    const entries = arrayInputs ? (c.inputs as unknown as TensorInfo[]).map((t, i) => [String(i), t] as const)
                                : Object.entries(c.inputs as NamedTensorInfoMap).filter(([, t]) => t != null);
    const ins = entries.map(([, t]) => valueOf(t as TensorInfo));
    const outs = Array.isArray(c.outputs) ? c.outputs : [c.outputs];
    shares.push(outs.map((o) => entries.findIndex(([, t]) => (t as TensorInfo).dataId === o.dataId)));
    const node = g.addNode(c.name, ins, arrayInputs ? null : entries.map(([k]) => k), plainAttrs(c.name, c.attrs),
                           outs.map((o) => ({shape: o.shape, dtype: o.dtype})));
    const taint = ins.some((v) => tainted.has(v));
    outs.forEach((o, i) => {
      values.set(o, node.outputs[i]);
      if (taint) tainted.add(node.outputs[i]);
    });
  };
  const onRead = (dataId: DataId) => {
    if (values.all(dataId).some((v) => tainted.has(v))) readOutside = true;
  };
  let faked = 0;
  const fake = opts.fake;
  const replace = fake == null ? undefined : (name: string, kin: NamedTensorInfoMap) => {
    const ts = ((Array.isArray(kin) ? kin : Object.values(kin)) as (TensorInfo|null)[]).filter((t) => t != null) as TensorInfo[];
    if (!ts.some((t) => tainted.has(values.get(t) ?? -1))) return undefined;
    const outs = fake(faked++, name);
    if (outs == null) throw new IrError(`replay: call ${faked - 1} (${name}) was not expected`);
    const be = engine().backend as unknown as {makeTensorInfo(s: number[], d: DataType, v: BackendValues): TensorInfo, incRef(d: DataId): void};
    return outs.map((o) => {
      const src = ts[o.share];
      if (src == null) return be.makeTensorInfo(o.shape, o.dtype, (o.dtype === 'int32' ? new Int32Array(0) : o.dtype === 'bool' ? new Uint8Array(0) : new Float32Array(0)) as BackendValues);
      // The kernel returned its input's data as this output when traced: so does the replay (same value mapping).
      be.incRef(src.dataId);
      return {dataId: src.dataId, shape: o.shape, dtype: o.dtype};
    });
  };
  const prev = setKernelObserver({call: onCall, read: onRead, replace});
  let flat: {tensors: Tensor[], structure: OutputStructure};
  try {
    tidy(() => {
      flat = flatten(fn(...inputs));
      g.outputs = flat.tensors.map((t) => valueOf(t));
      if (readOutside) {
        throw new IrError('trace: the function reads tensor data while it runs (dataSync/data/arraySync): its ' +
                          'behaviour may depend on the data, which a graph cannot capture; move the read out of the function');
      }
      return [] as Tensor[];
    });
  } finally {
    setKernelObserver(prev);
  }
  return {graph: g, structure: flat!.structure, shares, bf16Constants, quantConstants};
}

// SPDX-License-Identifier: Apache-2.0
// Shape generalization (issue 4, point 4): a compiled object called with a new batch size or
// sequence length should cost a re-plan, not a trace (one eager run plus every pass).
//
// The traced, rewritten graphs of one function at several input shapes are usually the same graph
// with different numbers: the same ops in the same order, the same wiring, the same constants bit
// for bit, the same non-numeric attributes; only value shapes and shape-carrying attributes
// (Reshape's shape, Slice's begin/size, ab.SDPA's B and Sq, ...) differ, and those are functions
// of the input dims that vary, almost always multilinear (N, 2·N + 1, B·T). So:
//
// - Each traced graph is described as a skeleton (tokens: everything but the integers) and a vector
//   of its integers (input dims first, then per node its integer attributes and output dims).
// - Traced graphs with the same skeleton and the same constants form a *group*. Over the group's
//   traced points, input dims equal at every point are fixed; the others are partitioned into
//   variables (dims equal to each other at every point are one variable: a batch dim shared by
//   several inputs). With k variables every integer is fitted as a multilinear polynomial with
//   integer coefficients over the 2^k monomials (1, N / 1, B, T, B·T / ...), which needs 2^k traced
//   points in general position (k = 1: two shapes) and is then checked exactly at every point.
// - Once fitted, the group is a *template*: a new signature in its domain (fixed dims equal, the
//   dims of a variable equal, each variable's value >= 2 or one already traced: sizes 0 and 1 are
//   special to broadcasting and to the passes) is instantiated: shapes and attributes computed,
//   constants and unchanged attributes shared with the template, not copied; no trace, no passes.
// - Two points cannot tell every function from an affine one, so an instantiation is checked
//   twice before it is trusted. (1) The replay: the function runs again at the new signature with
//   the kernels that read input-derived values not computing (trace.ts TraceOptions.fake: they
//   return outputs of the fitted shapes, holding no data); its kernel calls must be the ones the
//   group's first trace made before the passes, with the fitted integers — shape arithmetic done
//   in the function's own code (Math.min(T, 512) as a Slice size) shows here. The raw trace's
//   integers, small int32 constants (a GraphModel's shape tensors) included, are fitted with the
//   rest. (2) The first run: the executor checks every node's output shape and dtype against the
//   instantiated IR (ExecutorOptions.checkShapes): shape functions inside kernels (a StridedSlice
//   end clamped to the input) show here. Any mismatch, or a kernel error, throws the instantiation
//   away; the signature is traced for real (compile.ts) and its graph is added to its group as a
//   new point, which refits it (a non-affine number then fails the fit and the group goes back to
//   tracing, with the reason in summary()).
import {engine} from '@tensorflow/tfjs-core';
import type {BackendValues, DataId, DataType, Tensor, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {BACKEND_NAME} from '../backend/backend';
import {AttrValue, Attrs, Graph, IrError, Node, ValueId} from './ir';
import {traceFunction} from './trace';

/** The most varying dims (variables) a group generalizes over: 2^k traces fit it. */
export const MAX_VARS = 3;
/** Groups (structures) kept per family (input dtypes and ranks); the least recently used goes. */
const MAX_GROUPS = 4;
/** Traced points kept per group (enough to fit MAX_VARS variables, plus checks). */
const MAX_POINTS = 16;

/** Where an integer of a graph sits: a dim of a value's shape, or a path inside a node's attrs. */
type Slot = {value: ValueId, dim: number, label: string}|{node: number, path: (string|number)[], label: string};

/** A graph as skeleton + integers (see the file comment). */
interface Desc {
  tokens: string[];
  slots: Slot[];
  nums: number[];
  /** How many leading `nums` are the inputs' dims. */
  nDims: number;
  /** Constants in the order the nodes first read them (their data compared bit for bit). */
  consts: ValueId[];
  /** The data of `consts` (a raw trace's constants, held before the passes change the graph). */
  data: BackendValues[];
  /** Raw traces: per node reading a value derived from the inputs, its op and each output's dtype and `nums` indices. */
  tainted: {op: string, outs: {dtype: DataType, idx: number[], share: number}[]}[];
}

/** int32 constants up to this many elements are numbers to fit in a raw trace (shape tensors), not data. */
const SMALL_INT_CONST = 16;

/**
 * `g` as skeleton + integers. raw: `g` is a trace before the passes (the kernel calls as the
 * function makes them): small int32 constants (a GraphModel's shape tensors) count as integers,
 * and the nodes that read input-derived values are listed (a replay fakes exactly those).
 */
function describe(g: Graph, shares: number[][]|null = null): Desc {
  const raw = shares != null;
  const tokens: string[] = [], slots: Slot[] = [], nums: number[] = [], consts: ValueId[] = [], data: BackendValues[] = [];
  const tainted: Desc['tainted'] = [];
  const derived = new Set<ValueId>(g.inputs);
  const ref = new Map<ValueId, string>();
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const label = (v: ValueId) => {
    const n = byId.get(g.value(v).producer);
    return `${raw ? 'traced ' : ''}${n != null ? `${n.op}#${n.id} output` : g.value(v).kind === 'input' ? `input %${v}` : `%${v}`}`;
  };
  const shape = (v: ValueId) => {
    const l = label(v);
    g.value(v).shape.forEach((d, dim) => {
      slots.push({value: v, dim, label: l});
      nums.push(d);
    });
  };
  g.inputs.forEach((v, i) => {
    ref.set(v, `i${i}`);
    tokens.push(`input ${g.value(v).dtype}/${g.value(v).shape.length}`);
    shape(v);
  });
  const nDims = nums.length;
  const use = (v: ValueId): string => {
    let r = ref.get(v);
    if (r == null) {
      const val = g.value(v);
      if (val.kind !== 'const') throw new IrError(`generalize: %${v} is read before it is defined`);
      const d = g.constants.get(v)!;
      if (raw && val.dtype === 'int32' && ArrayBuffer.isView(d) && (d as Int32Array).length <= SMALL_INT_CONST) {
        r = `k${ref.size}`;
        tokens.push(`${r} = const int32[${val.shape}] as numbers`);
        (d as Int32Array).forEach((x, i) => {
          slots.push({value: v, dim: -1 - i, label: `${raw ? 'traced ' : ''}int32 constant %${v}`});
          nums.push(x);
        });
      } else {
        r = `c${consts.length}`;
        consts.push(v);
        data.push(d);
        tokens.push(`${r} = const ${val.dtype}[${val.shape}]`);
      }
      ref.set(v, r);
    }
    return r;
  };
  let nodeLabel = '';
  const skel = (a: AttrValue, node: number, path: (string|number)[]): string => {
    if (typeof a === 'number') {
      if (!Number.isInteger(a)) return String(a);
      slots.push({node, path, label: nodeLabel});
      nums.push(a);
      return '#';
    }
    if (Array.isArray(a)) return `[${a.map((x, i) => skel(x, node, [...path, i])).join(',')}]`;
    if (a != null && typeof a === 'object') {
      return `{${Object.keys(a).sort().map((k) => `${k}:${skel(a[k], node, [...path, k])}`).join(',')}}`;
    }
    return a === undefined ? 'undefined' : JSON.stringify(a);
  };
  g.nodes.forEach((n, k) => {
    const ins = n.inputs.map(use);
    nodeLabel = `${raw ? 'traced ' : ''}${n.op}#${n.id}`;
    const attrs = skel(n.attrs as AttrValue, k, []);
    n.outputs.forEach((v, j) => ref.set(v, `n${k}.${j}`));
    const share = shares?.[k] ?? [];
    tokens.push(`n${k} = ${n.op}(${ins.join(', ')}) ${JSON.stringify(n.inputNames)} ${attrs} : ` +
                n.outputs.map((v, j) => `${g.value(v).dtype}/${g.value(v).shape.length}${share[j] >= 0 ? ` (as input ${share[j]})` : ''}`).join(', '));
    const isDerived = n.inputs.some((v) => derived.has(v));
    const outs: Desc['tainted'][0]['outs'] = [];
    for (const [j, v] of n.outputs.entries()) {
      const at = nums.length;
      shape(v);
      outs.push({dtype: g.value(v).dtype, idx: Array.from({length: nums.length - at}, (_, i) => at + i), share: share[j] ?? -1});
      if (isDerived) derived.add(v);
    }
    if (raw && isDerived) tainted.push({op: n.op, outs});
  });
  tokens.push(`return ${g.outputs.map(use).join(', ')}`);
  return {tokens, slots, nums, nDims, consts, data, tainted};
}

/** The description of a trace before the passes (compile.ts takes it, then runs the passes). */
export type RawTrace = Desc;

export function describeRaw(g: Graph, shares: number[][]): RawTrace {
  return describe(g, shares);
}

function sameDesc(a: Desc, b: Desc): boolean {
  return a.tokens.length === b.tokens.length && a.tokens.every((t, i) => t === b.tokens[i]) &&
         a.data.every((d, i) => sameData(d, b.data[i]));
}

function sameData(a: BackendValues, b: BackendValues): boolean {
  if (a === b) return true;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    if (a.constructor !== b.constructor || a.byteLength !== b.byteLength) return false;
    return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameData(x, b[i]));
  return false;
}

/** Constants written to the backend once and shared by the executors of a group's instantiated plans. */
export class SharedConstants {
  readonly infos = new Map<ValueId, TensorInfo>();
  private refs = 1;
  private backend: MathBackendCPU;

  constructor(g: Graph) {
    this.backend = engine().findBackend(BACKEND_NAME) as unknown as MathBackendCPU;
    for (const [id, data] of g.constants) {
      const v = g.value(id);
      const dataId = this.backend.write(data as never, v.shape, v.dtype) as DataId;
      this.infos.set(id, {dataId, shape: v.shape, dtype: v.dtype});
    }
  }

  acquire(): void {
    ++this.refs;
  }

  release(): void {
    if (--this.refs > 0) return;
    for (const [, info] of this.infos) this.backend.disposeData(info.dataId);
    this.infos.clear();
  }
}

/** A group's fit: input dims fixed or grouped into variables; varying integers as polynomials. */
interface Template {
  /** Per input dim: its value when fixed, else null. */
  fixed: (number|null)[];
  /** Per variable: the input dims that carry it. */
  vars: number[][];
  /** slot index -> coefficients over the monomials (bit i of the index: variable i is a factor). */
  forms: Map<number, number[]>;
  /** slot index -> the signs its traced values had (bits: 1 negative, 2 zero, 4 positive). */
  signs: Map<number, number>;
  /** Per variable: the values traced (sizes below 2 are instantiated only at these). */
  seen: Set<number>[];
}

interface Group {
  desc: Desc;
  /** The first trace before the passes: a new shape's replay must match it (with the fitted numbers). */
  raw: Desc|null;
  /** The group's first traced graph: the template's graph (never changed). */
  base: Graph;
  /** The points' integers: the rewritten graph's (input dims first), then the raw trace's. */
  points: number[][];
  template: Template|null;
  /** 'waiting', 'generic' or 'traced' (the fit failed: every signature of this structure is traced). */
  state: 'waiting'|'generic'|'traced';
  status: string;
  shared: SharedConstants|null;
  /** Signatures whose instantiation failed the probe run (traced instead). */
  rejected: Set<string>;
  /** Extra information handed back with an instantiation (the output structure, pass stats). */
  extra: unknown;
}

/** A group's name for input dim d: 'x0[1]' = input 0's dim 1. */
function dimName(shapes: number[][], d: number): string {
  for (let i = 0, k = 0; i < shapes.length; ++i) {
    if (d < k + shapes[i].length) return `x${i}[${d - k}]`;
    k += shapes[i].length;
  }
  return `dim ${d}`;
}

function monomial(x: number[], s: number): number {
  let m = 1;
  for (let i = 0; i < x.length; ++i) if (s & (1 << i)) m *= x[i];
  return m;
}

/**
 * Selects `M` rows of `rows` that are linearly independent (Gaussian elimination with partial
 * pivoting; the entries are small integers), or null when their rank is below M.
 */
function independentRows(rows: number[][], M: number): number[]|null {
  const picked: number[] = [];
  const basis: number[][] = [];  // reduced rows, each with its pivot column
  const pivots: number[] = [];
  for (let r = 0; r < rows.length && picked.length < M; ++r) {
    const v = rows[r].slice();
    basis.forEach((b, j) => {
      const f = v[pivots[j]] / b[pivots[j]];
      if (f !== 0) for (let c = 0; c < M; ++c) v[c] -= f * b[c];
    });
    let p = -1, best = 0;
    const scale = Math.max(1, ...rows[r].map(Math.abs));
    for (let c = 0; c < M; ++c) {
      if (Math.abs(v[c]) > best) {
        best = Math.abs(v[c]);
        p = c;
      }
    }
    if (p < 0 || best <= 1e-9 * scale) continue;
    basis.push(v);
    pivots.push(p);
    picked.push(r);
  }
  return picked.length === M ? picked : null;
}

/** The inverse of a square matrix (Gauss-Jordan, partial pivoting). */
function inverse(a: number[][]): number[][] {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...Array.from({length: n}, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; ++c) {
    let p = c;
    for (let r = c + 1; r < n; ++r) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const d = m[c][c];
    for (let j = 0; j < 2 * n; ++j) m[c][j] /= d;
    for (let r = 0; r < n; ++r) {
      if (r === c || m[r][c] === 0) continue;
      const f = m[r][c];
      for (let j = 0; j < 2 * n; ++j) m[r][j] -= f * m[c][j];
    }
  }
  return m.map((row) => row.slice(n));
}

/** Describes an integer of a graph for messages. */
function slotName(slot: Slot): string {
  if ('value' in slot) return slot.dim < 0 ? `${slot.label} element ${-1 - slot.dim}` : `${slot.label} dim ${slot.dim}`;
  return `${slot.label} attr ${slot.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')}`;
}

/** Fits `group` from its points; sets its template, state and status. */
function fit(group: Group, shapes: number[][]): void {
  const {points, desc} = group;
  const nDims = desc.nDims;
  const fixed: (number|null)[] = [];
  const byValues = new Map<string, number[]>();
  for (let d = 0; d < nDims; ++d) {
    const col = points.map((p) => p[d]);
    if (col.every((x) => x === col[0])) {
      fixed.push(col[0]);
      continue;
    }
    fixed.push(null);
    const key = col.join(',');
    const list = byValues.get(key);
    if (list == null) byValues.set(key, [d]);
    else list.push(d);
  }
  const vars = [...byValues.values()];
  group.template = null;
  const varNames = vars.map((ds) => ds.map((d) => dimName(shapes, d)).join('='));
  if (vars.length === 0) {
    group.state = 'waiting';
    group.status = 'one input shape traced so far';
    return;
  }
  if (vars.length > MAX_VARS) {
    group.state = 'traced';
    group.status = `${vars.length} input dims vary independently (${varNames.join(', ')}); at most ${MAX_VARS} are generalized`;
    return;
  }
  const k = vars.length, M = 1 << k;
  const xs = points.map((p) => vars.map((ds) => p[ds[0]]));
  const rows = xs.map((x) => Array.from({length: M}, (_, s) => monomial(x, s)));
  const sel = independentRows(rows, M);
  if (sel == null) {
    group.state = 'waiting';
    group.status = `${varNames.join(', ')} vary: ${points.length} shapes traced, ${M} in general position needed`;
    return;
  }
  const inv = inverse(sel.map((r) => rows[r]));
  const forms = new Map<number, number[]>(), signs = new Map<number, number>();
  const where = () => `at ${points.map((p) => `[${vars.map((ds) => p[ds[0]]).join(',')}]`).join(', ')}`;
  for (let s = nDims; s < points[0].length; ++s) {
    const y = points.map((p) => p[s]);
    if (y.every((v) => v === y[0])) continue;
    const coef = inv.map((row) => row.reduce((acc, a, j) => acc + a * y[sel[j]], 0));
    const rounded = coef.map((c) => Math.round(c));
    const fits = coef.every((c, i) => Math.abs(c - rounded[i]) < 1e-6) &&
                 rows.every((row, p) => row.reduce((acc, m, j) => acc + m * rounded[j], 0) === y[p]);
    if (!fits) {
      group.state = 'traced';
      group.status = `${slotName(slotOf(group, s))} is ${y.join(', ')} ${where()} of ${varNames.join(', ')}: ` +
                     `not an integer ${k === 1 ? 'affine' : 'multilinear'} function of them`;
      return;
    }
    forms.set(s, rounded);
    signs.set(s, y.reduce((m, v) => m | signBit(v), 0));
  }
  const seen = vars.map((_, i) => new Set(xs.map((x) => x[i])));
  group.template = {fixed, vars, forms, signs, seen};
  group.state = 'generic';
  group.status = `generic over ${varNames.join(', ')} (fitted from ${points.length} traced shapes)`;
}

/** Integer `s` of a group's points: of the rewritten graph, or past its end, of the raw trace. */
function slotOf(group: Group, s: number): Slot {
  const n = group.desc.slots.length;
  return s < n ? group.desc.slots[s] : group.raw!.slots[s - n];
}

const signBit = (v: number) => (v < 0 ? 1 : v === 0 ? 2 : 4);

function setPath(attrs: Attrs, path: (string|number)[], v: number): void {
  let o = attrs as unknown as {[k: string]: unknown};
  for (let i = 0; i < path.length - 1; ++i) o = o[path[i]] as {[k: string]: unknown};
  o[path[path.length - 1]] = v;
}

/**
 * The instantiated graph of `group` at input dims `dims` and all its integers (the raw trace's
 * too), or a reason it is out of the template's domain.
 */
function instantiate(group: Group, dims: number[]): {graph: Graph, nums: number[]}|string {
  const t = group.template!;
  for (let d = 0; d < dims.length; ++d) if (t.fixed[d] != null && dims[d] !== t.fixed[d]) return 'a fixed dim differs';
  const x = t.vars.map((ds, i) => {
    const v = dims[ds[0]];
    return ds.every((d) => dims[d] === v) && (v >= 2 || t.seen[i].has(v)) ? v : -1;
  });
  if (x.some((v) => v < 0)) return 'outside the domain';
  const {desc, base} = group;
  const values = base.values.map((v) => ({...v}));
  const shapes = new Map<ValueId, number[]>();
  const attrs = new Map<number, Attrs>();
  const nums = group.points[0].slice();
  for (let d = 0; d < dims.length; ++d) nums[d] = dims[d];
  for (const [s, coef] of t.forms) {
    let v = 0;
    for (let j = 0; j < coef.length; ++j) if (coef[j] !== 0) v += coef[j] * monomial(x, j);
    nums[s] = v;
    const slot = slotOf(group, s);
    // A number that turns negative or zero where it never was at a traced point crosses a boundary
    // the fit cannot see (pad to at least 4 rows: 4 - N, then max(0, 4 - N)): traced instead.
    if (!(t.signs.get(s)! & signBit(v))) return `${slotName(slot)} would be ${v}`;
    if (s >= desc.nums.length) continue;  // the raw trace's: checked by the replay
    if ('value' in slot) {
      let sh = shapes.get(slot.value);
      if (sh == null) shapes.set(slot.value, sh = base.value(slot.value).shape.slice());
      sh[slot.dim] = v;
    } else {
      let a = attrs.get(slot.node);
      if (a == null) attrs.set(slot.node, a = structuredClone(base.nodes[slot.node].attrs));
      setPath(a, slot.path, v);
    }
  }
  // Input dims come from the signature itself (fixed or variable: the forms cover only the rest).
  for (let d = 0; d < desc.nDims; ++d) {
    const slot = desc.slots[d] as {value: ValueId, dim: number};
    let sh = shapes.get(slot.value);
    if (sh == null) shapes.set(slot.value, sh = base.value(slot.value).shape.slice());
    sh[slot.dim] = dims[d];
  }
  for (const [v, sh] of shapes) values[v].shape = sh;
  const g = new Graph();
  g.values = values as typeof g.values;
  g.nodes = base.nodes.map((n, k): Node => ({...n, attrs: attrs.get(k) ?? n.attrs}));
  g.inputs = base.inputs;
  g.outputs = base.outputs;
  g.constants = base.constants;
  return {graph: g, nums};
}

/**
 * Replays `fn` at `inputs` without computing (trace.ts TraceOptions.fake: the kernels reading
 * input-derived values return outputs of the fitted shapes, holding no data) and checks that the
 * function makes the kernel calls the fit predicts: the same ops, attributes (integers included:
 * shape arithmetic done in the function's own code, a clamp like min(T, 512), shows here), wiring
 * and constants. Returns null when it does, else what differs.
 */
function replay(group: Group, fn: (...xs: Tensor[]) => unknown, inputs: Tensor[], nums: number[]): string|null {
  const raw = group.raw!, off = group.desc.nums.length;
  let dry: Graph, shares: number[][];
  try {
    ({graph: dry, shares} = traceFunction(fn, inputs, {
      fake: (k, op) => {
        const c = raw.tainted[k];
        if (c == null || c.op !== op) return null;
        return c.outs.map((o) => ({shape: o.idx.map((i) => nums[off + i]), dtype: o.dtype, share: o.share}));
      },
    }));
  } catch (e) {
    const msg = String((e as Error).message ?? e).replace(/^afterburner graph: /, '');
    return msg.startsWith('replay:') ? msg : `replay: ${msg}`;
  }
  const d = describe(dry, shares);
  const at = d.tokens.findIndex((tok, i) => tok !== raw.tokens[i]);
  if (at >= 0 || d.tokens.length !== raw.tokens.length) {
    const i = at >= 0 ? at : Math.min(d.tokens.length, raw.tokens.length);
    return `replay: the function's calls differ ('${(d.tokens[i] ?? 'end').slice(0, 100)}' where '${(raw.tokens[i] ?? 'end').slice(0, 100)}' was traced)`;
  }
  for (let i = 0; i < d.nums.length; ++i) {
    if (d.nums[i] !== nums[off + i]) return `replay: ${slotName(d.slots[i])} is ${d.nums[i]}, the fit says ${nums[off + i]}`;
  }
  const c = d.data.findIndex((x, i) => !sameData(x, raw.data[i]));
  if (c >= 0) return `replay: constant c${c} holds other data`;
  return null;
}

/** What compile.ts gets back for a new signature the generalizer can serve. */
export interface Instance {
  graph: Graph;
  /** Replays the function at the signature without computing; null when it makes the calls the fit predicts, else why not. */
  verify(fn: (...xs: Tensor[]) => unknown, inputs: Tensor[]): string|null;
  constants: Map<ValueId, TensorInfo>;
  /** Call when the plan using `constants` is disposed. */
  release(): void;
  /** The extra information the group's first trace was recorded with. */
  extra: unknown;
  lineage: Lineage;
  /** Call if the instance failed its first run: it is never tried again for this signature. */
  reject(why: string): void;
}

interface Family {
  groups: Group[];
  /** The last two things worth telling about the family (a new structure, a failed instantiation), ' | ' between. */
  note: string;
  notes: string[];
}

function addNote(fam: Family, text: string): void {
  fam.notes = [...fam.notes.slice(-1), text];
  fam.note = fam.notes.join(' | ');
}

/** Where a plan came from, for summary(): its group (state and status) and the group's family. */
export interface Lineage {
  readonly group: {readonly state: 'waiting'|'generic'|'traced', readonly status: string};
  readonly family: {readonly note: string};
}

/** Per compiled object: the families (input dtypes and ranks) and their groups. */
export class Generalizer {
  private families = new Map<string, Family>();

  private familyKey(inputs: {shape: number[], dtype: DataType}[]): string {
    return inputs.map((t) => `${t.dtype}/${t.shape.length}`).join(';');
  }

  /** A plan graph for `inputs` from a fitted group, without tracing; null when none applies. */
  instantiate(inputs: Tensor[]): Instance|null {
    const fam = this.families.get(this.familyKey(inputs));
    if (fam == null) return null;
    const dims = inputs.flatMap((t) => t.shape);
    const sig = dims.join(',');
    // Nearest traced point first: where a function is piecewise (a clamp at some size), the group
    // traced on the same side of the boundary is the one that fits.
    const distance = (g: Group) => Math.min(...g.points.map((p) => dims.reduce((acc, d, i) => acc + Math.abs(d - p[i]), 0)));
    const candidates = fam.groups.filter((g) => g.state === 'generic' && !g.rejected.has(sig));
    const order = candidates.map((g) => ({g, d: distance(g)})).sort((a, b) => a.d - b.d).map((e) => e.g);
    for (const group of order) {
      const made = instantiate(group, dims);
      if (typeof made === 'string') continue;
      // Most recently used first.
      fam.groups.splice(fam.groups.indexOf(group), 1);
      fam.groups.unshift(group);
      if (group.shared == null) group.shared = new SharedConstants(group.base);
      const shared = group.shared;
      shared.acquire();
      let released = false;
      return {
        graph: made.graph,
        verify: (fn, xs) => (group.raw == null ? null : replay(group, fn, xs, made.nums)),
        constants: shared.infos,
        extra: group.extra,
        lineage: {group, family: fam},
        release: () => {
          if (!released) shared.release();
          released = true;
        },
        reject: (why) => {
          if (group.rejected.size < 64) group.rejected.add(sig);
          addNote(fam!, `instantiation at [${inputs.map((t) => `[${t.shape}]`).join(', ')}] rejected (${why}); traced`);
        },
      };
    }
    return null;
  }

  /** Records a traced, rewritten graph (the compiled object's plan for its signature). */
  addTrace(graph: Graph, raw: RawTrace|null, extra: unknown): Lineage {
    const key = this.familyKey(graph.inputs.map((v) => graph.value(v)));
    let fam = this.families.get(key);
    const shapes = graph.inputs.map((v) => graph.value(v).shape.slice());
    if (fam == null) this.families.set(key, fam = {groups: [], note: '', notes: []});
    const desc = describe(graph);
    const same = (g: Group) => sameDesc(g.desc, desc) && (g.raw == null ? raw == null : raw != null && sameDesc(g.raw, raw));
    let group = fam.groups.find(same);
    if (group == null) {
      if (fam.groups.length > 0) addNote(fam, `a new structure at [${shapes.map((s) => `[${s}]`).join(', ')}]: ${whyDifferent(fam.groups[0], desc, raw)}`);
      group = {desc, raw, base: graph, points: [], template: null, state: 'waiting', status: '', shared: null, rejected: new Set(), extra};
      fam.groups.unshift(group);
      while (fam.groups.length > MAX_GROUPS) {
        const old = fam.groups.pop()!;
        old.shared?.release();
      }
    } else {
      fam.groups.splice(fam.groups.indexOf(group), 1);
      fam.groups.unshift(group);
    }
    const dims = desc.nums.slice(0, desc.nDims).join(',');
    if (group.state !== 'traced' && !group.points.some((p) => p.slice(0, desc.nDims).join(',') === dims)) {
      group.points.push(raw == null ? desc.nums : [...desc.nums, ...raw.nums]);
      if (group.points.length > MAX_POINTS) group.points.splice(1, 1);
      fit(group, shapes);
    }
    return {group, family: fam};
  }

  dispose(): void {
    for (const fam of this.families.values()) for (const g of fam.groups) g.shared?.release();
    this.families.clear();
  }
}

/** Why a traced graph does not join `group`: the first difference, for summary(). */
function whyDifferent(group: Group, desc: Desc, raw: Desc|null): string {
  const cut = (t: string) => (t.length > 100 ? `${t.slice(0, 100)}...` : t);
  for (const [a, b, what] of [[group.desc, desc, 'graphs'], [group.raw, raw, 'traced calls']] as [Desc|null, Desc|null, string][]) {
    if (a == null || b == null) continue;
    const i = a.tokens.findIndex((t, j) => t !== b.tokens[j]);
    if (i >= 0) return `the ${what} differ ('${cut(a.tokens[i])}' vs '${cut(b.tokens[i] ?? 'end')}')`;
    if (a.tokens.length !== b.tokens.length) return `the ${what} differ in length (${a.tokens.length} vs ${b.tokens.length} entries)`;
    const c = a.data.findIndex((d, j) => !sameData(d, b.data[j]));
    if (c >= 0) return `${what === 'graphs' ? '' : 'traced '}constant c${c} (${b.data[c].constructor.name} of ${(b.data[c] as ArrayLike<unknown>).length}) holds other data (computed from a varying dim?)`;
  }
  return 'the traces differ';
}

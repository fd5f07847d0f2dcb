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
// - Two points cannot tell every function from an affine one, so an instantiated plan is not
//   trusted until its first run: the executor checks every node's output shape and dtype against
//   the instantiated IR (ExecutorOptions.checkShapes); any mismatch or kernel error there throws
//   the instantiation away, the signature is traced for real (compile.ts) and its graph is added
//   to the group as a new point, which refits it (a non-affine number then fails the fit and the
//   group goes back to tracing, with the reason in summary()).
import {engine} from '@tensorflow/tfjs-core';
import type {BackendValues, DataId, DataType, Tensor, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {BACKEND_NAME} from '../backend/backend';
import {AttrValue, Attrs, Graph, IrError, Node, ValueId} from './ir';

/** The most varying dims (variables) a group generalizes over: 2^k traces fit it. */
export const MAX_VARS = 3;
/** Groups (structures) kept per family (input dtypes and ranks); the least recently used goes. */
const MAX_GROUPS = 4;
/** Traced points kept per group (enough to fit MAX_VARS variables, plus checks). */
const MAX_POINTS = 16;

/** Where an integer of a graph sits: a dim of a value's shape, or a path inside a node's attrs. */
type Slot = {value: ValueId, dim: number}|{node: number, path: (string|number)[]};

/** A graph as skeleton + integers (see the file comment). */
interface Desc {
  tokens: string[];
  slots: Slot[];
  nums: number[];
  /** How many leading `nums` are the inputs' dims. */
  nDims: number;
  /** Constants in the order the nodes first read them. */
  consts: ValueId[];
}

function describe(g: Graph): Desc {
  const tokens: string[] = [], slots: Slot[] = [], nums: number[] = [], consts: ValueId[] = [];
  const ref = new Map<ValueId, string>();
  const shape = (v: ValueId) => g.value(v).shape.forEach((d, dim) => {
    slots.push({value: v, dim});
    nums.push(d);
  });
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
      r = `c${consts.length}`;
      consts.push(v);
      ref.set(v, r);
      tokens.push(`${r} = const ${val.dtype}[${val.shape}]`);
    }
    return r;
  };
  const skel = (a: AttrValue, node: number, path: (string|number)[]): string => {
    if (typeof a === 'number') {
      if (!Number.isInteger(a)) return String(a);
      slots.push({node, path});
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
    const attrs = skel(n.attrs as AttrValue, k, []);
    n.outputs.forEach((v, j) => ref.set(v, `n${k}.${j}`));
    tokens.push(`n${k} = ${n.op}(${ins.join(', ')}) ${JSON.stringify(n.inputNames)} ${attrs} : ` +
                n.outputs.map((v) => `${g.value(v).dtype}/${g.value(v).shape.length}`).join(', '));
    n.outputs.forEach(shape);
  });
  tokens.push(`return ${g.outputs.map(use).join(', ')}`);
  return {tokens, slots, nums, nDims, consts};
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
  /** The group's first traced graph: the template's graph (never changed). */
  base: Graph;
  /** The points' input dims and integers. */
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

/** Describes integer `s` of a group for messages. */
function slotName(g: Graph, slot: Slot): string {
  if ('value' in slot) {
    const p = g.value(slot.value).producer;
    const n = p < 0 ? undefined : g.node(p);
    return n != null ? `${n.op}#${n.id} output dim ${slot.dim}` : `%${slot.value} dim ${slot.dim}`;
  }
  const n = g.nodes[slot.node];
  return `${n.op}#${n.id} attr ${slot.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')}`;
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
  for (let s = nDims; s < desc.nums.length; ++s) {
    const y = points.map((p) => p[s]);
    if (y.every((v) => v === y[0])) continue;
    const coef = inv.map((row) => row.reduce((acc, a, j) => acc + a * y[sel[j]], 0));
    const rounded = coef.map((c) => Math.round(c));
    const fits = coef.every((c, i) => Math.abs(c - rounded[i]) < 1e-6) &&
                 rows.every((row, p) => row.reduce((acc, m, j) => acc + m * rounded[j], 0) === y[p]);
    if (!fits) {
      group.state = 'traced';
      group.status = `${slotName(group.base, desc.slots[s])} is ${y.join(', ')} ${where()} of ${varNames.join(', ')}: ` +
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

const signBit = (v: number) => (v < 0 ? 1 : v === 0 ? 2 : 4);

function setPath(attrs: Attrs, path: (string|number)[], v: number): void {
  let o = attrs as unknown as {[k: string]: unknown};
  for (let i = 0; i < path.length - 1; ++i) o = o[path[i]] as {[k: string]: unknown};
  o[path[path.length - 1]] = v;
}

/** The instantiated graph of `group` at input dims `dims`, or a reason it is out of the template's domain. */
function instantiate(group: Group, dims: number[]): Graph|string {
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
  for (const [s, coef] of t.forms) {
    let v = 0;
    for (let j = 0; j < coef.length; ++j) if (coef[j] !== 0) v += coef[j] * monomial(x, j);
    const slot = desc.slots[s];
    // A number that turns negative or zero where it never was at a traced point crosses a boundary
    // the fit cannot see (pad to at least 4 rows: 4 - N, then max(0, 4 - N)): traced instead.
    if (!(t.signs.get(s)! & signBit(v))) return `${slotName(base, slot)} would be ${v}`;
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
  return g;
}

/** What compile.ts gets back for a new signature the generalizer can serve. */
export interface Instance {
  graph: Graph;
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
  /** The last thing worth telling about the family (a new structure, a failed instantiation). */
  note: string;
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
    for (const group of fam.groups) {
      if (group.state !== 'generic' || group.rejected.has(sig)) continue;
      const g = instantiate(group, dims);
      if (typeof g === 'string') continue;
      // Most recently used first.
      fam.groups.splice(fam.groups.indexOf(group), 1);
      fam.groups.unshift(group);
      if (group.shared == null) group.shared = new SharedConstants(group.base);
      const shared = group.shared;
      shared.acquire();
      let released = false;
      return {
        graph: g,
        constants: shared.infos,
        extra: group.extra,
        lineage: {group, family: fam},
        release: () => {
          if (!released) shared.release();
          released = true;
        },
        reject: (why) => {
          if (group.rejected.size < 64) group.rejected.add(sig);
          fam!.note = `instantiation at [${inputs.map((t) => `[${t.shape}]`).join(', ')}] failed its first run (${why}); traced`;
        },
      };
    }
    return null;
  }

  /** Records a traced, rewritten graph (the compiled object's plan for its signature). */
  addTrace(graph: Graph, extra: unknown): Lineage {
    const key = this.familyKey(graph.inputs.map((v) => graph.value(v)));
    let fam = this.families.get(key);
    const shapes = graph.inputs.map((v) => graph.value(v).shape.slice());
    if (fam == null) this.families.set(key, fam = {groups: [], note: ''});
    const desc = describe(graph);
    const same = (g: Group) => g.desc.tokens.length === desc.tokens.length && g.desc.tokens.every((t, i) => t === desc.tokens[i]) &&
                               g.desc.consts.every((c, i) => sameData(g.base.constants.get(c)!, graph.constants.get(desc.consts[i])!));
    let group = fam.groups.find(same);
    if (group == null) {
      if (fam.groups.length > 0) fam.note = `a new structure at [${shapes.map((s) => `[${s}]`).join(', ')}]: ${whyDifferent(fam.groups[0], desc, graph)}`;
      group = {desc, base: graph, points: [], template: null, state: 'waiting', status: '', shared: null, rejected: new Set(), extra};
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
      group.points.push(desc.nums);
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
function whyDifferent(group: Group, desc: Desc, graph: Graph): string {
  const a = group.desc.tokens, b = desc.tokens;
  for (let i = 0; i < Math.min(a.length, b.length); ++i) {
    if (a[i] !== b[i]) {
      const cut = (s: string) => (s.length > 100 ? `${s.slice(0, 100)}...` : s);
      return `the graphs differ ('${cut(a[i])}' vs '${cut(b[i])}')`;
    }
  }
  if (a.length !== b.length) return `the graphs differ in length (${a.length} vs ${b.length} entries)`;
  const i = group.desc.consts.findIndex((c, j) => !sameData(group.base.constants.get(c)!, graph.constants.get(desc.consts[j])!));
  const v = graph.value(desc.consts[i]);
  return `constant c${i} (${v.dtype}[${v.shape}]) holds other data (computed from a varying dim?)`;
}

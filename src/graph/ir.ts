// SPDX-License-Identifier: Apache-2.0
// The graph IR: typed SSA. Every value is defined exactly once — a graph input, a constant, or
// one output of one node — and nodes are kept in a topological order. Ops are tfjs kernel names
// ('Conv2D', '_FusedMatMul', ...) plus our own fused ops (prefixed 'ab.'). Passes rewrite it;
// validate() checks the invariants and runs after every pass in tests.
import type {BackendValues, DataType} from '@tensorflow/tfjs-core';

export type ValueId = number;
/** 'dead': a value no longer defined or read (its producer or constant was removed by a pass). */
export type ValueKind = 'input'|'const'|'node'|'dead';

export interface Value {
  id: ValueId;
  shape: number[];
  dtype: DataType;
  kind: ValueKind;
  /** The node that defines it (kind 'node'), else -1. */
  producer: number;
}

export type AttrValue = number|string|boolean|null|undefined|AttrValue[]|{[k: string]: AttrValue};
export type Attrs = {[name: string]: AttrValue};

export interface Node {
  id: number;
  op: string;
  /** Value ids of the inputs, in kernel order. */
  inputs: ValueId[];
  /** The kernel's input names, parallel to `inputs`; null when the kernel takes a list (Concat, AddN, Pack). */
  inputNames: string[]|null;
  attrs: Attrs;
  outputs: ValueId[];
}

export class IrError extends Error {
  constructor(message: string) {
    super(`afterburner graph: ${message}`);
    this.name = 'IrError';
  }
}

/** A graph: values by id, nodes in topological order, constants' data by value id. */
export class Graph {
  values: Value[] = [];
  nodes: Node[] = [];
  inputs: ValueId[] = [];
  outputs: ValueId[] = [];
  constants = new Map<ValueId, BackendValues>();
  private nextNodeId = 0;

  addValue(shape: number[], dtype: DataType, kind: ValueKind, producer = -1): ValueId {
    const id = this.values.length;
    this.values.push({id, shape: shape.slice(), dtype, kind, producer});
    return id;
  }

  addInput(shape: number[], dtype: DataType): ValueId {
    const id = this.addValue(shape, dtype, 'input');
    this.inputs.push(id);
    return id;
  }

  addConstant(shape: number[], dtype: DataType, data: BackendValues): ValueId {
    const id = this.addValue(shape, dtype, 'const');
    this.constants.set(id, data);
    return id;
  }

  /**
   * Appends a node defining fresh output values (`outs`: shape and dtype of each). It must come
   * after the producers of its inputs (use insertNodeBefore() inside a rewrite).
   */
  addNode(op: string, inputs: ValueId[], inputNames: string[]|null, attrs: Attrs,
          outs: {shape: number[], dtype: DataType}[]): Node {
    const node = this.makeNode(op, inputs, inputNames, attrs, outs);
    this.nodes.push(node);
    return node;
  }

  /** Like addNode(), but the node is placed just before `before` in the order. */
  insertNodeBefore(before: Node, op: string, inputs: ValueId[], inputNames: string[]|null, attrs: Attrs,
                   outs: {shape: number[], dtype: DataType}[]): Node {
    const node = this.makeNode(op, inputs, inputNames, attrs, outs);
    const at = this.nodes.indexOf(before);
    if (at < 0) throw new IrError(`insertNodeBefore: node ${before.id} is not in the graph`);
    this.nodes.splice(at, 0, node);
    return node;
  }

  private makeNode(op: string, inputs: ValueId[], inputNames: string[]|null, attrs: Attrs,
                   outs: {shape: number[], dtype: DataType}[]): Node {
    if (inputNames != null && inputNames.length !== inputs.length) {
      throw new IrError(`${op}: ${inputs.length} inputs but ${inputNames.length} input names`);
    }
    const id = this.nextNodeId++;
    const outputs = outs.map((o) => this.addValue(o.shape, o.dtype, 'node', id));
    return {id, op, inputs: inputs.slice(), inputNames: inputNames && inputNames.slice(), attrs, outputs};
  }

  value(id: ValueId): Value {
    const v = this.values[id];
    if (v == null) throw new IrError(`no value %${id}`);
    return v;
  }

  node(id: number): Node|undefined {
    return this.nodes.find((n) => n.id === id);
  }

  producer(v: ValueId): Node|undefined {
    const p = this.value(v).producer;
    return p < 0 ? undefined : this.node(p);
  }

  /** For each value, the nodes that read it (a node reading a value twice appears once). */
  consumers(): Map<ValueId, Node[]> {
    const m = new Map<ValueId, Node[]>();
    for (const n of this.nodes) {
      for (const v of new Set(n.inputs)) {
        let list = m.get(v);
        if (list == null) m.set(v, list = []);
        list.push(n);
      }
    }
    return m;
  }

  /** For each value read by a node, the index (in `nodes`) of the last node that reads it. */
  lastReads(): Map<ValueId, number> {
    const m = new Map<ValueId, number>();
    this.nodes.forEach((n, i) => n.inputs.forEach((v) => m.set(v, i)));
    return m;
  }

  /** Every read of `from` (node inputs and graph outputs) reads `to` instead. */
  replaceAllUses(from: ValueId, to: ValueId): void {
    for (const n of this.nodes) n.inputs = n.inputs.map((v) => v === from ? to : v);
    this.outputs = this.outputs.map((v) => v === from ? to : v);
  }

  removeNode(node: Node): void {
    const at = this.nodes.indexOf(node);
    if (at < 0) throw new IrError(`removeNode: node ${node.id} is not in the graph`);
    this.nodes.splice(at, 1);
  }

  isConstant(v: ValueId): boolean {
    return this.value(v).kind === 'const';
  }

  /** Op name -> count. */
  opCounts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const n of this.nodes) m.set(n.op, (m.get(n.op) ?? 0) + 1);
    return m;
  }

  /** A deep copy (constants' data is shared: it is never written). */
  clone(): Graph {
    const g = new Graph();
    g.values = this.values.map((v) => ({...v, shape: v.shape.slice()}));
    g.nodes = this.nodes.map((n) => ({...n, inputs: n.inputs.slice(), inputNames: n.inputNames && n.inputNames.slice(),
                                       attrs: structuredClone(n.attrs), outputs: n.outputs.slice()}));
    g.inputs = this.inputs.slice();
    g.outputs = this.outputs.slice();
    g.constants = new Map(this.constants);
    g.nextNodeId = this.nextNodeId;
    return g;
  }
}

/**
 * Checks the IR's invariants and throws an IrError naming the first one broken: values defined
 * once (by an input, a constant with data, or exactly one node listed as their producer), every
 * node input defined before the node, graph outputs defined, node ids unique, shapes well formed.
 */
export function validate(g: Graph): void {
  const defined = new Set<ValueId>();
  const fail = (msg: string) => {
    throw new IrError(`invalid graph: ${msg}`);
  };
  g.values.forEach((v, i) => {
    if (v.id !== i) fail(`value at index ${i} has id ${v.id}`);
    if (!v.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`%${i} has shape [${v.shape}]`);
  });
  for (const v of g.inputs) {
    if (g.values[v]?.kind !== 'input') fail(`graph input %${v} is not an input value`);
    if (defined.has(v)) fail(`graph input %${v} listed twice`);
    defined.add(v);
  }
  for (const v of g.values) {
    if (v.kind === 'const') {
      if (!g.constants.has(v.id)) fail(`constant %${v.id} has no data`);
      defined.add(v.id);
    } else if (v.kind === 'input' && !g.inputs.includes(v.id)) {
      // An input value no longer listed (a pass dropped it) must have no readers: checked below.
    }
  }
  for (const [id] of g.constants) {
    if (g.values[id]?.kind !== 'const') fail(`constant data for %${id}, which is not a constant`);
  }
  const nodeIds = new Set<number>();
  for (const n of g.nodes) {
    if (nodeIds.has(n.id)) fail(`node id ${n.id} used twice`);
    nodeIds.add(n.id);
    if (n.inputNames != null && n.inputNames.length !== n.inputs.length) fail(`${n.op}#${n.id}: input names do not match inputs`);
    for (const v of n.inputs) {
      if (!defined.has(v)) fail(`${n.op}#${n.id} reads %${v} before it is defined`);
    }
    if (n.outputs.length === 0) fail(`${n.op}#${n.id} has no outputs`);
    for (const v of n.outputs) {
      const val = g.values[v];
      if (val == null || val.kind !== 'node' || val.producer !== n.id) fail(`${n.op}#${n.id} output %${v} does not name it as producer`);
      if (defined.has(v)) fail(`%${v} defined twice`);
      defined.add(v);
    }
  }
  for (const v of g.values) {
    if ((v.kind === 'node' || v.kind === 'dead') && !defined.has(v.id) && g.nodes.some((n) => n.inputs.includes(v.id))) {
      fail(`%${v.id} is read but its producer is gone`);
    }
  }
  for (const v of g.outputs) {
    if (!defined.has(v)) fail(`graph output %${v} is not defined`);
  }
}

/** A short text form: one line per node, `%3 = Conv2D(%0, %1) {strides: [1,1]} : float32[1,8,8,4]`. */
export function printGraph(g: Graph): string {
  const ty = (v: ValueId) => `${g.value(v).dtype}[${g.value(v).shape.join(',')}]`;
  const lines: string[] = [];
  lines.push(`graph(${g.inputs.map((v) => `%${v}: ${ty(v)}`).join(', ')}) {`);
  const consts = [...g.constants.keys()];
  if (consts.length > 0) lines.push(`  // ${consts.length} constants`);
  for (const n of g.nodes) {
    const args = n.inputs.map((v, i) => (n.inputNames ? `${n.inputNames[i]}=` : '') + `%${v}`).join(', ');
    const attrs = Object.keys(n.attrs).length > 0 ? ` ${JSON.stringify(n.attrs)}` : '';
    lines.push(`  ${n.outputs.map((v) => `%${v}`).join(', ')} = ${n.op}(${args})${attrs} : ${n.outputs.map(ty).join(', ')}`);
  }
  lines.push(`  return ${g.outputs.map((v) => `%${v}`).join(', ')}`);
  lines.push('}');
  return lines.join('\n');
}

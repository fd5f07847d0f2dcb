// SPDX-License-Identifier: Apache-2.0
// Elementwise chains: a tree of elementwise ops over same-shape float32 values and scalar
// constants, each intermediate read only by the next op, becomes one 'ab.EwChain' node. It runs
// as one native call (native/ops/ew_chain.h) that streams the inputs block by block through L1
// and writes the output once, calling the same per-level kernels as the unfused ops (so results
// are bitwise those of the ops it replaces).
import {util} from '@tensorflow/tfjs-core';
import type {TensorInfo} from '@tensorflow/tfjs-core';

import {native} from '../binding';
import {f32, newOutput, sizeOf} from '../backend/kernel-utils';
import {BinaryOp, UnaryOp} from '../op-codes';
import {registerGraphOp} from './executor';
import {Graph, Node, ValueId} from './ir';
import {fusible, Rule} from './passes';

/** An expression tree: `in` indexes the chain node's inputs; `imm` is a scalar constant. */
export type Expr = {in: number}|{imm: number}|{un: string, a: Expr, alpha?: number}|{bin: string, a: Expr, b: Expr};

const BINARY = ['Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'SquaredDifference'];
const UNARY = Object.keys(UnaryOp);


/** `n` as an expression over its own inputs, or null when it is not a chain-able elementwise op. */
function exprOf(g: Graph, n: Node): {expr: Expr, inputs: ValueId[]}|null {
  if (n.op === 'ab.EwChain') return {expr: n.attrs.expr as unknown as Expr, inputs: n.inputs.slice()};
  if (n.outputs.length !== 1) return null;
  const out = g.value(n.outputs[0]);
  if (out.dtype !== 'float32') return null;
  const inputs: ValueId[] = [];
  const operand = (v: ValueId): Expr|null => {
    const val = g.value(v);
    if (val.dtype !== 'float32') return null;
    if (val.kind === 'const' && sizeOf(val.shape) === 1) return {imm: (g.constants.get(v) as Float32Array)[0]};
    if (!util.arraysEqual(val.shape, out.shape)) return null;  // broadcasting: left to the op's own kernel
    let i = inputs.indexOf(v);
    if (i < 0) i = inputs.push(v) - 1;
    return {in: i};
  };
  if (BINARY.includes(n.op) && n.inputs.length === 2) {
    const a = operand(n.inputs[0]), b = operand(n.inputs[1]);
    if (a == null || b == null || ('imm' in a && 'imm' in b)) return null;
    return {expr: {bin: n.op, a, b}, inputs};
  }
  if (UNARY.includes(n.op) && n.inputs.length === 1) {
    const a = operand(n.inputs[0]);
    if (a == null || 'imm' in a) return null;
    return {expr: n.op === 'LeakyRelu' ? {un: n.op, a, alpha: (n.attrs.alpha as number) ?? 0.2} : {un: n.op, a}, inputs};
  }
  return null;
}

function countOps(e: Expr): number {
  if ('un' in e) return 1 + countOps(e.a);
  if ('bin' in e) return 1 + countOps(e.a) + countOps(e.b);
  return 0;
}

/** Replaces leaf {in: at} of `e` by `sub`; other leaves are renumbered by `remap`. */
function substitute(e: Expr, at: number, sub: Expr, remap: (i: number) => number): Expr {
  if ('in' in e) return e.in === at ? sub : {in: remap(e.in)};
  if ('imm' in e) return e;
  if ('un' in e) return {...e, a: substitute(e.a, at, sub, remap)};
  return {...e, a: substitute(e.a, at, sub, remap), b: substitute(e.b, at, sub, remap)};
}

const IN = 0 << 24, REG = 1 << 24, IMM = 2 << 24;
const MAX_REGS = 8;

/** The native program of an expression: 5 words per instruction; null if it needs too many registers. */
export function codegen(e: Expr): {prog: Int32Array, imms: Float32Array}|null {
  const words: number[] = [], imms: number[] = [];
  const free = [7, 6, 5, 4, 3, 2, 1];
  const imm = (v: number) => {
    let k = imms.indexOf(v);
    if (k < 0 || Object.is(v, -0)) k = imms.push(v) - 1;
    return k;
  };
  // Emits `x`; returns its operand code, and the register it occupies (to free) or -1.
  const emit = (x: Expr, dst: number|null): {code: number, reg: number}|null => {
    if ('in' in x) return {code: IN | x.in, reg: -1};
    if ('imm' in x) return {code: IMM | imm(x.imm), reg: -1};
    const a = emit(x.a, null);
    if (a == null) return null;
    const b = 'bin' in x ? emit(x.b, null) : {code: -1, reg: -1};
    if (b == null) return null;
    for (const r of [a.reg, b.reg]) if (r > 0) free.push(r);
    let d = dst;
    if (d == null) {
      d = free.pop() ?? null;
      if (d == null) return null;
    }
    if ('un' in x) words.push(0, UnaryOp[x.un as keyof typeof UnaryOp], d, a.code, x.alpha != null ? imm(x.alpha) : -1);
    else words.push(1, BinaryOp[x.bin as keyof typeof BinaryOp], d, a.code, b.code);
    return {code: REG | d, reg: d};
  };
  if (emit(e, 0) == null || words.length === 0) return null;
  return {prog: Int32Array.from(words), imms: Float32Array.from(imms)};
}

/** Merges an elementwise producer into its elementwise reader (one reader, same shape). */
const chainRule: Rule = {
  name: 'elementwise ops chained',
  ops: [...BINARY, ...UNARY, 'ab.EwChain'],
  apply(g, n, ctx) {
    const me = exprOf(g, n);
    if (me == null) return false;
    const outShape = g.value(n.outputs[0]).shape;
    for (let k = 0; k < me.inputs.length; ++k) {
      const v = me.inputs[k];
      const p = g.producer(v);
      if (p == null || !fusible(g, ctx, v) || !util.arraysEqual(g.value(v).shape, outShape)) continue;
      const sub = exprOf(g, p);
      if (sub == null) continue;
      // New inputs: mine without v, then the producer's (shared ones once).
      const inputs = me.inputs.filter((x) => x !== v);
      const mine = (i: number) => inputs.indexOf(me.inputs[i]);
      const theirs = (i: number) => {
        let j = inputs.indexOf(sub.inputs[i]);
        if (j < 0) j = inputs.push(sub.inputs[i]) - 1;
        return j;
      };
      const subExpr = substitute(sub.expr, -1, sub.expr, theirs);
      const expr = substitute(me.expr, k, subExpr, mine);
      if (countOps(expr) > 64 || codegen(expr) == null) continue;
      n.op = 'ab.EwChain';
      n.inputs = inputs;
      n.inputNames = null;
      n.attrs = {expr: expr as never};
      g.removeNode(p);
      return true;
    }
    return false;
  },
};

export const EWCHAIN_RULES: Rule[] = [chainRule];

const programs = new WeakMap<object, {prog: Int32Array, imms: Float32Array}>();

registerGraphOp('ab.EwChain', ({inputs, attrs, backend}) => {
  if (native == null) throw new Error('afterburner: ab.EwChain needs the native addon');
  let p = programs.get(attrs);
  if (p == null) {
    const c = codegen(attrs.expr as Expr);
    if (c == null) throw new Error('afterburner: ab.EwChain: the expression needs more than 8 registers');
    programs.set(attrs, p = c);
  }
  const first = inputs[0] as TensorInfo;
  const out = newOutput(sizeOf(first.shape));
  native.ewChain(p.prog, p.imms, inputs.map((t) => f32(backend, t)), out);
  return [backend.makeTensorInfo(first.shape, 'float32', out)];
});

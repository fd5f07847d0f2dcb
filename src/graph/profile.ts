// SPDX-License-Identifier: Apache-2.0
// Per-node timings of a compiled plan (compiled.startProfile() / stopProfile()): where the time of
// a run goes, node by node and op by op, with the arithmetic rate of convolutions and matmuls.
// Native nodes are timed in the addon around each replayed call (steady clock), JS nodes and
// interpreted runs in JS around the kernel; the timer itself costs ~20-40 ns a call.
import {Graph, Node} from './ir';

export interface ProfileNode {
  /** Index in the plan's graph (print() shows the same order). */
  index: number;
  op: string;
  /** 'native': replayed in the addon; 'js': run from JS at replay; 'view': no work; 'interpreted': no native plan. */
  kind: string;
  /** Milliseconds per run. */
  ms: number;
  /** Of the nodes' total. */
  share: number;
  /** The first output's shape. */
  shape: number[];
  /** Convolutions and matmuls: GFLOP/s (2 flops a multiply-add); otherwise null. */
  gflops: number|null;
}

export interface ProfileReport {
  runs: number;
  /** Milliseconds per run summed over the nodes (the run's own overhead, copies in and out, excluded). */
  ms: number;
  executor: 'native'|'interpreter';
  /** In graph order. */
  nodes: ProfileNode[];
  /** Per op: nodes, milliseconds per run and share, largest first. */
  ops: {op: string, count: number, ms: number, share: number}[];
  /** The top `top` nodes and ops as text. */
  table(top?: number): string;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Multiply-adds of a node (convolutions, matmuls), or null. */
function multiplyAdds(g: Graph, n: Node): number|null {
  const out = g.value(n.outputs[0]).shape;
  const inShape = (i: number) => (n.inputs[i] != null ? g.value(n.inputs[i]).shape : null);
  const attrs = n.attrs as {[k: string]: unknown};
  if (/Depthwise/.test(n.op)) {
    const f = inShape(1);
    return f != null && f.length === 4 ? prod(out) * f[0] * f[1] : null;
  }
  if (/Conv2D/.test(n.op) && !/Backprop/.test(n.op)) {
    const f = inShape(1);
    return f != null && f.length === 4 ? prod(out) * f[0] * f[1] * f[2] : null;
  }
  if (/MatMul/.test(n.op)) {
    const a = inShape(0);
    if (a == null || a.length < 2) return null;
    const ta = attrs.transposeA === true || attrs.adjX === true;
    return prod(out) * (ta ? a[a.length - 2] : a[a.length - 1]);
  }
  return null;
}

export function profileReport(g: Graph, prof: {ms: Float64Array, runs: number, native: boolean},
                              kinds: readonly string[]|null): ProfileReport {
  const runs = Math.max(prof.runs, 1);
  let total = 0;
  for (const v of prof.ms) total += v / runs;
  const nodes: ProfileNode[] = g.nodes.map((n, i) => {
    const ms = (prof.ms[i] ?? 0) / runs;
    const macs = multiplyAdds(g, n);
    return {
      index: i, op: n.op, kind: prof.native && kinds != null ? kinds[i] ?? 'native' : 'interpreted', ms,
      share: total > 0 ? ms / total : 0, shape: [...g.value(n.outputs[0]).shape],
      gflops: macs != null && ms > 0 ? 2 * macs / (ms * 1e6) : null,
    };
  });
  const byOp = new Map<string, {op: string, count: number, ms: number, share: number}>();
  for (const n of nodes) {
    const e = byOp.get(n.op) ?? {op: n.op, count: 0, ms: 0, share: 0};
    e.count++;
    e.ms += n.ms;
    e.share += n.share;
    byOp.set(n.op, e);
  }
  const ops = [...byOp.values()].sort((a, b) => b.ms - a.ms);
  const report: ProfileReport = {
    runs: prof.runs, ms: total, executor: prof.native ? 'native' : 'interpreter', nodes, ops,
    table(top = 20) {
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(6);
      const lines = [`${prof.runs} runs, ${total.toFixed(3)} ms a run in ${nodes.length} nodes (${report.executor})`, '',
        '   ms/run  share  GFLOP/s  node'];
      for (const n of [...nodes].sort((a, b) => b.ms - a.ms).slice(0, top)) {
        const gf = n.gflops != null ? n.gflops.toFixed(1).padStart(8) : '        ';
        lines.push(`${n.ms.toFixed(4).padStart(9)} ${pct(n.share)} ${gf}  #${n.index} ${n.op} [${n.shape}] ${n.kind}`);
      }
      lines.push('', '   ms/run  share  count  op');
      for (const o of ops.slice(0, top)) lines.push(`${o.ms.toFixed(4).padStart(9)} ${pct(o.share)} ${String(o.count).padStart(6)}  ${o.op}`);
      return lines.join('\n');
    },
  };
  return report;
}

// SPDX-License-Identifier: Apache-2.0
// The memory planner: every intermediate of a graph (a node output that is not a graph output)
// gets an offset in one arena, such that two values alive at the same time never share bytes.
// Lifetimes come from the node order: a value lives from the node that makes it to its last
// reader. Placement is greedy by size, largest first (the classic offset-assignment heuristic of
// TFLite's arena planner): each value takes the lowest aligned gap among the already-placed
// values whose lifetimes overlap its own.
import {sizeOf} from '../backend/kernel-utils';
import {Graph, ValueId} from './ir';

const BYTES: {[dtype: string]: number} = {float32: 4, int32: 4, bool: 1, complex64: 8, string: 0};
/** Offsets are multiples of this (a cache line; AVX-512 loads stay aligned). */
export const ARENA_ALIGN = 64;

export interface Slot {
  value: ValueId;
  offset: number;
  bytes: number;
  /** First and last node index (in graph.nodes order) during which the value (or a view of it) is alive. */
  first: number;
  last: number;
}

export interface MemoryPlan {
  slots: Map<ValueId, Slot>;
  /** Arena size: the highest end offset of any slot. */
  arenaBytes: number;
  /** The most bytes of intermediates alive at once: no placement can do better than this. */
  liveBytes: number;
}

export function valueBytes(g: Graph, v: ValueId): number {
  const val = g.value(v);
  return sizeOf(val.shape) * (BYTES[val.dtype] ?? 4);
}

const align = (n: number) => Math.ceil(n / ARENA_ALIGN) * ARENA_ALIGN;

export interface PlanOptions {
  /**
   * The value whose memory `v` uses (a reshape or a contiguous slice views its input's data):
   * values of one group share the root's slot, alive as long as any member is. Default: itself.
   */
  group?: (v: ValueId) => ValueId;
  /** Whether a group root may live in the arena. Default: any node output that is not a graph output. */
  eligible?: (v: ValueId) => boolean;
}

/** Plans the arena for `g`'s intermediates (graph outputs are returned fresh, never in the arena). */
export function planMemory(g: Graph, opts: PlanOptions = {}): MemoryPlan {
  const outs = new Set(g.outputs);
  const group = opts.group ?? ((v: ValueId) => v);
  const eligible = opts.eligible ?? ((v: ValueId) => !outs.has(v) && g.value(v).kind === 'node');
  const lastRead = g.lastReads();
  const byRoot = new Map<ValueId, Slot>();
  const members = new Map<ValueId, ValueId>();
  g.nodes.forEach((n, i) => {
    for (const v of n.outputs) {
      const r = group(v);
      if (!eligible(r)) continue;
      // A member returned from the graph is copied out after the last node: alive to the end.
      const last = outs.has(v) ? g.nodes.length : (lastRead.get(v) ?? i);
      const s = byRoot.get(r);
      if (s == null) {
        byRoot.set(r, {value: r, offset: -1, bytes: valueBytes(g, r), first: i, last});
      } else {
        s.first = Math.min(s.first, i);
        s.last = Math.max(s.last, last);
      }
      if (v !== r) members.set(v, r);
    }
  });
  const slots = [...byRoot.values()];
  // Peak of live bytes over time (the lower bound).
  let liveBytes = 0;
  const delta = new Map<number, number>();
  for (const s of slots) {
    delta.set(s.first, (delta.get(s.first) ?? 0) + s.bytes);
    delta.set(s.last + 1, (delta.get(s.last + 1) ?? 0) - s.bytes);
  }
  let cur = 0;
  for (const t of [...delta.keys()].sort((a, b) => a - b)) {
    cur += delta.get(t)!;
    liveBytes = Math.max(liveBytes, cur);
  }
  // Greedy placement in a few orders (largest first, as TFLite's arena planner does; longest-lived
  // first; by first use; by size x lifetime), keeping the smallest arena: the orders leave
  // different gaps, and no one of them wins on every graph.
  const orders: ((a: Slot, b: Slot) => number)[] = [
    (a, b) => b.bytes - a.bytes || a.first - b.first || a.value - b.value,
    (a, b) => (b.last - b.first) - (a.last - a.first) || b.bytes - a.bytes || a.value - b.value,
    (a, b) => a.first - b.first || b.bytes - a.bytes || a.value - b.value,
    (a, b) => b.bytes * (b.last - b.first + 1) - a.bytes * (a.last - a.first + 1) || a.value - b.value,
  ];
  let arenaBytes = Infinity, best: number[] = [];
  for (const cmp of orders) {
    const offsets = place(slots.slice().sort(cmp));
    const end = slots.reduce((m, s) => Math.max(m, offsets.get(s)! + s.bytes), 0);
    if (end < arenaBytes) {
      arenaBytes = end;
      best = slots.map((s) => offsets.get(s)!);
    }
  }
  slots.forEach((s, i) => s.offset = best[i] ?? 0);
  if (slots.length === 0) arenaBytes = 0;
  const all = new Map(slots.map((s) => [s.value, s]));
  for (const [v, r] of members) all.set(v, byRoot.get(r)!);
  return {slots: all, arenaBytes: align(arenaBytes), liveBytes};
}

/** Greedy offsets for `order`: each slot takes the lowest aligned gap among the placed slots alive with it. */
function place(order: Slot[]): Map<Slot, number> {
  const at = new Map<Slot, number>();
  const placed: Slot[] = [];
  for (const s of order) {
    const overlapping = placed.filter((p) => p.first <= s.last && s.first <= p.last).sort((a, b) => at.get(a)! - at.get(b)!);
    let offset = 0;
    for (const p of overlapping) {
      const po = at.get(p)!;
      if (offset + s.bytes <= po) break;  // fits in the gap before p
      offset = Math.max(offset, align(po + p.bytes));
    }
    at.set(s, offset);
    placed.push(s);
  }
  return at;
}

/** Peak bytes of node outputs alive at once when the nodes run in order (freed after last read), graph outputs included. */
export function peakBytes(g: Graph): number {
  const lastRead = g.lastReads();
  const outs = new Set(g.outputs);
  let live = 0, peak = 0;
  const freeAt = new Map<number, ValueId[]>();
  g.nodes.forEach((n, i) => {
    for (const v of n.outputs) {
      live += valueBytes(g, v);
      if (!outs.has(v)) {
        const at = lastRead.get(v) ?? i;
        freeAt.set(at, [...(freeAt.get(at) ?? []), v]);
      }
    }
    peak = Math.max(peak, live);
    for (const v of freeAt.get(i) ?? []) live -= valueBytes(g, v);
  });
  return peak;
}

/** Throws if two slots alive at once share bytes, or a slot is misaligned or outside the arena. */
export function checkPlan(plan: MemoryPlan): void {
  const all = [...new Set(plan.slots.values())];
  for (const s of all) {
    if (s.offset < 0 || s.offset % ARENA_ALIGN !== 0 || s.offset + s.bytes > plan.arenaBytes) {
      throw new Error(`memory plan: %${s.value} at ${s.offset} (+${s.bytes}) in an arena of ${plan.arenaBytes}`);
    }
  }
  for (let i = 0; i < all.length; ++i) {
    for (let j = i + 1; j < all.length; ++j) {
      const a = all[i], b = all[j];
      const timeOverlap = a.first <= b.last && b.first <= a.last;
      const spaceOverlap = a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes && a.bytes > 0 && b.bytes > 0;
      if (timeOverlap && spaceOverlap) throw new Error(`memory plan: %${a.value} and %${b.value} are alive together and overlap`);
    }
  }
}

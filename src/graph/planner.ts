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
  /**
   * What the slot holds over time, each from its start: one rectangle per group member (its
   * lifetime and bytes). A group whose later members are smaller (an op written in place over
   * its input, e.g. a pooling) needs fewer bytes once the larger members are dead.
   */
  rects: {first: number, last: number, bytes: number}[];
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
  /**
   * The bytes from the slot's start that member `v` occupies while alive. Default: the root's
   * bytes (a view may lie anywhere in its root); an op written in place over its input gives its
   * own output's bytes.
   */
  memberBytes?: (v: ValueId, root: ValueId) => number;
}

/** Plans the arena for `g`'s intermediates (graph outputs are returned fresh, never in the arena). */
export function planMemory(g: Graph, opts: PlanOptions = {}): MemoryPlan {
  const outs = new Set(g.outputs);
  const group = opts.group ?? ((v: ValueId) => v);
  const eligible = opts.eligible ?? ((v: ValueId) => !outs.has(v) && g.value(v).kind === 'node');
  const lastRead = g.lastReads();
  const memberBytes = opts.memberBytes ?? ((_v: ValueId, r: ValueId) => valueBytes(g, r));
  const byRoot = new Map<ValueId, Slot>();
  const members = new Map<ValueId, ValueId>();
  g.nodes.forEach((n, i) => {
    for (const v of n.outputs) {
      const r = group(v);
      if (!eligible(r)) continue;
      // A member returned from the graph is copied out after the last node: alive to the end.
      const last = outs.has(v) ? g.nodes.length : (lastRead.get(v) ?? i);
      const rect = {first: i, last, bytes: v === r ? valueBytes(g, r) : Math.min(memberBytes(v, r), valueBytes(g, r))};
      const s = byRoot.get(r);
      if (s == null) {
        byRoot.set(r, {value: r, offset: -1, bytes: valueBytes(g, r), first: i, last, rects: [rect]});
      } else {
        s.first = Math.min(s.first, i);
        s.last = Math.max(s.last, last);
        s.rects.push(rect);
      }
      if (v !== r) members.set(v, r);
    }
  });
  const slots = [...byRoot.values()];
  // Peak of live bytes over time (the lower bound): each slot counts its largest live member.
  let liveBytes = 0;
  const times = [...new Set(slots.flatMap((s) => s.rects.map((r) => r.first)))].sort((a, b) => a - b);
  for (const t of times) {
    let cur = 0;
    for (const s of slots) {
      let m = 0;
      for (const r of s.rects) if (r.first <= t && t <= r.last && r.bytes > m) m = r.bytes;
      cur += m;
    }
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
    const end = slots.reduce((m, s) => Math.max(m, offsets.get(s)! + s.bytes), 0);  // (the root's rectangle is the largest)
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

/** Greedy offsets for `order`: each slot takes the lowest aligned offset where none of its rectangles meets a placed one. */
function place(order: Slot[]): Map<Slot, number> {
  const at = new Map<Slot, number>();
  const placed: Slot[] = [];
  for (const s of order) {
    // Placed rectangles alive with one of s's: [offset, end) ranges to keep s's rectangle clear of.
    const blocks: {lo: number, hi: number, need: number}[] = [];
    for (const p of placed) {
      if (!(p.first <= s.last && s.first <= p.last)) continue;
      const po = at.get(p)!;
      for (const pr of p.rects) {
        for (const sr of s.rects) {
          if (pr.first <= sr.last && sr.first <= pr.last) blocks.push({lo: po, hi: po + pr.bytes, need: sr.bytes});
        }
      }
    }
    blocks.sort((a, b) => a.lo - b.lo);
    let offset = 0;
    for (let moved = true; moved;) {
      moved = false;
      for (const b of blocks) {
        if (offset < b.hi && b.lo < offset + b.need && b.hi > b.lo && b.need > 0) {
          offset = align(b.hi);
          moved = true;
        }
      }
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
      for (const ra of a.rects) {
        for (const rb of b.rects) {
          const timeOverlap = ra.first <= rb.last && rb.first <= ra.last;
          const spaceOverlap = a.offset < b.offset + rb.bytes && b.offset < a.offset + ra.bytes && ra.bytes > 0 && rb.bytes > 0;
          if (timeOverlap && spaceOverlap) throw new Error(`memory plan: %${a.value} and %${b.value} are alive together and overlap`);
        }
      }
    }
  }
}

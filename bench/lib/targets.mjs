// SPDX-License-Identifier: Apache-2.0
// The performance targets for this machine (one thread unless said), checked against the
// numbers of a run. Measured, never asserted in tests: a run prints met / NOT met / not measured.
import {PEAKS} from './engines.mjs';

const best = (r) => (r?.best != null ? r.best : null);

export const TARGETS = [
  {
    what: `GEMM 1024³, 1 thread ≥ 180 GFLOP/s (≥ 85% of the ${PEAKS.fma.perThread} GFLOP/s FMA peak)`,
    eval: (R, meta) => {
      const r = R['gemm-1024']?.afterburner[1];
      const now = meta?.fmaPeakNow ? ` (${Math.round(100 * r?.rateBest / meta.fmaPeakNow)}% of the ${meta.fmaPeakNow} measured now)` : '';
      return r?.rateBest != null ? {value: `${r.rateBest.toFixed(1)} GFLOP/s${now}`, met: r.rateBest >= 180} : null;
    },
  },
  {
    what: `GEMM 1024³, 1 thread ≥ 85% of this machine's FMA peak (≥ ${Math.round(0.85 * PEAKS.fma.perThread)} GFLOP/s; the 180 above assumes a 211 peak this CPU does not have)`,
    eval: (R) => {
      const r = R['gemm-1024']?.afterburner[1];
      return r?.rateBest != null ? {value: `${r.rateBest.toFixed(1)} GFLOP/s (${Math.round(100 * r.rateBest / PEAKS.fma.perThread)}%)`,
        met: r.rateBest >= 0.85 * PEAKS.fma.perThread} : null;
    },
  },
  {
    what: 'GEMM 1024³, 1 thread vs oneDNN dnnl_sgemm measured in the same run (bench/native/anchors.cc)',
    eval: (R, meta) => {
      const r = R['gemm-1024']?.afterburner[1], d = meta?.anchors?.[1]?.onednn_sgemm_1024;
      return r?.rateBest != null && d ? {value: `${(r.rateBest / d).toFixed(2)}× oneDNN (${d} GFLOP/s)`, met: r.rateBest >= d} : null;
    },
  },
  {
    what: 'GEMM 1024³, 1 thread ≥ 5× tfjs-backend-wasm',
    eval: (R) => {
      const a = best(R['gemm-1024']?.afterburner[1]), b = best(R['gemm-1024']?.wasm);
      return a && b ? {value: `${(b / a).toFixed(2)}×`, met: b / a >= 5} : null;
    },
  },
  {
    what: 'GEMM 1024³, 1 thread ≥ 200× tfjs-backend-cpu',
    eval: (R) => {
      const a = best(R['gemm-1024']?.afterburner[1]), b = best(R['gemm-1024']?.cpu);
      return a && b ? {value: `${(b / a).toFixed(0)}×`, met: b / a >= 200} : null;
    },
  },
  {
    what: `GEMV 1x4096x4096 cold weights, 1 thread ≥ 80% of DRAM read bandwidth (≥ ${0.8 * PEAKS.dram.perThread} GB/s)`,
    eval: (R) => {
      const r = R['gemv-4096']?.afterburner[1];
      return r?.rateBest != null ?
          {value: `${r.rateBest.toFixed(1)} GB/s (${Math.round(100 * r.rateBest / PEAKS.dram.perThread)}%)`,
            met: r.rateBest >= 0.8 * PEAKS.dram.perThread} : null;
    },
  },
  {
    what: 'tiny kernel call from tfjs (Add of two 8-element tensors, incl. dispose) ≤ 5 µs (median)',
    eval: (R) => {
      const r = R['tiny-add-8']?.afterburner[1];
      return r?.median != null ? {value: `${(r.median * 1e6).toFixed(2)} µs median (best ${(r.best * 1e6).toFixed(2)})`,
        met: r.median * 1e6 <= 5} : null;
    },
  },
  {
    what: 'GEMM 1024³: 2 threads ≥ 1.8× 1 thread',
    eval: (R) => {
      const a = best(R['gemm-1024']?.afterburner[1]), b = best(R['gemm-1024']?.afterburner[2]);
      return a && b ? {value: `${(a / b).toFixed(2)}×`, met: a / b >= 1.8} : null;
    },
  },
];

/** [{what, value, status}] for the results of a run (`results` as run.mjs builds them). */
export function checkTargets(results, meta = {}) {
  const R = Object.fromEntries(results.map((r) => [r.id, r]));
  return TARGETS.map((t) => {
    const v = t.eval(R, meta);
    return {what: t.what, value: v ? v.value : '—', status: v ? (v.met ? 'met' : 'NOT met') : 'not measured'};
  });
}

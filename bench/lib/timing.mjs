// SPDX-License-Identifier: Apache-2.0
// Timing: warm-up, then repeat until a time budget or a rep cap; best and median per call.

const now = () => performance.now() / 1e3;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times `run(n)` (n calls back to back; may return a promise). `warmup` warm-up calls first (a case
 * that cycles over several weight sets warms each one: an engine may pack weights on first use). With one, unless it
 * takes longer than `slowCall` seconds (then it is kept as a sample: JIT and first-touch costs are
 * noise next to a call that long). Calls are batched so that one sample lasts at least
 * `minSample` seconds (tiny ops); samples are taken until `minTime` seconds have passed and at
 * least `minReps` samples exist, or `maxReps` samples exist. Returns seconds per call.
 */
export async function measure(run, {minTime = 0.3, minReps = 3, maxReps = 1000, minSample = 0, slowCall = 1, warmup = 1} = {}) {
  const timeOne = async (n) => {
    const t0 = now();
    const r = run(n);
    if (r && typeof r.then === 'function') await r;
    return (now() - t0) / n;
  };
  const samples = [];
  let first = await timeOne(1);
  for (let w = 1; w < warmup; ++w) first = await timeOne(1);
  if (first > slowCall && warmup <= 1) samples.push(first);
  else if (first < 0.02) {
    // Cheap calls: warm up for 0.2 s, so V8 has tiered the call path up (thousands of calls)
    // before samples are taken; every engine gets the same.
    const t0 = now(), n = Math.max(1, Math.ceil(1e-3 / Math.max(first, 1e-7)));
    while (now() - t0 < 0.2) first = Math.min(first, await timeOne(n));
  }
  const batch = minSample > 0 ? Math.max(1, Math.ceil(minSample / Math.max(first, 1e-7))) : 1;
  const start = now();
  while (samples.length < maxReps && (samples.length < minReps || now() - start < minTime)) {
    samples.push(await timeOne(batch));
  }
  return {best: Math.min(...samples), median: median(samples), reps: samples.length, batch};
}

/**
 * Times two ways of doing the same thing interleaved (a, b, a, b, ... one call each, after a warm-up
 * of each): on a shared machine a burst of load then hits both alike, so their ratio is steadier
 * than two measure() calls one after the other. Returns each one's median and best seconds per
 * call and the median over rounds of a's time / b's time.
 */
export async function measurePair(runA, runB, {minTime = 1, minReps = 5, maxReps = 2000, warmup = 2} = {}) {
  const timeOne = async (run) => {
    const t0 = now();
    const r = run();
    if (r && typeof r.then === 'function') await r;
    return now() - t0;
  };
  for (let w = 0; w < warmup; ++w) {
    await timeOne(runA);
    await timeOne(runB);
  }
  const a = [], b = [], ratio = [];
  const start = now();
  while (a.length < maxReps && (a.length < minReps || now() - start < minTime)) {
    const ta = await timeOne(runA), tb = await timeOne(runB);
    a.push(ta);
    b.push(tb);
    ratio.push(ta / tb);
  }
  return {a: {median: median(a), best: Math.min(...a)}, b: {median: median(b), best: Math.min(...b)}, ratio: median(ratio), reps: a.length};
}

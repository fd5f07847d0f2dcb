// SPDX-License-Identifier: Apache-2.0
// Child process of bench/run.mjs: measures the given jobs of one case and prints, per job,
// "@@START job" then "@@RESULT {json}". The first output of each job goes to a file for the
// cross-engine check. Argument: one JSON object {caseId, jobs, minTime, quick, outdir, timing?}.
import * as fs from 'fs';
import * as path from 'path';

import {findCase} from './cases.mjs';
import {ab, randomData, setupEngines, timeOrt, timeTfjs} from './engines.mjs';

const args = JSON.parse(process.argv[2]);
const c = findCase(args.caseId);
if (!c) throw new Error(`no case ${args.caseId}`);
const wantOrt = args.jobs.some((j) => j.startsWith('ort'));
const {ort, status} = await setupEngines({wantOrt});

const inputs = {};
let seed = 1;
for (const [k, shape] of Object.entries(c.inputs)) inputs[k] = {shape, data: randomData(shape.reduce((a, b) => a * b, 1), seed++)};
const timing = {minTime: args.minTime, ...(c.timing ?? {})};
if (args.quick) timing.minTime = Math.min(timing.minTime, args.minTime);

for (const job of args.jobs) {
  const [engine, th] = job.split('@');
  const t = {...timing};
  const l = c.limits?.[engine] ?? {};
  if (l.minReps != null) t.minReps = l.minReps;
  if (l.maxReps != null) t.maxReps = l.maxReps;
  Object.assign(t, args.timing?.[engine] ?? {});  // per-engine overrides from the caller
  console.log(`@@START ${job}`);
  let r;
  try {
    const once = (tt) => {
      if (engine === 'afterburner') {
        if (status.afterburner) throw new Error(status.afterburner);
        ab.setNumThreads(Number(th));
        return timeTfjs('afterburner', c, inputs, tt);
      } else if (engine === 'ort') {
        if (!ort) throw new Error(`onnxruntime-node not available: ${status.ort}`);
        return timeOrt(ort, Number(th), c, inputs, tt);
      }
      return timeTfjs(engine, c, inputs, tt);
    };
    // An unmeasured pass first (every engine alike, unless its calls are slow): the first job of a
    // fresh process otherwise pays for the process's warm-up (allocator arenas, GC heap growth),
    // which made one-thread rows look several times slower than the two-thread rows after them.
    if (!(t.maxReps != null && t.maxReps <= 3)) await once({...t, minTime: 0.15, minReps: 1});
    r = await once(t);
    if (r.output) {
      const f = path.join(args.outdir, `${c.id}.${job}.f32`);
      fs.writeFileSync(f, Buffer.from(r.output.buffer, r.output.byteOffset, r.output.byteLength));
      r.outputFile = f;
    }
    delete r.output;
  } catch (e) {
    r = {error: String(e?.message ?? e).split('\n')[0]};
  }
  console.log(`@@RESULT ${JSON.stringify({job, ...r})}`);
}
process.exit(0);

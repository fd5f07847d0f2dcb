// SPDX-License-Identifier: Apache-2.0
// Runs the jobs of one case (afterburner@1, afterburner@2, cpu, wasm, ort@1, ort@2) in child
// processes (bench/lib/child.mjs), one after another: afterburner in one child, the baselines in
// another. A job that hangs (past its time limit) or crashes its process is retried once in a
// fresh child (`retries`); the result records the failed attempts, and a job that fails every
// time becomes an error in its own cell. A fresh child takes the remaining jobs.
import {spawn} from 'child_process';
import * as path from 'path';

const CHILD = path.join(path.dirname(new URL(import.meta.url).pathname), 'child.mjs');

/** Seconds a job may take before it counts as hung (its calls take a few seconds at most). */
function jobLimit(job, opt) {
  if (opt.jobTimeout != null) return job === 'cpu' && opt.full ? Math.max(opt.jobTimeout, 600) : opt.jobTimeout;
  if (job.startsWith('afterburner')) return 30;
  if (job === 'cpu') return opt.full ? 600 : 120;
  return 60;
}

/**
 * afterburner runs in a process of its own: its thread pool pins the calling (main) thread to one
 * core, and threads created later (onnxruntime's pool, libuv's) inherit that one-core mask, which
 * would handicap the baselines measured after it in the same process.
 */
export async function runJobs(c, jobs, {opt, minTime, outdir}, onResult) {
  const groups = [jobs.filter((j) => j.startsWith('afterburner')), jobs.filter((j) => !j.startsWith('afterburner'))];
  const retries = opt.retries ?? 1;
  for (const group of groups) {
    let todo = group;
    const failed = {};  // job -> errors of earlier attempts
    while (todo.length > 0) {
      let retry = null;
      const done = await runChild(c, todo, {opt, minTime, outdir}, (job, r) => {
        const past = failed[job] ?? [];
        if (r.crashed && past.length < retries) {
          failed[job] = [...past, r.error];
          retry = job;
          return;
        }
        if (r.crashed && past.length) r.error += ` (all ${past.length + 1} attempts)`;
        else if (past.length) r.failedAttempts = past;
        delete r.crashed;
        onResult(job, r);
      });
      todo = retry ? [retry, ...todo.slice(done)] : todo.slice(done);
    }
  }
}

/** One child over `jobs`; resolves to how many jobs got a result (finished, hung or crashed). */
function runChild(c, jobs, {opt, minTime, outdir}, onResult) {
  return new Promise((resolve) => {
    const args = {caseId: c.id, jobs, minTime, quick: opt.quick, outdir, timing: opt.timing};
    const child = spawn(process.execPath, ['--no-warnings', CHILD, JSON.stringify(args)], {stdio: ['ignore', 'pipe', 'pipe']});
    let count = 0, current = null, started = 0, timer = null, killedFor = null, buf = '', errTail = '';
    const arm = (job) => {
      clearTimeout(timer);
      const limit = jobLimit(job, opt);
      timer = setTimeout(() => {
        killedFor = `timed out: no result after ${limit} s (hung?)`;
        child.kill('SIGKILL');
      }, limit * 1e3);
    };
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('@@START ')) {
          current = line.slice(8);
          started = performance.now();
          arm(current);
        } else if (line.startsWith('@@RESULT ')) {
          const r = JSON.parse(line.slice(9));
          const job = r.job;
          delete r.job;
          r.wall = (performance.now() - started) / 1e3;
          onResult(job, r);
          ++count;
          current = null;
          clearTimeout(timer);
        } else if (line.trim()) {
          process.stderr.write(`\n  [${c.id}] ${line}`);
        }
      }
    });
    child.stderr.on('data', (d) => {
      errTail = (errTail + d).slice(-2000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (count < jobs.length) {
        const job = jobs[count];
        const why = killedFor ??
            `the process died (${signal ? `signal ${signal}` : `exit code ${code}`})` +
                (errTail.trim() ? `: ${errTail.trim().split('\n').slice(-3).join(' / ')}` : '');
        onResult(job, {error: current === job || killedFor ? why : `not started: ${why}`, crashed: true,
          wall: started ? (performance.now() - started) / 1e3 : 0});
        ++count;
      } else if (errTail.trim()) {
        process.stderr.write(`\n  [${c.id}] ${errTail.trim().split('\n').join(`\n  [${c.id}] `)}`);
      }
      resolve(count);
    });
  });
}

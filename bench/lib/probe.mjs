// SPDX-License-Identifier: Apache-2.0
// Measures the f32 FMA rate of one thread now (bench/lib/fma-peak.cc, built with g++ into the temp
// folder), so a run on a shared machine can be read against what the machine gave at that moment.
// Returns null when there is no g++ or no AVX-512.
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export function fmaPeakNow() {
  try {
    if (!/avx512f/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'))) return null;
    const src = path.join(path.dirname(new URL(import.meta.url).pathname), 'fma-peak.cc');
    const bin = path.join(os.tmpdir(), `ab-fma-peak-${fs.statSync(src).mtimeMs | 0}`);
    if (!fs.existsSync(bin)) execFileSync('g++', ['-O2', '-mavx512f', '-o', bin, src], {stdio: 'ignore'});
    const out = execFileSync(bin, {encoding: 'utf8'});
    return Number(out.trim().split(/\s+/)[0]);
  } catch {
    return null;
  }
}

/**
 * Runs bench/native/anchors.cc (built with g++ when missing; links oneDNN / OpenBLAS when their
 * headers are installed) at `threads` threads: FMA peak, read bandwidth, and the libraries' sgemm
 * GFLOP/s at 64..2048³. Returns the parsed JSON, or null when it cannot be built or run.
 */
export function anchorsNow(threads) {
  try {
    if (!/avx512f/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'))) return null;
    const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'native');
    const src = path.join(dir, 'anchors.cc');
    const bin = path.join(os.tmpdir(), `ab-anchors-${fs.statSync(src).mtimeMs | 0}`);
    if (!fs.existsSync(bin)) execFileSync('bash', [path.join(dir, 'build-anchors.sh'), bin], {stdio: 'ignore'});
    const env = {...process.env, AB_THREADS: String(threads), OMP_NUM_THREADS: String(threads)};
    return JSON.parse(execFileSync(bin, {encoding: 'utf8', env, timeout: 120000}));
  } catch {
    return null;
  }
}

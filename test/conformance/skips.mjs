// SPDX-License-Identifier: Apache-2.0
// Specs of tfjs-core's conformance suite that are not run against afterburner, each with the
// reason it cannot apply. An entry's `match` is a substring of the spec's full name (jasmine's
// "describe ... it" path, which includes the test env name, e.g. "matmul afterburner {} ...").
// Never add an entry to hide a wrong result from one of our kernels: fix the kernel, or let the
// spec fail and say why in the report.
//
// entry.js counts the specs each entry removes and run.mjs prints every count; an entry that
// matches nothing in a full run fails the run (a stale skip would otherwise linger unnoticed).
//
// Format:
//   {match: 'computation in worker',
//    reason: 'starts a worker from a browser script URL; the Node bundle has none'},
//
// Nothing needs skipping with tfjs-core 4.22: every spec that applies to a data-sync CPU-memory
// backend runs. (Specs that tfjs itself limits to other backends, e.g. engine_test's "Switching
// cpu backends" with `predicate: backendName === 'cpu'`, are never defined for our env at all, so
// afterburner runs 4230 specs where cpu runs 4232.)

/** @type {{match: string, reason: string}[]} */
export const SKIPS = [];

/** The skip entry that removes spec `fullName`, or null when the spec runs. */
export function skipFor(fullName) {
  for (const s of SKIPS) if (fullName.includes(s.match)) return s;
  return null;
}

// SPDX-License-Identifier: Apache-2.0
// Bundle entry for tfjs-core's conformance suite (run.mjs bundles it with esbuild, once, and runs
// the bundle with jasmine once per ISA level). The backend under test comes from
// AB_CONFORMANCE_BACKEND ('afterburner' by default; 'cpu' checks the harness itself).
//
// afterburner is bundled from its CommonJS build (the package resolves itself through its
// "exports"), so the suite, tfjs-backend-cpu and afterburner share one tfjs-core module instance.
// The bundle lives two folders below the package root (.test-build/conformance/), which keeps
// dist/cjs/binding.js's __dirname-relative addon lookup right; run.mjs also sets AFTERBURNER_ADDON.
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import {setTestEnvs, setupTestFilters} from '@tensorflow/tfjs-core/dist/jasmine_util';
import * as ab from 'afterburner';

import {skipFor} from './skips.mjs';

const backendName = process.env.AB_CONFORMANCE_BACKEND || 'afterburner';
if (tf.findBackendFactory(backendName) == null) throw new Error(`conformance: no backend '${backendName}'`);
if (backendName === 'afterburner' && ab.info().native !== true && process.env.AFTERBURNER_DISABLE_NATIVE !== '1') {
  // Testing the cpu copies under the afterburner name would pass while testing nothing native.
  throw new Error(`conformance: the afterburner native addon did not load: ${ab.info().nativeError}`);
}

setTestEnvs([{name: backendName, backendName, isDataSync: true}]);

// Skips are counted per entry (one count per spec full name) and reported by run.mjs.
const skipped = new Map();
setupTestFilters([], (name) => {
  const s = skipFor(name);
  if (s == null) return true;
  if (!skipped.has(s.match)) skipped.set(s.match, new Set());
  skipped.get(s.match).add(name);
  return false;
});
globalThis.__abConformance = {
  backendName,
  isa: ab.isa.current(),
  nativeKernels: ab.info().nativeKernels,
  skipped: () => Object.fromEntries([...skipped].map(([k, v]) => [k, v.size])),
};

require('@tensorflow/tfjs-core/dist/tests');

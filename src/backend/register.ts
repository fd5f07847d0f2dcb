// SPDX-License-Identifier: Apache-2.0
// Registers the afterburner backend: every cpu kernel is copied, then the native ones replace
// their cpu counterparts. Without the addon only the copies are registered (same behaviour as cpu).
import '@tensorflow/tfjs-backend-cpu';
import {copyRegisteredKernels, engine, getKernelsForBackend, registerBackend, registerKernel, unregisterKernel} from '@tensorflow/tfjs-core';

import {native} from '../binding';
import {observedKernel} from '../graph/hook';
import {AfterburnerBackend, BACKEND_NAME, BACKEND_PRIORITY} from './backend';
import {kernelConfigs} from './kernels';

/** Kernel names that run natively on this backend (empty without the addon). */
export const nativeKernelNames: string[] = native ? kernelConfigs.map((k) => k.kernelName).sort() : [];

export function registerAfterburner(): void {
  if (engine().registryFactory[BACKEND_NAME] != null) return;  // already registered (one copy only)
  const ok = registerBackend(BACKEND_NAME, () => new AfterburnerBackend(), BACKEND_PRIORITY);
  if (!ok) return;
  if (getKernelsForBackend(BACKEND_NAME).length === 0) copyRegisteredKernels('cpu', BACKEND_NAME);
  if (native != null) {
    for (const k of kernelConfigs) {
      if (getKernelsForBackend(BACKEND_NAME).some((r) => r.kernelName === k.kernelName)) {
        unregisterKernel(k.kernelName, BACKEND_NAME);
      }
      registerKernel(k);
    }
  }
  // Every kernel, copied or native, is wrapped for graph-mode tracing (src/graph/hook.ts).
  for (const k of getKernelsForBackend(BACKEND_NAME)) {
    unregisterKernel(k.kernelName, BACKEND_NAME);
    registerKernel(observedKernel(k));
  }
  // Initialize the best backend now, so tf.getBackend() reports it before the first op (as it
  // would after). A backend the program already chose is left alone.
  const e = engine() as unknown as {backendInstance: unknown; pendingBackendInit: unknown; backend: unknown};
  if (e.backendInstance == null && e.pendingBackendInit == null) {
    try {
      void e.backend;
    } catch {
      // A higher-priority backend that needs async init: tf.ready() will settle it.
    }
  }
}

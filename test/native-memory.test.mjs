// SPDX-License-Identifier: Apache-2.0
// alignedF32 (the compiled plans' arena): zeroed, the asked length, on a 64-byte boundary (where
// V8's own large arrays are not), freed by the GC; bad sizes are refused. Addon only.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

const require = createRequire(import.meta.url);
const nat = require(process.env.AFTERBURNER_ADDON ?? '../build/Release/afterburner.node');

test('alignedF32: zeroed, n elements, 64-byte aligned, writable; bad sizes throw', () => {
  for (const n of [0, 1, 15, 16, 1000, 1 << 20]) {
    const a = nat.alignedF32(n);
    assert.ok(a instanceof Float32Array, `n = ${n}`);
    assert.equal(a.length, n);
    assert.equal(a.byteOffset, 0);
    assert.equal(a.buffer.byteLength, 4 * n);
    assert.ok(a.every((v) => v === 0), `n = ${n}: zeroed`);
    if (n > 0) {
      assert.ok(nat.isAligned64(a), `n = ${n}: aligned`);
      a.fill(2.5);
      assert.equal(a[n - 1], 2.5);
    }
  }
  // The check can say no: a view one float in.
  const b = nat.alignedF32(64);
  assert.equal(nat.isAligned64(b.subarray(1)), false);
  assert.throws(() => nat.alignedF32(-1), /'n' must be in \[0, 2\^40\]/);
  assert.throws(() => nat.alignedF32(2 ** 41), /'n' must be in \[0, 2\^40\]/);
  assert.throws(() => nat.alignedF32('8'), /alignedF32/);
});

test('alignedF32: arrays dropped are freed once the event loop turns (RSS stays bounded)', async () => {
  const rss0 = process.memoryUsage().rss;
  for (let round = 0; round < 20; ++round) {
    for (let i = 0; i < 25; ++i) nat.alignedF32(1 << 20)[0] = i;  // 4 MiB each, dropped at once
    globalThis.gc?.();
    await new Promise((r) => setImmediate(r));  // the finalizers run here
  }
  const grown = (process.memoryUsage().rss - rss0) / 2 ** 20;
  assert.ok(grown < 400, `RSS grew ${grown.toFixed(0)} MiB over 2000 MiB of dropped arrays`);
});

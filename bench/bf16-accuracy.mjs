#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// How far bf16 moves each model's outputs, and how much of that is bf16's own (issue 3, point 5).
// Per model of the suite and test image (the four of test/data/images, as the model test picks
// them), per output, compareOutputs()' max/scale and rms/rms measures against the cpu f32 reference of:
//   emulated  tfjs-cpu's kernels on bf16-rounded operands (test/lib/models.mjs, withBf16Emulation):
//             bf16 arithmetic's own error on this model and image;
//   ab        afterburner, ab.optimize(m, {dtype: 'bfloat16'}), at the top ISA level;
//   ab-emu    afterburner against the emulation;
//   truncated the emulation rounding toward zero instead of to nearest (a wrong bf16 conversion).
// Then the bound test/models.test.mjs states (BF16_BOUND): twice the largest emulated error over the
// images, rounded up to 1-2-5, and which outputs a truncating conversion would take outside it.
//
//   node bench/bf16-accuracy.mjs [--models a,b] [--images 4]
import {ab, compareOutputs as measure, inputBatch, loadModel, MODELS, runOn, tf, withBf16Emulation} from '../test/lib/models.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const only = arg('--models', null)?.split(',');
const images = Number(arg('--images', '4'));

const up125 = (x) => {
  if (x === 0) return 0;
  const e = Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * 10 ** e >= x * (1 - 1e-12)) return Number((m * 10 ** e).toPrecision(1));
  return x;
};
const fmt = (e) => `${e.max.toExponential(1)}/${e.rms.toExponential(1)}`;

console.log(`bf16 accuracy: afterburner at ${ab.isa.current()}, ${images} image(s) per model; max/rms of each against cpu f32`);
const table = [];
for (const m of MODELS) {
  if (only != null && !only.includes(m.id)) continue;
  const loaded = await loadModel(m);
  const worst = {};
  for (let img = 0; img < images; ++img) {
    const batch = inputBatch(m, 1, MODELS.indexOf(m) + img);
    await tf.setBackend('afterburner');
    const opt = {...loaded, model: ab.optimize(loaded.model, {dtype: 'bfloat16'})};
    const ref = await runOn('cpu', m, loaded, batch);
    const abOut = await runOn('afterburner', m, opt, batch);
    const {result: emu} = await withBf16Emulation(() => runOn('cpu', m, opt, batch));
    const {result: trunc} = await withBf16Emulation(() => runOn('cpu', m, opt, batch), {truncate: true});
    opt.model.dispose();
    console.log(`${m.id} ${batch.names[0]}:`);
    ref.forEach((r, o) => {
      const e = {emu: measure(emu[o].data, r.data), ab: measure(abOut[o].data, r.data),
                 abEmu: measure(abOut[o].data, emu[o].data), trunc: measure(trunc[o].data, r.data)};
      console.log(`  ${r.name} [${r.shape}]  emulated ${fmt(e.emu)}  ab ${fmt(e.ab)}  ab-emu ${fmt(e.abEmu)}  truncated ${fmt(e.trunc)}`);
      const w = worst[r.name] ??= {emu: {max: 0, rms: 0}, trunc: []};
      w.emu = {max: Math.max(w.emu.max, e.emu.max), rms: Math.max(w.emu.rms, e.emu.rms)};
      w.trunc.push(e.trunc);
    });
  }
  loaded.model.dispose();
  const parts = Object.entries(worst).map(([name, w]) => {
    const b = [up125(2 * w.emu.max), up125(2 * w.emu.rms)];
    const caught = w.trunc.some((t) => t.max > b[0] || t.rms > b[1]);
    return {text: `'${name}': [${b[0]}, ${b[1]}]`, caught};
  });
  table.push(`  '${m.id}': {${parts.map((p) => p.text).join(', ')}},  // truncation caught on ${parts.filter((p) => p.caught).length} of ${parts.length}`);
}
console.log(`\nBF16_BOUND (2x the largest emulated error, rounded up to 1-2-5):\n${table.join('\n')}`);

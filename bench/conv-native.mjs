// SPDX-License-Identifier: Apache-2.0
// Native Conv2D and small-batch dense throughput (GFLOP/s), straight on the addon, one output
// buffer reused: node bench/conv-native.mjs [--threads 1] [--seconds 0.5] [--filter 3x3]
// Each row is best of >= 3 runs within ~--seconds; the machine is shared, so repeat and take
// medians. "packed" rows run with the weight prepacked (packWeight), the others pack per call.
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const nat = createRequire(import.meta.url)(process.env.AFTERBURNER_ADDON || path.join(root, 'build', 'Release', 'afterburner.node'));
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
nat.setNumThreads(Number(arg('--threads', '1')));
const budget = Number(arg('--seconds', '0.5'));
const filter = arg('--filter', '');
const hasPack = typeof nat.packWeight === 'function';

function rand(n) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; ++i) x[i] = Math.random() * 2 - 1;
  return x;
}
function best(fn) {
  fn();
  let b = Infinity, spent = 0, reps = 0;
  while (reps < 3 || spent < budget) {
    const t = process.hrtime.bigint();
    fn();
    const s = Number(process.hrtime.bigint() - t) * 1e-9;
    b = Math.min(b, s);
    spent += s;
    if (++reps > 5000) break;
  }
  return b;
}

// [name, batch, H, W, C, OC, fh, fw, stride, pad('same'|'valid')]
export const CONVS = [
  ['3x3 64->64 56x56', 1, 56, 56, 64, 64, 3, 3, 1, 'same'],
  ['3x3 128->128 28x28', 1, 28, 28, 128, 128, 3, 3, 1, 'same'],
  ['3x3 64->128 56x56 s2', 1, 56, 56, 64, 128, 3, 3, 2, 'same'],
  ['1x1 64->256 56x56', 1, 56, 56, 64, 256, 1, 1, 1, 'valid'],
  ['1x1 256->64 56x56', 1, 56, 56, 256, 64, 1, 1, 1, 'valid'],
  ['1x1 256->512 56x56 s2', 1, 56, 56, 256, 512, 1, 1, 2, 'valid'],
  ['3x3 3->32 224x224 s2', 1, 224, 224, 3, 32, 3, 3, 2, 'same'],
];
const rows = [];
for (const [name, B, H, W, C, OC, fh, fw, s, pad] of CONVS) {
  if (filter && !name.includes(filter)) continue;
  const OH = pad === 'same' ? Math.ceil(H / s) : Math.ceil((H - fh + 1) / s);
  const OW = pad === 'same' ? Math.ceil(W / s) : Math.ceil((W - fw + 1) / s);
  const padH = pad === 'same' ? Math.max((OH - 1) * s + fh - H, 0) : 0;
  const padW = pad === 'same' ? Math.max((OW - 1) * s + fw - W, 0) : 0;
  const x = rand(B * H * W * C), w = rand(fh * fw * C * OC), y = new Float32Array(B * OH * OW * OC);
  const dims = [B, H, W, C, OH, OW, OC, fh, fw, s, s, 1, 1, Math.floor(padH / 2), Math.floor(padW / 2)];
  const flop = 2 * B * OH * OW * OC * fh * fw * C;
  const r = {conv: name, GFLOPs: (flop / best(() => nat.conv2d(x, w, y, dims, null, 0, 0, 0, null, 0)) * 1e-9).toFixed(1)};
  if (hasPack) {
    const h = nat.packWeight(w, fh * fw * C, OC, false);
    r.packed = (flop / best(() => nat.conv2d(x, w, y, dims, null, 0, 0, 0, null, 0, h)) * 1e-9).toFixed(1);
    nat.packedFree(h);
  }
  rows.push(r);
}
const DENSE = [[1, 1024, 1024], [8, 512, 2048], [32, 1024, 1024], [128, 768, 768], [1024, 1024, 1024]];
for (const [M, K, N] of DENSE) {
  const name = `[${M},${K}]x[${K},${N}]`;
  if (filter && !name.includes(filter)) continue;
  const a = rand(M * K), b = rand(K * N), c = new Float32Array(M * N);
  const flop = 2 * M * N * K;
  const mm = (h) => nat.matmul(a, b, c, 1, M, N, K, false, false, null, null, null, 0, 0, 0, null, 0, ...(h ? [h] : []));
  const r = {conv: name, GFLOPs: (flop / best(() => mm(null)) * 1e-9).toFixed(1)};
  if (hasPack) {
    const h = nat.packWeight(b, K, N, false);
    r.packed = (flop / best(() => mm(h)) * 1e-9).toFixed(1);
    nat.packedFree(h);
  }
  rows.push(r);
}
console.table(rows);

// Lists native sources for binding.gyp: `kernels` (per-ISA files) or `neutral` (the rest).
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..');
const walk = (dir) => fs.readdirSync(path.join(root, dir), {withFileTypes: true}).flatMap((e) =>
  e.isDirectory() ? walk(`${dir}/${e.name}`) : e.name.endsWith('.cc') ? [`${dir}/${e.name}`] : []);
const all = walk('native').sort();
const isKernel = (f) => f.startsWith('native/kernels/');
const which = process.argv[2];
const out = all.filter((f) => (which === 'kernels' ? isKernel(f) : !isKernel(f)));
if (which === 'kernels' && out.length === 0) out.push('native/kernels/empty_kernel.cc');
process.stdout.write(out.join(' '));

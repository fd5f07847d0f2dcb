// Lists native sources for binding.gyp: `kernels` (per-ISA files) or `neutral` (the rest).
// `kernels <level>` (a level above avx512 with a library of its own, e.g. avx512_bf16): only the
// kernel files that name that level on a line `// ab-extra-levels: <level> ...`.
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..');
const walk = (dir) => fs.readdirSync(path.join(root, dir), {withFileTypes: true}).flatMap((e) =>
  e.isDirectory() ? walk(`${dir}/${e.name}`) : e.name.endsWith('.cc') ? [`${dir}/${e.name}`] : []);
const all = walk('native').sort();
const isKernel = (f) => f.startsWith('native/kernels/');
const which = process.argv[2];
const extra = process.argv[3];
const marked = (f) => fs.readFileSync(path.join(root, f), 'utf8').split('\n').some((l) =>
  /^\/\/ ab-extra-levels:/.test(l) && l.replace(/^\/\/ ab-extra-levels:/, '').split(/[\s,]+/).includes(extra));
const out = all.filter((f) => (which === 'kernels' ? isKernel(f) && (!extra || marked(f)) : !isKernel(f)));
if (which === 'kernels' && out.length === 0) out.push('native/kernels/empty_kernel.cc');
process.stdout.write(out.join(' '));

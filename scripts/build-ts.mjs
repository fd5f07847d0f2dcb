// Builds the TypeScript once (CommonJS, dist/cjs) and writes the ESM entry (dist/esm) that
// re-exports it. One implementation means one backend registration and one addon load, whether
// a program uses `import` or `require` (no dual-package hazard).
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {createRequire} from 'node:module';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  // Installed as a dependency without dev tools: dist/ ships prebuilt in the package.
  if (fs.existsSync(path.join(root, 'dist/cjs/index.js'))) process.exit(0);
  console.error('afterburner: typescript is needed to build from source (npm install --include=dev)');
  process.exit(1);
}
fs.rmSync(path.join(root, 'dist'), {recursive: true, force: true});
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], {stdio: 'inherit'});
fs.writeFileSync(path.join(root, 'dist/cjs/package.json'), '{"type": "commonjs"}\n');
fs.mkdirSync(path.join(root, 'dist/esm'), {recursive: true});
const cjsIndex = require(path.join(root, 'dist/cjs/index.js'));
const names = Object.keys(cjsIndex).filter((n) => n !== 'default' && n !== '__esModule');
fs.writeFileSync(path.join(root, 'dist/esm/index.js'),
  `// ESM entry: re-exports the CommonJS build (one module instance for both).\n` +
  `import cjs from '../cjs/index.js';\n` +
  `export const {${names.join(', ')}} = cjs;\nexport default cjs;\n`);
fs.writeFileSync(path.join(root, 'dist/esm/index.d.ts'),
  `export * from '../cjs/index.js';\nimport * as ab from '../cjs/index.js';\nexport default ab;\n`);

// Builds the native addon with the machine's own C++ compiler (node-gyp; nothing is downloaded:
// npm points node-gyp at the local Node headers). A failed build does not fail the install:
// `import 'afterburner'` then warns once and the tfjs cpu kernels serve. Set
// AFTERBURNER_REQUIRE_NATIVE=1 to make a failed build an error (CI does).
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {}
  const npmDir = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
  candidates.push(path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push('/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  return candidates.find((c) => c && fs.existsSync(c));
}

const gyp = findNodeGyp();
const args = process.argv.slice(2).length ? process.argv.slice(2) : ['rebuild', '-j', 'max'];
// Outside npm (no npm_config_nodedir), build against the running Node's own headers when they are
// installed beside it, rather than letting node-gyp try to download them.
const prefix = path.join(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
let ok = false;
if (!gyp) {
  console.warn('afterburner: node-gyp not found; the native addon was not built');
} else {
  const r = spawnSync(process.execPath, [gyp, ...args], {cwd: root, stdio: 'inherit'});
  ok = r.status === 0;
  if (!ok) console.warn('afterburner: the native addon failed to build (see above); the tfjs cpu kernels will serve');
}
process.exit(ok || process.env.AFTERBURNER_REQUIRE_NATIVE !== '1' ? 0 : 1);

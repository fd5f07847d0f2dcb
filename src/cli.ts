// SPDX-License-Identifier: Apache-2.0
// `afterburner <command>`: info (what is loaded and how it runs), bench (the benchmark suite).
import {spawnSync} from 'child_process';
import * as path from 'path';

import {info} from './index';

const USAGE = `usage: afterburner <command>

commands:
  info [--json]   version, ISA levels (supported, built, current), threads, native kernels
  bench [...]     run the benchmark suite (bench/run.mjs; arguments are passed on)
  help            this text

environment:
  AFTERBURNER_ISA=<level>        cap the ISA level (scalar, avx2, avx512, avx512_vnni, avx512_bf16, amx)
  AFTERBURNER_NUM_THREADS=<n>    native threads (default: physical cores)
  AFTERBURNER_PIN=0              do not pin worker threads to cores
  AFTERBURNER_DISABLE_NATIVE=1   do not load the addon (tfjs cpu kernels serve)`;

function printInfo(json: boolean): void {
  const i = info();
  if (json) {
    console.log(JSON.stringify(i, null, 2));
    return;
  }
  const row = (k: string, v: string) => console.log(`${k.padEnd(16)}${v}`);
  row('afterburner', i.version);
  row('backend', `${i.backend} (tfjs ${require('@tensorflow/tfjs-core').version_core})`);
  row('native addon', i.native ? 'loaded' : `not loaded: ${i.nativeError}`);
  row('ISA current', i.isa.current);
  row('ISA supported', i.isa.supported.join(' < ') || '-');
  row('ISA built', i.isa.built.join(' < ') || '-');
  row('threads', `${i.threads} (physical cores: ${i.physicalCores})`);
  if (i.gemm) row('GEMM', i.gemm);
  row('native kernels', `${i.nativeKernels.length}`);
  for (let k = 0; k < i.nativeKernels.length; k += 6) row('', i.nativeKernels.slice(k, k + 6).join(', '));
  console.log(`${''.padEnd(16)}(every other tfjs kernel runs on the cpu backend's implementation)`);
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'info':
      printInfo(rest.includes('--json'));
      return 0;
    case 'bench': {
      const script = path.join(__dirname, '..', '..', 'bench', 'run.mjs');
      const r = spawnSync(process.execPath, [script, ...rest], {stdio: 'inherit'});
      return r.status ?? 1;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      console.error(`afterburner: unknown command '${cmd}'\n\n${USAGE}`);
      return 2;
  }
}

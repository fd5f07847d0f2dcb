// SPDX-License-Identifier: Apache-2.0
// The whole N-API surface, typed. This is the only file that loads the native addon.
import * as fs from 'fs';
import * as path from 'path';

/** The functions the addon exports (native/addon/*.cc). Arrays are used zero-copy. */
export interface NativeBinding {
  isaCurrent(): string;
  isaCpu(): string;
  isaBuilt(): string;
  isaEnvError(): string | null;
  isaSet(level: string): string;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  physicalCores(): number;
  dispatchProbe(): string;
  /** The GEMM kernel chosen at the current level, and its blocking. */
  gemmInfo(): {level: string; kernel: string; mr: number; nr: number; kc: number; mc: number; nc: number; summary: string};
  matmul(
      a: Float32Array, b: Float32Array, out: Float32Array, batch: number, M: number, N: number,
      K: number, transA: boolean, transB: boolean, aBatchIdx: Int32Array|null,
      bBatchIdx: Int32Array|null, bias: Float32Array|null, biasMode: number, act: number,
      alpha: number, slope: Float32Array|null, slopeMode: number, packedB?: PackedHandle|null): void;
  /**
   * NHWC conv2d on the GEMM engine. dims = [batch, inH, inW, inC, outH, outW, outC, fH, fW,
   * strideH, strideW, dilH, dilW, padTop, padLeft]; filter is [fH, fW, inC, outC].
   */
  conv2d(
      x: Float32Array, filter: Float32Array, out: Float32Array, dims: readonly number[], bias: Float32Array|null,
      biasMode: number, act: number, alpha: number, slope: Float32Array|null, slopeMode: number,
      packedFilter?: PackedHandle|null): void;
  /**
   * NHWC depthwise conv2d. dims = [batch, inH, inW, inC, outH, outW, mult, fH, fW, strideH,
   * strideW, dilH, dilW, padTop, padLeft]; filter is [fH, fW, inC, mult]; bias / slope: one value
   * per output channel (inC * mult) or null.
   */
  depthwiseConv2d(
      x: Float32Array, filter: Float32Array, out: Float32Array, dims: readonly number[], bias: Float32Array|null,
      act: number, alpha: number, slope: Float32Array|null): void;
  /**
   * NHWC max (type 0) or average (type 1) pooling with tfjs-cpu's window rules. dims = [batch,
   * inH, inW, channels, outH, outW, fH, fW, strideH, strideW, dilH, dilW, padTop, padLeft].
   */
  pool2d(type: number, x: Float32Array, out: Float32Array, dims: readonly number[]): void;
  /** out[i] = x[i] * a[i % C] + b[i % C]; out must not overlap the inputs. */
  channelAffine(x: Float32Array, a: Float32Array, b: Float32Array, out: Float32Array, C: number): void;
  binary(
      op: number, a: Float32Array, aShape: readonly number[], b: Float32Array,
      bShape: readonly number[], out: Float32Array, outShape: readonly number[]): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, r: number, inner: number): void;
  /**
   * Packs op(b) (K x N; b stored N x K when transB) once into the GEMM's B panels at the current
   * ISA level. matmul (last argument) and conv2d (last argument) accept the handle next to the raw
   * operand; a handle that does not fit the current kernel is ignored (B packed per call).
   */
  packWeight(b: Float32Array, K: number, N: number, transB: boolean): PackedHandle;
  /** Frees a packed weight now; true if it was still live. The GC frees unreachable ones too. */
  packedFree(handle: PackedHandle): boolean;
  /** Live packed weights in this process (all backends and callers). */
  packedStats(): {count: number; bytes: number};
}

/** A native packed weight (an N-API external). */
export type PackedHandle = {readonly __packedWeight: unique symbol};

/** Where the addon is looked for: AFTERBURNER_ADDON, then build/Release under the package root. */
function addonCandidates(): string[] {
  const root = path.join(__dirname, '..', '..');
  const list = [];
  if (process.env.AFTERBURNER_ADDON) list.push(path.resolve(process.env.AFTERBURNER_ADDON));
  list.push(path.join(root, 'build', 'Release', 'afterburner.node'));
  list.push(path.join(root, 'build', 'Debug', 'afterburner.node'));
  return list;
}

let loadError: string|null = null;

function load(): NativeBinding|null {
  if (process.env.AFTERBURNER_DISABLE_NATIVE === '1') {
    loadError = 'disabled by AFTERBURNER_DISABLE_NATIVE=1';
    return null;
  }
  const tried: string[] = [];
  for (const file of addonCandidates()) {
    if (!fs.existsSync(file)) {
      tried.push(`${file} (not found)`);
      continue;
    }
    let b: NativeBinding;
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      b = require(file) as NativeBinding;
    } catch (e) {
      tried.push(`${file} (${(e as Error).message})`);
      continue;
    }
    const envError = b.isaEnvError();
    if (envError != null) throw new Error(`afterburner: ${envError}`);
    return b;
  }
  loadError = tried.join('; ');
  return null;
}

/** The loaded addon, or null when it could not be built or loaded (the cpu kernels serve). */
export const native: NativeBinding|null = load();

if (native == null && process.env.AFTERBURNER_DISABLE_NATIVE !== '1') {
  process.emitWarning(
      `afterburner: the native addon could not be loaded, so the tfjs cpu kernels will serve. ` +
          `Rebuild it with 'npm rebuild afterburner' (needs a C++17 compiler). Tried: ${loadError}`,
      {code: 'AFTERBURNER_NO_NATIVE'});
}

/** Why the addon is not loaded, or null when it is. */
export function nativeLoadError(): string|null {
  return native ? null : loadError;
}

// SPDX-License-Identifier: Apache-2.0
// The whole N-API surface, typed. This is the only file that loads the native addon.
import * as fs from 'fs';
import * as path from 'path';

/** The functions the addon exports (native/addon/*.cc). Arrays are used zero-copy. */
export interface NativeBinding {
  isaCurrent(): string;
  isaCpu(): string;
  isaBuilt(): string;
  /** The levels with a kernel library of their own, lowest first. */
  isaBuiltLevels(): string[];
  isaEnvError(): string | null;
  /** 'available' when the amx level runs here, else why not (CPUID, XCR0, arch_prctl, AFTERBURNER_AMX=0). */
  isaAmxStatus(): string;
  isaSet(level: string): string;
  /** A zeroed Float32Array of n elements on a 64-byte boundary, over addon memory (long-lived arrays: a plan's arena); null where external buffers are not allowed. */
  alignedF32(n: number): Float32Array|null;
  /** Whether x's data starts on a 64-byte boundary. */
  isAligned64(x: Float32Array): boolean;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  physicalCores(): number;
  /** Test hook of the thread pool: `jobs` back-to-back jobs alternating maxThreads and fewer threads; the number of task calls outside their job (0). */
  poolStress(jobs: number, maxThreads: number): number;
  dispatchProbe(): string;
  /** The GEMM kernel chosen at the current level, and its blocking. */
  gemmInfo(): {level: string; kernel: string; mr: number; nr: number; kc: number; mc: number; nc: number; summary: string};
  matmul(
      a: Float32Array, b: Float32Array, out: Float32Array, batch: number, M: number, N: number,
      K: number, transA: boolean, transB: boolean, aBatchIdx: Int32Array|null,
      bBatchIdx: Int32Array|null, bias: Float32Array|null, biasMode: number, act: number,
      alpha: number, slope: Float32Array|null, slopeMode: number, packedB?: PackedHandle|null,
      addend?: Float32Array|null): void;
  /**
   * NHWC conv2d on the GEMM engine. dims = [batch, inH, inW, inC, outH, outW, outC, fH, fW,
   * strideH, strideW, dilH, dilW, padTop, padLeft]; filter is [fH, fW, inC, outC].
   */
  conv2d(
      x: Float32Array, filter: Float32Array, out: Float32Array, dims: readonly number[], bias: Float32Array|null,
      biasMode: number, act: number, alpha: number, slope: Float32Array|null, slopeMode: number,
      packedFilter?: PackedHandle|null, addend?: Float32Array|null): void;
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
  /**
   * NHWC transposed conv2d (Conv2DBackpropInput). dims = [batch, inH, inW, inC, outH, outW, outC,
   * fH, fW, strideH, strideW, padTop, padLeft] (in* = dx's dims, out* = dy's); filter is
   * [fH, fW, inC, outC]; algo 0 auto, 1 GEMM + col2im, 2 stride phases.
   */
  conv2dTranspose(dy: Float32Array, filter: Float32Array, dx: Float32Array, dims: readonly number[], algo: number): void;
  /** NHWC conv2d filter gradient (Conv2DBackpropFilter); dims as conv2dTranspose's (in* = x's); dw is [fH, fW, inC, outC]. */
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, dims: readonly number[]): void;
  /** out[i] = x[i] * a[i % C] + b[i % C]; out must not overlap the inputs. */
  channelAffine(x: Float32Array, a: Float32Array, b: Float32Array, out: Float32Array, C: number): void;
  binary(
      op: number, a: Float32Array, aShape: readonly number[], b: Float32Array,
      bShape: readonly number[], out: Float32Array, outShape: readonly number[]): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  /**
   * out = x with update written at start (Int32Array of x's rank, read when the op runs and clamped
   * so the update fits); 4-byte elements; out may be x.
   */
  updateSlice(x: Float32Array|Int32Array, shape: readonly number[], update: Float32Array|Int32Array,
              updateShape: readonly number[], start: Int32Array, out: Float32Array|Int32Array): void;
  /** tfjs ClipByValue: out[i] = x[i] > hi ? hi : x[i] < lo ? lo : x[i]; lo <= hi; out may be x. */
  clip(x: Float32Array, out: Float32Array, lo: number, hi: number): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, r: number, inner: number): void;
  /** tfjs ArgMax (isMin false) / ArgMin over the middle axis of [outer, r, inner] into out [outer, inner]. */
  argReduce(isMin: boolean, x: Float32Array, out: Int32Array, outer: number, r: number, inner: number): void;
  /**
   * Graph mode's fused elementwise chain (native/ops/ew_chain.h): `prog` is 5 int32 words per
   * instruction (kind 0 unary / 1 binary, op code, destination register, operand a, operand b or
   * the unary's alpha immediate index); operands are input (0 << 24 | i), register (1 << 24 | r,
   * 0 = out) or immediate (2 << 24 | k). Inputs have out's length and do not overlap it.
   */
  ewChain(prog: Int32Array, imms: Float32Array, inputs: Float32Array[], out: Float32Array): void;
  /** LayerNorm (rms 0) or RMSNorm (rms 1) over rows of `cols`; gamma/beta `cols` values or null. */
  normRows(rms: number, x: Float32Array, gamma: Float32Array|null, beta: Float32Array|null, out: Float32Array,
           rows: number, cols: number, eps: number): void;
  /** Scaled dot-product attention; dims [B, Sq, Sk, D, Dv]; mask [maskBatch (1 or B), Sq, Sk] or null. */
  sdpa(q: Float32Array, k: Float32Array, v: Float32Array, mask: Float32Array|null, maskBatch: number,
       dims: readonly number[], scale: number, out: Float32Array): void;
  /**
   * bf16 weights (native/gemm/gemm_bf16.h): packs b (K x N, or N x K if transB) once into an
   * ArrayBuffer (header + bf16 K-pair panels); its byteLength is the memory it holds (~K*N*2).
   */
  bf16Pack(b: Float32Array, K: number, N: number, transB: boolean): ArrayBuffer;
  /** out (M x N) = act(a (M x K, K x M if transA) * packed + bias); f32 accumulation. */
  bf16Gemm(
      a: Float32Array, packed: ArrayBuffer, out: Float32Array, M: number, N: number, K: number,
      transA: boolean, bias: Float32Array|null, biasMode: number, act: number, alpha: number,
      slope: Float32Array|null, slopeMode: number): void;
  /** The bf16 GEMM kernel chosen at the current level, and its blocking. */
  bf16Info(): {level: string; kernel: string; mr: number; nr: number; kc: number; mc: number; nc: number; summary: string};
  /** NHWC conv2d with the filter packed by bf16Pack(filter, fH * fW * inC, outC, false); dims and epilogue as conv2d's. */
  conv2dBf16(
      x: Float32Array, packed: ArrayBuffer, out: Float32Array, dims: readonly number[], bias: Float32Array|null,
      biasMode: number, act: number, alpha: number, slope: Float32Array|null, slopeMode: number,
      addend?: Float32Array|null): void;
  /** The path conv2dBf16 takes for these dims now: 'empty', 'gemm' (one GEMM on x), 'direct', 'implicit' or 'im2col'. */
  bf16ConvPath(dims: readonly number[]): string;
  // ---- data movement (4-byte elements moved bitwise: Float32Array, Int32Array, Uint32Array) ----
  /** out (dense over shape)[i] = x[offset + sum_k i_k * strides[k]]; strides may be negative or 0. */
  stridedCopy(x: Data4, out: Data4, shape: readonly number[], offset: number, strides: readonly number[]): void;
  /** Constant padding; value is stored as out's element type stores a number. */
  pad(x: Data4, out: Data4, shape: readonly number[], before: readonly number[], after: readonly number[], value: number): void;
  /** tfjs MirrorPad: mode 0 reflect, 1 symmetric. */
  mirrorPad(x: Data4, out: Data4, shape: readonly number[], before: readonly number[], after: readonly number[], mode: number): void;
  /** inputs[i] viewed as [outer, widths[i]], joined along the second axis into out [outer, sum widths]. */
  concat(inputs: readonly Data4[], widths: readonly number[], out: Data4, outer: number): void;
  /** GatherV2: x [batch, outer, dim, slice], indices [batch, n] in [0, dim) -> out [batch, outer, n, slice]. */
  gather(x: Data4, indices: Int32Array, out: Data4, dims: readonly number[]): void;
  /** NHWC resize, tfjs-cpu's math exactly. dims = [batch, inH, inW, channels, outH, outW]. */
  resizeBilinear(x: Float32Array|Int32Array, out: Float32Array, dims: readonly number[], alignCorners: boolean,
                 halfPixelCenters: boolean): void;
  resizeNearest(x: Float32Array|Int32Array, out: Float32Array, dims: readonly number[], alignCorners: boolean,
                halfPixelCenters: boolean): void;
  /** float32 -> int32 (ToInt32), float32 / int32 -> bool (x != 0), by the arrays' types. */
  cast(x: Float32Array|Int32Array, out: Int32Array|Uint8Array): void;
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
  // ---- the native executor's plans (native/addon/capture.h, src/graph/native-plan.ts) ----
  /** An empty plan; compute calls made between captureBegin(plan) and captureEnd() are appended to it. */
  planNew(): NativePlanHandle;
  captureBegin(plan: NativePlanHandle): void;
  captureEnd(): void;
  planSize(plan: NativePlanHandle): number;
  /** Drops the calls [n, size) and their references. */
  planTruncate(plan: NativePlanHandle, n: number): void;
  /**
   * Replays calls [begin, end) in one native call. Returns end, or the index of a call that asked
   * for its node to run in JS (its data is a case left to the cpu kernel): it and the calls after
   * it have not run.
   */
  planRun(plan: NativePlanHandle, begin: number, end: number): number;
  /** The same on a libuv worker; rejects with the error of a call that fails. */
  planRunAsync(plan: NativePlanHandle, begin: number, end: number): Promise<number>;
  /** Releases the calls and references now (after an in-flight async run); true if it was live. */
  planFree(plan: NativePlanHandle): boolean;
  planStats(): {plans: number; ops: number; refs: number};
  /** Starts (zeroing the counters) or stops timing each replayed call. */
  planProfile(plan: NativePlanHandle, on: boolean): void;
  /** Nanoseconds spent in each call since planProfile(plan, true). */
  planProfileRead(plan: NativePlanHandle): Float64Array;
  // ---- comparisons, TopK, AddN, GatherNd (native/addon/select_api.cc) ----
  /** out[i] = op(a, b) ? 1 : 0 (CompareOp) with broadcasting; a and b both Float32Array or both Int32Array. */
  compare(op: number, a: Float32Array|Int32Array, aShape: readonly number[], b: Float32Array|Int32Array,
          bShape: readonly number[], out: Uint8Array, outShape: readonly number[]): void;
  /**
   * tfjs TopK over the last axis of x [rows, n] into vals/idx [rows, k] (vals of x's type); sorted
   * false needs k == n. False (nothing usable written): float32 x holds NaN or +-Inf.
   */
  topK(x: Float32Array|Int32Array, rows: number, n: number, k: number, sorted: boolean, vals: Float32Array|Int32Array,
       idx: Int32Array): boolean;
  /** out[i] = Math.fround(x[i]): Float32Array.from(x), natively (threaded for large arrays). */
  toF32(x: Uint8Array|Int32Array, out: Float32Array): void;
  /** out = ((0 + xs[0]) + xs[1]) + ... in float32 steps (tfjs AddN). */
  addN(xs: readonly Float32Array[], out: Float32Array): void;
  /**
   * GatherNd on 4-byte elements: out slice s (sliceSize elements) = params slice sum_j
   * indices[s * rank + j] * strides[j], rank = strides.length. False: an index is out of range.
   */
  gatherNd(params: Data4, indices: Int32Array, out: Data4, sliceSize: number, strides: readonly number[]): boolean;
  // ---- int8 / int4 weight-only quantization (native/gemm/gemm_quant.h) ----
  /**
   * Quantizes b (K x N, or N x K if transB; all finite) symmetric per group of `groupSize` (32, 64,
   * 128) rows along K with f32 scales, `bits` 8 or 4, into an ArrayBuffer (header + panels).
   */
  quantPack(b: Float32Array, K: number, N: number, transB: boolean, bits: number, groupSize: number): ArrayBuffer;
  /** out (M x N) = act(a (M x K, K x M if transA) * dequant(packed) + bias); f32 accumulation. */
  quantGemm(
      a: Float32Array, packed: ArrayBuffer, out: Float32Array, M: number, N: number, K: number,
      transA: boolean, bias: Float32Array|null, biasMode: number, act: number, alpha: number,
      slope: Float32Array|null, slopeMode: number): void;
  /** The codes (K x N) and scales (ceil(K / groupSize) x N) of a quantPack buffer. */
  quantUnpack(packed: ArrayBuffer):
      {bits: number; groupSize: number; K: number; N: number; codes: Int8Array; scales: Float32Array};
  /** The quantized GEMM kernel chosen at the current level. */
  quantInfo(): {level: string; kernel: string; mr: number; nr: number; kc: number; mc: number; nc: number; summary: string};
  // ---- wide binary ops (native/addon/wide_api.cc) ----
  /**
   * out = op(a, b) (WideBinaryOp) with broadcasting, as tfjs-cpu's JS computes it: float64 from the
   * stored values (any mix of Float32Array / Int32Array / Uint8Array), stored as out's array stores
   * a number (Float32Array: rounded; Int32Array: ToInt32, wrapped). out may be exactly a or b.
   */
  binaryWide(op: number, a: Float32Array|Int32Array|Uint8Array, aShape: readonly number[], b: Float32Array|Int32Array|Uint8Array,
             bShape: readonly number[], out: Float32Array|Int32Array, outShape: readonly number[]): void;
}

/** A native executor plan (an N-API external). */
export type NativePlanHandle = {readonly __nativePlan: unique symbol};

/** Arrays of 4-byte elements, which the data-movement functions move bitwise. */
export type Data4 = Float32Array|Int32Array|Uint32Array;

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

// SPDX-License-Identifier: Apache-2.0
// Shared by the convolution kernels: conv info, the native NHWC conv2d runner (native/ops/conv2d.h;
// the filter prepacked on reuse), and the kernel-config builders for plain and fused convolutions
// (Conv2D / DepthwiseConv2dNative, FusedConv2D / FusedDepthwiseConv2D). NCHW Conv2D / FusedConv2D
// run the NHWC kernel between transposes (nchw.ts); the depthwise kernels ignore dataFormat, as
// tfjs-cpu's do. A filter whose in-channels differ from x's runs the cpu kernel.
import {backend_util, Conv2DAttrs, FusedConv2DAttrs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import type {NativeBinding} from '../../binding';
import {bf16ConvPays} from '../bf16-rules';
import {f32, nativeKernel, newOutput, output, sizeOf} from '../kernel-utils';
import {weightCacheOf} from '../weight-cache';
import {Epilogue, NO_EPILOGUE, runFused} from './fused';
import {fusedNCHW, nchwNativePays, nhwcPad, viaNHWC} from './nchw';

/** tfjs lets dilations be null (meaning [1, 1]), as tfjs-backend-cpu does. */
export function convInfo(x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs, depthwise: boolean): backend_util.Conv2DInfo {
  const {strides, pad, dataFormat, dilations, dimRoundingMode} = attrs;
  return backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides,
      dilations ?? [1, 1], pad, dimRoundingMode, depthwise, backend_util.convertConv2DDataFormat(dataFormat));
}

/** nchwNativePays for a conv2d: its multiply-adds against the elements of x and y. */
function nchwPays(x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs): boolean {
  const c = convInfo(x, filter, attrs, false), ySize = sizeOf(c.outShape);
  return nchwNativePays(ySize * c.filterHeight * c.filterWidth * c.inChannels, sizeOf(x.shape) + ySize);
}

export type ConvRunner = (backend: MathBackendCPU, nat: NativeBinding, x: TensorInfo, filter: TensorInfo,
                          c: backend_util.Conv2DInfo, ep: Epilogue) => TensorInfo;

export function runConv2D(
    backend: MathBackendCPU, nat: NativeBinding, x: TensorInfo, filter: TensorInfo, c: backend_util.Conv2DInfo,
    ep: Epilogue): TensorInfo {
  const out = newOutput(sizeOf(c.outShape));
  // The filter is the GEMM's K x N B operand: prepacked when used again.
  const K = c.filterHeight * c.filterWidth * c.inChannels, M = c.batchSize * c.outHeight * c.outWidth;
  const dims = [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels,
                c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth,
                c.padInfo.top, c.padInfo.left];
  // A filter marked bf16 (toBf16Weight): the bf16 conv, except where bf16 measured slower (bf16-rules.ts).
  const wc = K > 0 && c.outChannels > 0 && bf16ConvPays(c) ? weightCacheOf(backend) : null;
  const bf = wc ? wc.bf16(nat, filter, K, c.outChannels, false) : null;
  if (bf) {
    nat.conv2dBf16(f32(backend, x), bf, out, dims, ep.bias, ep.biasMode, ep.act, ep.alpha, ep.slope, ep.slopeMode,
                   ep.addend ?? null);
    return output(backend, c.outShape.slice(), out);
  }
  const cache = M > 1 && c.outChannels > 1 && K > 0 ? weightCacheOf(backend) : null;
  const packed = cache ? cache.f32(nat, filter, K, c.outChannels, false) : null;
  nat.conv2d(
      f32(backend, x), f32(backend, filter), out, dims, ep.bias, ep.biasMode, ep.act, ep.alpha, ep.slope, ep.slopeMode, packed,
      ep.addend ?? null);
  return output(backend, c.outShape.slice(), out);
}

/** A plain convolution kernel (inputs x, filter) on `run`. */
export function convKernel(name: string, depthwise: boolean, run: ConvRunner): KernelConfig {
  return nativeKernel(name, ['x', 'filter'], (args, nat, fallback) => {
    const attrs = args.attrs as unknown as Conv2DAttrs;
    const x = args.inputs.x as TensorInfo, filter = args.inputs.filter as TensorInfo;
    const nchw = !depthwise && attrs.dataFormat === 'NCHW';
    const nhwc = {...attrs, dataFormat: 'NHWC' as const, pad: nchw ? nhwcPad(attrs.pad) : attrs.pad};
    if (x.shape[nchw ? 1 : 3] !== filter.shape[2]) return fallback(args as never);
    if (nchw) {
      if (!nchwPays(x, filter, attrs)) return fallback(args as never);
      return viaNHWC(args.backend, x, (xT) => run(args.backend, nat, xT, filter, convInfo(xT, filter, nhwc, false), NO_EPILOGUE));
    }
    return run(args.backend, nat, x, filter, convInfo(x, filter, nhwc, depthwise), NO_EPILOGUE);
  });
}

/** A fused convolution kernel: bias and activation in `run`'s epilogue where they fit. */
export function fusedConvKernel(name: string, depthwise: boolean, run: ConvRunner): KernelConfig {
  return nativeKernel(name, ['x', 'filter', 'bias', 'preluActivationWeights'], (args, nat, fallback) => {
    const attrs = args.attrs as unknown as FusedConv2DAttrs;
    const {inputs, backend} = args;
    const x = inputs.x as TensorInfo, filter = inputs.filter as TensorInfo;
    const nchw = !depthwise && attrs.dataFormat === 'NCHW';
    const nhwc = {...attrs, dataFormat: 'NHWC' as const, pad: nchw ? nhwcPad(attrs.pad) : attrs.pad};
    if (x.shape[nchw ? 1 : 3] !== filter.shape[2]) return fallback(args as never);
    if (nchw) {
      if (!nchwPays(x, filter, attrs)) return fallback(args as never);
      const c = convInfo(x, filter, attrs, false);
      const y = fusedNCHW(
          backend, nat, x, c.outChannels, c.outShape,
          {bias: inputs.bias as TensorInfo, prelu: inputs.preluActivationWeights as TensorInfo,
           activation: attrs.activation, leakyreluAlpha: attrs.leakyreluAlpha},
          (xT, ep) => run(backend, nat, xT, filter, convInfo(xT, filter, nhwc, false), ep));
      return y ?? fallback(args as never);
    }
    const c = convInfo(x, filter, nhwc, depthwise);
    return runFused(
        backend, nat, c.outShape, -1, c.outChannels,
        {bias: inputs.bias as TensorInfo, prelu: inputs.preluActivationWeights as TensorInfo,
         activation: attrs.activation, leakyreluAlpha: attrs.leakyreluAlpha},
        (ep) => run(backend, nat, x, filter, c, ep));
  });
}

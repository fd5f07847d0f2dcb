// SPDX-License-Identifier: Apache-2.0
// Shared by ResizeBilinear and ResizeNearestNeighbor: NHWC, float32 or int32 images (read as
// numbers, as tfjs-cpu does), a Float32Array output, tfjs-cpu's coordinate math and float64
// arithmetic exactly.
import {KernelConfig, ResizeBilinearAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {movementKernel, newData4, product} from './movement';

export function resizeKernel(name: 'ResizeBilinear'|'ResizeNearestNeighbor'): KernelConfig {
  const bilinear = name === 'ResizeBilinear';
  return movementKernel(name, ({inputs, backend, attrs}, nat) => {
    const images = inputs.images as TensorInfo;
    const {alignCorners, halfPixelCenters, size} = attrs as unknown as ResizeBilinearAttrs;
    const values = backend.data.get(images.dataId).values;
    if (!(values instanceof Float32Array || values instanceof Int32Array) || images.shape.length !== 4) return null;
    // Both flags together (tfjs's ops reject it) can put bilinear taps outside the image, where the
    // cpu kernel reads past its data.
    if (bilinear && alignCorners && halfPixelCenters) return null;
    const [batch, inH, inW, channels] = images.shape;
    const [outH, outW] = size;
    const outShape = [batch, outH, outW, channels];
    const out = newData4('float32', product(outShape)) as Float32Array;
    // An empty image resized to a non-empty one: the cpu kernel reads undefined values (NaN).
    if (out.length > 0 && (inH === 0 || inW === 0)) return null;
    const dims = [batch, inH, inW, channels, outH, outW];
    if (bilinear) nat.resizeBilinear(values, out, dims, !!alignCorners, !!halfPixelCenters);
    else nat.resizeNearest(values, out, dims, !!alignCorners, !!halfPixelCenters);
    return backend.makeTensorInfo(outShape, bilinear ? 'float32' : images.dtype, out);
  });
}

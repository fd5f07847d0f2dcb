// SPDX-License-Identifier: Apache-2.0
// LayersModel layers routed onto tfjs's fused kernels: tfjs-layers runs Conv2D and Dense with
// bias + activation in one fused op only for relu / elu / linear, and DepthwiseConv2D never (conv,
// then a bias add, then the activation: three passes over the output). After optimize() moved
// activations into these layers, such a layer's `call` is replaced (on the instance) by one that
// runs tf.fused.conv2d / depthwiseConv2d / matMul with the bias and activation, computing what
// the layer computes; anything else (other ranks, channelsFirst, causal padding) goes to the
// layer's own call. The config is untouched, so the model still serializes as before.
import {fused, Tensor, tidy} from '@tensorflow/tfjs-core';

/* eslint-disable @typescript-eslint/no-explicit-any */
type FusedAct = 'linear'|'relu'|'relu6'|'elu'|'sigmoid';
/** Layer activations that a fused kernel computes the same way (tfjs-layers' relu6 = min(relu(x), 6)). */
const FUSABLE = new Set<string>(['linear', 'relu', 'relu6', 'elu', 'sigmoid']);
/** What tfjs-layers already runs fused in Conv2D / Dense. */
const LAYERS_FUSED = new Set<string>(['linear', 'relu', 'elu']);

/** Layers whose call now runs one fused kernel, and its name. */
export const routedLayers = new WeakMap<object, string>();

function oneTensor(inputs: unknown): Tensor|null {
  if (Array.isArray(inputs)) return inputs.length === 1 && inputs[0] instanceof Tensor ? inputs[0] : null;
  return inputs instanceof Tensor ? inputs : null;
}

/** Replaces `call` of the layers that gain from it; returns how many. */
export function routeToFusedKernels(layers: any[]): number {
  let routed = 0;
  for (const layer of layers) {
    if (routedLayers.has(layer)) continue;  // optimized before
    const cls = layer.getClassName();
    const act = layer.getConfig().activation;
    if (typeof act !== 'string' || !FUSABLE.has(act) || layer.dataFormat === 'channelsFirst') continue;
    const activation = act as FusedAct;
    const own = layer.call.bind(layer);
    let call: ((inputs: unknown, kwargs: unknown) => Tensor)|null = null;
    let kernel = '';
    if (cls === 'Conv2D' && layer.rank === 2 && !LAYERS_FUSED.has(act) && layer.padding !== 'causal') {
      kernel = 'FusedConv2D';
      call = (inputs, kwargs) => {
        const x = oneTensor(inputs);
        if (x == null || x.rank !== 4) return own(inputs, kwargs);
        return tidy(() => fused.conv2d({
          x: x as any, filter: layer.kernel.read(), strides: layer.strides, pad: layer.padding === 'same' ? 'same' : 'valid',
          dilations: layer.dilationRate, dataFormat: 'NHWC', bias: layer.bias?.read(), activation,
        }));
      };
    } else if (cls === 'DepthwiseConv2D' && (act !== 'linear' || layer.useBias) && layer.padding !== 'causal') {
      // tfjs-layers' DepthwiseConv2D passes no dilation (its TODO): neither does this.
      kernel = 'FusedDepthwiseConv2D';
      call = (inputs, kwargs) => {
        const x = oneTensor(inputs);
        if (x == null || x.rank !== 4) return own(inputs, kwargs);
        return tidy(() => fused.depthwiseConv2d({
          x: x as any, filter: layer.depthwiseKernel.read(), strides: layer.strides,
          pad: layer.padding === 'same' ? 'same' : 'valid', dataFormat: 'NHWC', bias: layer.bias?.read(), activation,
        }));
      };
    } else if (cls === 'Dense' && !LAYERS_FUSED.has(act)) {
      kernel = '_FusedMatMul';
      call = (inputs, kwargs) => {
        const x = oneTensor(inputs);
        if (x == null || x.rank !== 2) return own(inputs, kwargs);
        layer.invokeCallHook?.(inputs, kwargs);
        return tidy(() => fused.matMul({a: x as any, b: layer.kernel.read(), bias: layer.bias?.read(), activation}));
      };
    }
    if (call) {
      layer.call = call;
      routedLayers.set(layer, kernel);
      routed++;
    }
  }
  return routed;
}

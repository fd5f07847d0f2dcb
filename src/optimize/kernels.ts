// SPDX-License-Identifier: Apache-2.0
// Which tfjs kernels a model runs, named statically from its layer classes / graph ops, and which
// of them are left on the cpu fallback (registered for 'afterburner' but not native).
import {getKernelsForBackend} from '@tensorflow/tfjs-core';

import {BACKEND_NAME} from '../backend/backend';
import {nativeKernelNames} from '../backend/register';

/** GraphModel ops whose tfjs kernel has another name (tfjs-converter 4.22.0's executors). */
export const GRAPH_OP_KERNELS: Record<string, string[]> = {
  AddV2: ['Add'], BiasAdd: ['Add'], Mul: ['Multiply'], Div: ['RealDiv'], DivNoNan: ['RealDiv', 'Equal', 'Select'],
  MatMul: ['BatchMatMul'], BatchMatMulV2: ['BatchMatMul'], _FusedConv2D: ['FusedConv2D'],
  FusedDepthwiseConv2dNative: ['FusedDepthwiseConv2D'], DepthwiseConv2d: ['DepthwiseConv2dNative'],
  Conv1D: ['Conv2D', 'Reshape'], FusedBatchNorm: ['FusedBatchNorm'], FusedBatchNormV2: ['FusedBatchNorm'],
  FusedBatchNormV3: ['FusedBatchNorm'], ConcatV2: ['Concat'], Squeeze: ['Reshape'], ExpandDims: ['Reshape'],
  Pad: ['PadV2'], Split: ['SplitV'], TopKV2: ['TopK'], SelectV2: ['Select'], BroadcastTo: ['Tile'],
  StopGradient: ['Identity'], Snapshot: ['Identity'], FakeQuantWithMinMaxVars: ['Identity'],
  Conv2dTranspose: ['Conv2DBackpropInput'], FloorMod: ['Mod'], EmptyTensorList: [],
};

/** GraphModel ops the converter runs without a tfjs kernel (constants, shapes, control flow, lists). */
const GRAPH_OP_NO_KERNEL = new Set([
  'Const', 'Placeholder', 'PlaceholderWithDefault', 'NoOp', 'Shape', 'ShapeN', 'Size', 'Rank',
  'Enter', 'Exit', 'Merge', 'Switch', 'NextIteration', 'LoopCond', 'If', 'StatelessIf', 'While',
  'StatelessWhile', 'PartitionedCall', 'StatefulPartitionedCall', 'Print', 'Assert',
  'TensorArrayV3', 'TensorArrayWriteV3', 'TensorArrayReadV3', 'TensorArrayGatherV3',
  'TensorArrayScatterV3', 'TensorArraySplitV3', 'TensorArrayConcatV3', 'TensorArraySizeV3',
  'TensorArrayCloseV3', 'TensorListReserve', 'TensorListFromTensor', 'TensorListStack',
  'TensorListSetItem', 'TensorListGetItem', 'TensorListLength', 'TensorListPushBack',
  'TensorListPopBack', 'TensorListConcat', 'TensorListConcatV2', 'TensorListGather',
  'TensorListScatter', 'TensorListScatterV2', 'TensorListResize', 'TensorListSplit',
  'TensorListElementShape', 'HashTable', 'HashTableV2', 'LookupTableImport', 'LookupTableImportV2',
  'LookupTableFind', 'LookupTableFindV2', 'LookupTableSize', 'LookupTableSizeV2',
]);

/** Activations of tfjs-layers (serialized names) and the kernels they run. */
export const ACTIVATION_KERNELS: Record<string, string[]> = {
  linear: [], relu: ['Relu'], relu6: ['Relu', 'Minimum'], elu: ['Elu'], selu: ['Selu'],
  sigmoid: ['Sigmoid'], hardSigmoid: ['Multiply', 'Add', 'ClipByValue'], tanh: ['Tanh'],
  softmax: ['Softmax'], logSoftmax: ['Max', 'Sub', 'Exp', 'Sum', 'Log'], softplus: ['Softplus'],
  softsign: ['Abs', 'Add', 'RealDiv'], swish: ['Sigmoid', 'Multiply'], mish: ['Softplus', 'Tanh', 'Multiply'],
  gelu: ['RealDiv', 'Erf', 'Add', 'Multiply'], gelu_new: ['Pow', 'Multiply', 'Add', 'Sqrt', 'RealDiv', 'Tanh'],
};

/** Activations that tfjs-layers' Conv2D and Dense run inside their fused kernel. */
const LAYERS_FUSED = new Set(['linear', 'relu', 'elu']);

function activationKernels(act: unknown): string[]|null {
  const name = typeof act === 'string' ? act : 'linear';
  return ACTIVATION_KERNELS[name] ?? null;
}

/** The kernels one layer of `className` with `config` runs at inference, or null if unknown. */
export function layerKernels(className: string, config: Record<string, unknown>): string[]|null {
  const act = activationKernels(config.activation);
  const fusedAct = LAYERS_FUSED.has(typeof config.activation === 'string' ? config.activation : 'linear');
  const bias = config.useBias !== false ? ['Add'] : [];
  switch (className) {
    case 'InputLayer': case 'Dropout': case 'SpatialDropout1D': case 'GaussianNoise':
    case 'GaussianDropout': case 'AlphaDropout':
      return [];
    case 'Conv2D':
      return act && ['FusedConv2D', ...(fusedAct ? [] : act)];
    case 'Conv1D':
      return act && ['Conv2D', 'Reshape', ...bias, ...act];
    case 'DepthwiseConv2D':
      return act && ['DepthwiseConv2dNative', ...bias, ...act];
    case 'SeparableConv2D':
      return act && ['DepthwiseConv2dNative', 'Conv2D', ...bias, ...act];
    case 'Conv2DTranspose':
      return act && ['Conv2DBackpropInput', ...bias, ...act];
    case 'Dense':
      return act && ['_FusedMatMul', ...(fusedAct ? [] : [...bias, ...act])];
    case 'BatchNormalization':
      return ['FusedBatchNorm'];
    case 'Activation':
      return act;
    case 'ReLU':
      return config.maxValue == null ? ['Relu'] : ['Relu', 'ClipByValue'];
    case 'LeakyReLU': return ['LeakyRelu'];
    case 'ELU': return ['Elu'];
    case 'PReLU': return ['Prelu'];
    case 'Softmax': return ['Softmax'];
    case 'ThresholdedReLU': return ['Greater', 'Cast', 'Multiply'];
    case 'MaxPooling2D': return ['MaxPool'];
    case 'AveragePooling2D': return ['AvgPool'];
    case 'GlobalAveragePooling2D': case 'GlobalAveragePooling1D': return ['Mean'];
    case 'GlobalMaxPooling2D': case 'GlobalMaxPooling1D': return ['Max'];
    case 'Flatten': case 'Reshape': return ['Reshape'];
    case 'Permute': return ['Transpose'];
    case 'Add': return ['Add'];
    case 'Subtract': return ['Sub'];
    case 'Multiply': return ['Multiply'];
    case 'Average': return ['Add', 'Multiply'];
    case 'Maximum': return ['Maximum'];
    case 'Minimum': return ['Minimum'];
    case 'Concatenate': return ['Concat'];
    case 'ZeroPadding2D': return ['PadV2'];
    case 'Cropping2D': return ['Slice'];
    case 'UpSampling2D':
      return [config.interpolation === 'bilinear' ? 'ResizeBilinear' : 'ResizeNearestNeighbor'];
    default:
      return null;
  }
}

/** The kernels one GraphModel op runs, or null if unknown. */
export function graphOpKernels(op: string, registered: Set<string>): string[]|null {
  if (GRAPH_OP_NO_KERNEL.has(op)) return [];
  const mapped = GRAPH_OP_KERNELS[op];
  if (mapped) return mapped;
  return registered.has(op) ? [op] : null;
}

/** Kernel names registered for the afterburner backend (every cpu kernel plus the native ones). */
export function registeredKernels(): Set<string> {
  return new Set(getKernelsForBackend(BACKEND_NAME).map((k) => k.kernelName));
}

/** Of `kernels`, those not native here, sorted. */
export function cpuFallback(kernels: Iterable<string>): string[] {
  const native = new Set(nativeKernelNames);
  return [...new Set(kernels)].filter((k) => !native.has(k)).sort();
}

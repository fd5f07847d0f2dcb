// SPDX-License-Identifier: Apache-2.0
// Every kernel afterburner overrides: one file per tfjs kernel name (test/registry.test.mjs checks
// that each file here is listed and each listed config comes from its own file).
import type {KernelConfig} from '@tensorflow/tfjs-core';

import {AbsConfig} from './Abs';
import {AddConfig} from './Add';
import {ArgMaxConfig} from './ArgMax';
import {ArgMinConfig} from './ArgMin';
import {AbUpdateSliceConfig} from './AbUpdateSlice';
import {AvgPoolConfig} from './AvgPool';
import {BatchMatMulConfig} from './BatchMatMul';
import {Conv2DConfig} from './Conv2D';
import {Conv2DBackpropFilterConfig} from './Conv2DBackpropFilter';
import {Conv2DBackpropInputConfig} from './Conv2DBackpropInput';
import {DepthwiseConv2dNativeConfig} from './DepthwiseConv2dNative';
import {EluConfig} from './Elu';
import {ErfConfig} from './Erf';
import {ExpConfig} from './Exp';
import {FusedBatchNormConfig} from './FusedBatchNorm';
import {FusedConv2DConfig} from './FusedConv2D';
import {FusedDepthwiseConv2DConfig} from './FusedDepthwiseConv2D';
import {LeakyReluConfig} from './LeakyRelu';
import {LogConfig} from './Log';
import {MaxConfig} from './Max';
import {MaxPoolConfig} from './MaxPool';
import {MaximumConfig} from './Maximum';
import {MeanConfig} from './Mean';
import {MinConfig} from './Min';
import {MinimumConfig} from './Minimum';
import {MultiplyConfig} from './Multiply';
import {NegConfig} from './Neg';
import {PreluConfig} from './Prelu';
import {ProdConfig} from './Prod';
import {RealDivConfig} from './RealDiv';
import {ReluConfig} from './Relu';
import {Relu6Config} from './Relu6';
import {ClipByValueConfig} from './ClipByValue';
import {RsqrtConfig} from './Rsqrt';
import {SigmoidConfig} from './Sigmoid';
import {SoftmaxConfig} from './Softmax';
import {SqrtConfig} from './Sqrt';
import {SquareConfig} from './Square';
import {SquaredDifferenceConfig} from './SquaredDifference';
import {SubConfig} from './Sub';
import {SumConfig} from './Sum';
import {TanhConfig} from './Tanh';
import {_FusedMatMulConfig} from './_FusedMatMul';
// data movement, resize, cast (movement.ts)
import {CastConfig} from './Cast';
import {ConcatConfig} from './Concat';
import {GatherV2Config} from './GatherV2';
import {MirrorPadConfig} from './MirrorPad';
import {PadV2Config} from './PadV2';
import {ResizeBilinearConfig} from './ResizeBilinear';
import {ResizeNearestNeighborConfig} from './ResizeNearestNeighbor';
import {SliceConfig} from './Slice';
import {StridedSliceConfig} from './StridedSlice';
import {TileConfig} from './Tile';
import {TransposeConfig} from './Transpose';
import {DepthToSpaceConfig} from './DepthToSpace';
import {PackConfig} from './Pack';
import {ReverseConfig} from './Reverse';
import {SplitVConfig} from './SplitV';
import {UnpackConfig} from './Unpack';
// comparisons, selection (compare.ts, native/addon/select_api.cc)
import {AddNConfig} from './AddN';
import {EqualConfig} from './Equal';
import {GatherNdConfig} from './GatherNd';
import {GreaterConfig} from './Greater';
import {GreaterEqualConfig} from './GreaterEqual';
import {LessConfig} from './Less';
import {LessEqualConfig} from './LessEqual';
import {NotEqualConfig} from './NotEqual';
import {TopKConfig} from './TopK';
// wide binary ops (elementwise.ts wideKernel, native/addon/wide_api.cc)
import {FloorDivConfig} from './FloorDiv';
import {ModConfig} from './Mod';

export const kernelConfigs: KernelConfig[] = [
  AbsConfig,
  AddConfig, ArgMaxConfig, ArgMinConfig, AbUpdateSliceConfig,
  AvgPoolConfig,
  BatchMatMulConfig,
  Conv2DConfig,
  Conv2DBackpropFilterConfig,
  Conv2DBackpropInputConfig,
  DepthwiseConv2dNativeConfig,
  EluConfig,
  ErfConfig,
  ExpConfig,
  FusedBatchNormConfig,
  FusedConv2DConfig,
  FusedDepthwiseConv2DConfig,
  LeakyReluConfig,
  LogConfig,
  MaxConfig,
  MaxPoolConfig,
  MaximumConfig,
  MeanConfig,
  MinConfig,
  MinimumConfig,
  MultiplyConfig,
  NegConfig,
  PreluConfig,
  ProdConfig,
  RealDivConfig,
  ReluConfig,
  Relu6Config,
  ClipByValueConfig,
  RsqrtConfig,
  SigmoidConfig,
  SoftmaxConfig,
  SqrtConfig,
  SquareConfig,
  SquaredDifferenceConfig,
  SubConfig,
  SumConfig,
  TanhConfig,
  _FusedMatMulConfig,
  CastConfig,
  ConcatConfig,
  GatherV2Config,
  MirrorPadConfig,
  PadV2Config,
  ResizeBilinearConfig,
  ResizeNearestNeighborConfig,
  SliceConfig,
  StridedSliceConfig,
  TileConfig,
  TransposeConfig,
  DepthToSpaceConfig,
  PackConfig,
  ReverseConfig,
  SplitVConfig,
  UnpackConfig,
  AddNConfig, EqualConfig, GatherNdConfig, GreaterConfig, GreaterEqualConfig, LessConfig, LessEqualConfig,
  NotEqualConfig, TopKConfig,
  FloorDivConfig, ModConfig,
];

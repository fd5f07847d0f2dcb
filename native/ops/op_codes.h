// SPDX-License-Identifier: Apache-2.0
// Numeric op codes shared by native code and src/binding.ts (keep the two in step; a test checks).
#pragma once

namespace ab {

// Fused activations (tfjs: linear, relu, relu6, elu, leakyrelu, prelu, sigmoid).
enum Activation : int {
  kActLinear = 0,
  kActRelu = 1,
  kActRelu6 = 2,
  kActElu = 3,
  kActLeakyRelu = 4,  // uses alpha
  kActPrelu = 5,      // uses a per-element/per-channel alpha array
  kActSigmoid = 6,
  kActCount = 7,
};

// How an epilogue operand (bias, prelu alpha) maps onto an [M, N] output tile.
enum EpilogueOperand : int {
  kOperandNone = 0,
  kOperandScalar = 1,  // one value
  kOperandRow = 2,     // N values, one per output column
  kOperandMatrix = 3,  // M*N values, the same for every batch
  kOperandCount = 4,
};

enum BinaryOp : int {
  kBinAdd = 0, kBinSub, kBinMul, kBinDiv, kBinMax, kBinMin, kBinSquaredDiff, kBinPrelu,
  kBinCount,
};

enum UnaryOp : int {
  kUnRelu = 0, kUnRelu6, kUnElu, kUnLeakyRelu, kUnSigmoid, kUnTanh, kUnExp, kUnLog, kUnSqrt,
  kUnRsqrt, kUnSquare, kUnNeg, kUnAbs, kUnErf,
  kUnCount,
};

enum ReduceOp : int { kRedSum = 0, kRedMean, kRedMax, kRedMin, kRedProd, kRedCount };

// tfjs comparison kernels (bool outputs): ===, !==, <, <=, >, >= on the values.
enum CompareOp : int {
  kCmpEqual = 0, kCmpNotEqual, kCmpLess, kCmpLessEqual, kCmpGreater, kCmpGreaterEqual,
  kCmpCount,
};

// Binary ops computed as tfjs-cpu's JavaScript computes them: each element in float64 from the
// stored values (Float32Array, Int32Array or Uint8Array), the result stored into the output's
// array type (Float32Array: rounded to nearest; Int32Array: ToInt32, i.e. wrapped modulo 2^32).
// tfjs-cpu: FloorDiv = Math.floor(a / b), Mod = its sign-of-the-divisor % rule.
enum WideBinaryOp : int {
  kWideAdd = 0, kWideSub, kWideMul, kWideDiv, kWideMax, kWideMin, kWideSquaredDiff, kWideFloorDiv, kWideMod,
  kWideCount,
};

}  // namespace ab

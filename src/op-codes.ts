// SPDX-License-Identifier: Apache-2.0
// Mirrors native/ops/op_codes.h (test/registry.test.mjs checks that the two agree).

export const Activation = {linear: 0, relu: 1, relu6: 2, elu: 3, leakyrelu: 4, prelu: 5, sigmoid: 6} as const;
export type ActivationName = keyof typeof Activation;

/** How an epilogue operand (bias, prelu slope) maps onto an [M, N] output. */
export const Operand = {none: 0, scalar: 1, row: 2, matrix: 3} as const;

export const BinaryOp = {
  Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6, Prelu: 7,
} as const;
export type BinaryOpName = keyof typeof BinaryOp;

export const UnaryOp = {
  Relu: 0, Relu6: 1, Elu: 2, LeakyRelu: 3, Sigmoid: 4, Tanh: 5, Exp: 6, Log: 7, Sqrt: 8, Rsqrt: 9,
  Square: 10, Neg: 11, Abs: 12, Erf: 13,
} as const;
export type UnaryOpName = keyof typeof UnaryOp;

export const ReduceOp = {Sum: 0, Mean: 1, Max: 2, Min: 3, Prod: 4} as const;
export type ReduceOpName = keyof typeof ReduceOp;

/** The comparison kernels (bool outputs). */
export const CompareOp = {Equal: 0, NotEqual: 1, Less: 2, LessEqual: 3, Greater: 4, GreaterEqual: 5} as const;
export type CompareOpName = keyof typeof CompareOp;

/** Binary ops as tfjs-cpu's JS computes them (float64 from any storage; native/ops/wide_binary.h). */
export const WideBinaryOp = {
  Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6, FloorDiv: 7, Mod: 8,
} as const;
export type WideBinaryOpName = keyof typeof WideBinaryOp;

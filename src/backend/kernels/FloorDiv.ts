// SPDX-License-Identifier: Apache-2.0
// tfjs-cpu's FloorDiv: Math.floor(a / b) in float64, stored into an int32 output (ToInt32: x / 0
// gives 0, INT32_MIN / -1 wraps), whatever the inputs' dtype. The wide kernel (native/ops/wide_binary.h).
import {wideKernel} from './elementwise';

export const FloorDivConfig = wideKernel('FloorDiv');

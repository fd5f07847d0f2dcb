// SPDX-License-Identifier: Apache-2.0
// tfjs-cpu's Mod: r = a % b, and (r + b) % b when a and b are not of one sign class (the result
// takes the divisor's sign); x mod 0 is NaN (0 in an int32 output). The wide kernel
// (native/ops/wide_binary.h), in the output's dtype (a's).
import {wideKernel} from './elementwise';

export const ModConfig = wideKernel('Mod');

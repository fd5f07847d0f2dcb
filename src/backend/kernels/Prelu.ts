// SPDX-License-Identifier: Apache-2.0
// Prelu(x, alpha) = x < 0 ? alpha * x : x, alpha broadcast to x.
import {binaryKernel} from './elementwise';

export const PreluConfig = binaryKernel('Prelu', ['x', 'alpha']);

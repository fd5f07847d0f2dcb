// SPDX-License-Identifier: Apache-2.0
import {unaryKernel} from './elementwise';

export const NegConfig = unaryKernel('Neg');

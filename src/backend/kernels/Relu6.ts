// SPDX-License-Identifier: Apache-2.0
import {unaryKernel} from './elementwise';

export const Relu6Config = unaryKernel('Relu6');

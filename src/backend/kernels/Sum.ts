// SPDX-License-Identifier: Apache-2.0
import {reduceKernel} from './reduce';

export const SumConfig = reduceKernel('Sum', 'axis');

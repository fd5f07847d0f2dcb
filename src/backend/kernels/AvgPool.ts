// SPDX-License-Identifier: Apache-2.0
import {poolKernel} from './pool';

export const AvgPoolConfig = poolKernel('AvgPool', 1);

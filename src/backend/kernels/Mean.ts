// SPDX-License-Identifier: Apache-2.0
import {reduceKernel} from './reduce';

export const MeanConfig = reduceKernel('Mean', 'axis');

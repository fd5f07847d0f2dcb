// SPDX-License-Identifier: Apache-2.0
import {resizeKernel} from './resize';

export const ResizeNearestNeighborConfig = resizeKernel('ResizeNearestNeighbor');

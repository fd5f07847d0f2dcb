// SPDX-License-Identifier: Apache-2.0
import {compareKernel} from './compare';

export const GreaterConfig = compareKernel('Greater');

// SPDX-License-Identifier: Apache-2.0
import {argReduceKernel} from './argreduce';

export const ArgMinConfig = argReduceKernel('ArgMin');

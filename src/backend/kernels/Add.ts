// SPDX-License-Identifier: Apache-2.0
import {binaryKernel} from './elementwise';

export const AddConfig = binaryKernel('Add');

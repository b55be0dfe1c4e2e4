/** The Transformer feed-forward network: Linear(D, D * mlp_ratio), exact GELU, Linear back to D. */
import * as tf from '@tensorflow/tfjs-core';
import type { ParameterSet } from './parameters.js';
import { gelu } from './gelu.js';
import { Linear } from './linear.js';

export class Mlp {
  private readonly fc1: Linear;
  private readonly fc2: Linear;

  constructor(params: ParameterSet, prefix: string, dim: number, hiddenDim: number) {
    this.fc1 = new Linear(params, `${prefix}.fc1`, dim, hiddenDim, { packed: true });
    this.fc2 = new Linear(params, `${prefix}.fc2`, hiddenDim, dim, { packed: true });
  }

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.fc2.apply(gelu(this.fc1.apply(x))));
  }
}

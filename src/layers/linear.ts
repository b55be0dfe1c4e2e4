/** A fully connected layer, as torch.nn.Linear: y = x W^T + b with W stored (out, in). */
import * as tf from '@tensorflow/tfjs-core';
import type { Parameter, ParameterSet } from './parameters.js';

export class Linear {
  private readonly weight: Parameter;
  private readonly bias?: Parameter;

  constructor(params: ParameterSet, prefix: string, inFeatures: number, readonly outFeatures: number, withBias = true) {
    // Stored transposed to (in, out) once at load time, so every call is a plain matmul.
    this.weight = params.declare(`${prefix}.weight`, [outFeatures, inFeatures], (w) => tf.transpose(w));
    if (withBias) this.bias = params.declare(`${prefix}.bias`, [outFeatures]);
  }

  /** Applies the layer to the last axis of `x` (any leading axes). */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const leading = x.shape.slice(0, -1);
      const flat = tf.reshape(x, [-1, x.shape[x.shape.length - 1]!]) as tf.Tensor2D;
      let y: tf.Tensor = tf.matMul(flat, this.weight.value as tf.Tensor2D);
      if (this.bias) y = tf.add(y, this.bias.value);
      return tf.reshape(y, [...leading, this.outFeatures]);
    });
  }
}

/** LayerNorm over the last axis, as torch.nn.LayerNorm (biased variance, eps inside the square root). */
import * as tf from '@tensorflow/tfjs-core';
import type { Parameter, ParameterSet } from './parameters.js';

/** Normalises `x` over its last axis; `weight` and `bias` (both or neither) apply the affine part. */
export function layerNorm(x: tf.Tensor, eps: number, weight?: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    if (!weight || !bias) return normalized;
    return tf.add(tf.mul(normalized, weight), bias);
  });
}

/** A LayerNorm module with optional learned gain and bias (`<prefix>.weight`, `<prefix>.bias`). */
export class LayerNorm {
  private readonly weight?: Parameter;
  private readonly bias?: Parameter;

  constructor(
    params: ParameterSet,
    prefix: string,
    dim: number,
    private readonly eps: number,
    affine = true,
  ) {
    if (affine) {
      this.weight = params.declare(`${prefix}.weight`, [dim]);
      this.bias = params.declare(`${prefix}.bias`, [dim]);
    }
  }

  apply(x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.eps, this.weight?.value, this.bias?.value);
  }
}

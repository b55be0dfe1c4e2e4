/** The exact (erf) GELU of torch.nn.GELU(), not the tanh approximation. */
import * as tf from '@tensorflow/tfjs-core';

const INV_SQRT2 = Math.SQRT1_2;

/** gelu(x) = x/2 * (1 + erf(x / sqrt(2))). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, INV_SQRT2)), 1)));
}

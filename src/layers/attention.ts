/**
 * Multi-head self-attention with an additive bias (ALiBi plus the key padding mask), as data2vec 2.0's
 * AltAttention: scores = (q / sqrt(d_head)) k^T + bias, softmax over keys, then the output projection.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParameterSet } from '../model/parameters.js';
import { Linear } from './linear.js';

export class SelfAttention {
  private readonly qkv: Linear;
  private readonly proj: Linear;
  private readonly headDim: number;

  constructor(
    params: ParameterSet,
    prefix: string,
    private readonly dim: number,
    private readonly numHeads: number,
  ) {
    this.headDim = dim / numHeads;
    this.qkv = new Linear(params, `${prefix}.qkv`, dim, 3 * dim);
    this.proj = new Linear(params, `${prefix}.proj`, dim, dim);
  }

  /**
   * @param x (B, N, D).
   * @param bias broadcastable to (B, H, N, N), or null for none.
   */
  apply(x: tf.Tensor3D, bias: tf.Tensor | null): tf.Tensor3D {
    return tf.tidy(() => {
      const [batch, length] = x.shape;
      const { numHeads, headDim } = this;
      const toHeads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [batch, length, numHeads, headDim]), [0, 2, 1, 3]) as tf.Tensor4D;
      const [q, k, v] = tf.split(this.qkv.apply(x), 3, -1).map(toHeads) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      let scores: tf.Tensor = tf.matMul(tf.mul(q, headDim ** -0.5), k, false, true); // (B, H, N, N)
      if (bias) scores = tf.add(scores, bias);
      const weights = tf.softmax(scores);
      const context = tf.matMul(weights, v); // (B, H, N, d_head)
      const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch, length, this.dim]);
      return this.proj.apply(merged) as tf.Tensor3D;
    });
  }
}

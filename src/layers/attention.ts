/**
 * Multi-head self-attention with an additive bias (ALiBi plus the key padding mask), as data2vec 2.0's
 * AltAttention: scores = (q / sqrt(d_head)) k^T + bias, softmax over keys, then the output projection. One item at
 * a time; the per-head products are the kernel interface's `attention` (in int8 when the model computes in int8).
 */
import * as tf from '@tensorflow/tfjs-core';
import { attention, slice } from '../backend/kernels.js';
import type { ParameterSet } from './parameters.js';
import { Linear } from './linear.js';

export class SelfAttention {
  private readonly qkv: Linear;
  private readonly proj: Linear;

  constructor(
    params: ParameterSet,
    prefix: string,
    private readonly dim: number,
    private readonly numHeads: number,
  ) {
    this.qkv = new Linear(params, `${prefix}.qkv`, dim, 3 * dim, { packed: true });
    this.proj = new Linear(params, `${prefix}.proj`, dim, dim, { packed: true });
  }

  /**
   * @param x (B, N, D).
   * @param bias broadcastable to (B, H, N, N), or null for none.
   */
  apply(x: tf.Tensor3D, bias: tf.Tensor | null): tf.Tensor3D {
    return tf.tidy(() => {
      const [batch, length] = x.shape;
      const qkv = this.qkv.apply(x) as tf.Tensor3D; // (B, N, 3D)
      const bias4d = bias
        ? (tf.reshape(bias, [1, 1, 1, 1, ...bias.shape].slice(-4) as [number, number, number, number]) as tf.Tensor4D)
        : null;
      // The products around the heads' in int8 (int8 compute): the heads' own too.
      const int8 = this.qkv.computesInt8;
      const items = Array.from({ length: batch }, (_, item) => {
        const rows = tf.reshape(slice(qkv, [item, 0, 0], [1, length, 3 * this.dim]), [
          length,
          3 * this.dim,
        ]) as tf.Tensor2D;
        return attention(rows, { bias: bias4d, item, heads: this.numHeads, int8 });
      });
      const context = batch === 1 ? tf.expandDims(items[0]!, 0) : tf.stack(items);
      return this.proj.apply(context) as tf.Tensor3D;
    });
  }
}

/**
 * Multi-head self-attention with an additive bias (ALiBi plus the key padding mask), as data2vec 2.0's
 * AltAttention: scores = (q / sqrt(d_head)) k^T + bias, softmax over keys, then the output projection.
 *
 * Computed as plain 2-D products, one item and one head at a time, on K transposed once per call: on wasm a
 * transposed-B `matMul` and a batched (4-D) `matMul` run at ~1 GFLOP/s, while a plain 2-D product reaches
 * 15-19 (bench/RESULTS.md). The sums are the same, so the numbers match the batched form within rounding.
 */
import * as tf from '@tensorflow/tfjs-core';
import { slice } from '../backend/kernels.js';
import type { ParameterSet } from './parameters.js';
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
      const items = Array.from({ length: batch }, (_, b) => {
        const rows = tf.reshape(slice(qkv, [b, 0, 0], [1, length, 3 * this.dim]), [
          length,
          3 * this.dim,
        ]) as tf.Tensor2D;
        return this.attendOne(rows, bias4d, b);
      });
      const context = batch === 1 ? tf.expandDims(items[0]!, 0) : tf.stack(items);
      return this.proj.apply(context) as tf.Tensor3D;
    });
  }

  /** Attention of one item: (N, 3D) projected rows -> (N, D) context, heads side by side. */
  private attendOne(qkv: tf.Tensor2D, bias: tf.Tensor4D | null, item: number): tf.Tensor2D {
    const { dim, numHeads, headDim } = this;
    const length = qkv.shape[0];
    const q = tf.mul(slice(qkv, [0, 0], [length, dim]), headDim ** -0.5);
    const keysT = tf.transpose(slice(qkv, [0, dim], [length, dim])); // (D, N): head h is rows h*d_head...
    const v = slice(qkv, [0, 2 * dim], [length, dim]);
    // Each head's (N, N) scores go as soon as its context is computed (16 heads x 1 MB at 10 s, large).
    const heads = Array.from({ length: numHeads }, (_, h) =>
      tf.tidy(() => {
        let scores: tf.Tensor2D = tf.matMul(
          slice(q, [0, h * headDim], [length, headDim]),
          slice(keysT, [h * headDim, 0], [headDim, length]),
        );
        if (bias) scores = tf.add(scores, biasOf(bias, item, h)) as tf.Tensor2D;
        return tf.matMul(tf.softmax(scores), slice(v, [0, h * headDim], [length, headDim]));
      }),
    );
    return tf.concat(heads, 1) as tf.Tensor2D;
  }
}

/** The (N, N) or (1, N) slice of a (B|1, H|1, N|1, N) bias for one item and head. */
function biasOf(bias: tf.Tensor4D, item: number, head: number): tf.Tensor2D {
  const [items, heads, rows, cols] = bias.shape;
  const start: [number, number, number, number] = [items === 1 ? 0 : item, heads === 1 ? 0 : head, 0, 0];
  return tf.reshape(slice(bias, start, [1, 1, rows, cols]), [rows, cols]);
}

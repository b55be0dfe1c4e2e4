/**
 * One Transformer block of data2vec 2.0 (AltBlock).
 *
 * Post-norm (emotion2vec, `layer_norm_first: false`):
 *   x = norm1(x + attn(x));  x = norm2(x + mlp(x))
 * Pre-norm (`layer_norm_first: true`), exactly as upstream computes it at inference:
 *   x = x + attn(norm1(x));  h = mlp(norm2(x));  x = h + h
 * (upstream's pre-norm branch adds the MLP output to itself rather than to the block input; we keep that,
 * since parity with the checkpoint's training code is what makes the weights mean what they meant.)
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParameterSet } from './parameters.js';
import { SelfAttention } from './attention.js';
import { LayerNorm } from './layer-norm.js';
import { Mlp } from './mlp.js';
import { runStage, type StageHook } from './stage.js';

export interface BlockOptions {
  readonly dim: number;
  readonly numHeads: number;
  readonly mlpRatio: number;
  readonly normEps: number;
  readonly normAffine: boolean;
  readonly layerNormFirst: boolean;
}

export class TransformerBlock {
  private readonly norm1: LayerNorm;
  private readonly attn: SelfAttention;
  private readonly norm2: LayerNorm;
  private readonly mlp: Mlp;
  private readonly layerNormFirst: boolean;

  constructor(params: ParameterSet, prefix: string, options: BlockOptions) {
    const { dim, numHeads, mlpRatio, normEps, normAffine } = options;
    this.norm1 = new LayerNorm(params, `${prefix}.norm1`, dim, normEps, normAffine);
    this.attn = new SelfAttention(params, `${prefix}.attn`, dim, numHeads);
    this.norm2 = new LayerNorm(params, `${prefix}.norm2`, dim, normEps, normAffine);
    this.mlp = new Mlp(params, `${prefix}.mlp`, dim, Math.trunc(dim * mlpRatio));
    this.layerNormFirst = options.layerNormFirst;
  }

  /**
   * (B, N, D) -> (B, N, D); `bias` is the attention bias for this block (or null). `stage` names the attention,
   * MLP and norm steps for profiling.
   */
  apply(x: tf.Tensor3D, bias: tf.Tensor | null, stage: StageHook = runStage): tf.Tensor3D {
    return tf.tidy(() => {
      if (this.layerNormFirst) {
        const normed = stage('norm1', () => this.norm1.apply(x) as tf.Tensor3D);
        const attended = tf.add(
          x,
          stage('attention', () => this.attn.apply(normed, bias)),
        );
        const normed2 = stage('norm2', () => this.norm2.apply(attended));
        const h = stage('mlp', () => this.mlp.apply(normed2));
        return tf.add(h, h) as tf.Tensor3D;
      }
      const context = stage('attention', () => this.attn.apply(x, bias));
      const attended = stage('norm1', () => this.norm1.apply(tf.add(x, context)));
      const hidden = stage('mlp', () => this.mlp.apply(attended));
      return stage('norm2', () => this.norm2.apply(tf.add(attended, hidden)) as tf.Tensor3D);
    });
  }
}

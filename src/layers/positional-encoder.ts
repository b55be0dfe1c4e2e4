/**
 * The convolutional relative positional encoder of data2vec 2.0: `depth` grouped Conv1d layers, each followed
 * by a LayerNorm without affine and GELU. Its output is added to its input by the caller.
 *
 * For batches, frames past each item's length are zeroed before every convolution, so that a padded item sees
 * exactly the zero padding it would see alone.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParameterSet } from './parameters.js';
import { gelu } from './gelu.js';
import { GroupedConv1d } from './grouped-conv1d.js';
import { LayerNorm, layerNorm } from './layer-norm.js';

/** fairseq's LayerNorm helper uses the default epsilon here. */
const POSITIONAL_NORM_EPS = 1e-5;

export interface PositionalEncoderOptions {
  readonly embedDim: number;
  readonly depth: number;
  readonly kernel: number;
  readonly groups: number;
  /** A LayerNorm with affine before the convolutions (conv_pos_pre_ln). */
  readonly preLayerNorm: boolean;
}

export class ConvPositionalEncoder {
  private readonly preNorm?: LayerNorm;
  private readonly convs: GroupedConv1d[];

  constructor(params: ParameterSet, prefix: string, options: PositionalEncoderOptions) {
    // With conv_pos_pre_ln upstream wraps the stack as Sequential(LayerNorm, Sequential(...)), which shifts the names.
    const stackPrefix = options.preLayerNorm ? `${prefix}.1` : prefix;
    if (options.preLayerNorm)
      this.preNorm = new LayerNorm(params, `${prefix}.0`, options.embedDim, POSITIONAL_NORM_EPS);
    this.convs = Array.from(
      { length: options.depth },
      // Index 0 of the stack is a TransposeLast, so the conv blocks are numbered from 1.
      (_, i) =>
        new GroupedConv1d(
          params,
          `${stackPrefix}.${i + 1}.0`,
          options.embedDim,
          options.embedDim,
          options.kernel,
          options.groups,
        ),
    );
  }

  /**
   * @param x (B, T, D) projected features.
   * @param frameMask (B, T, 1) with 1 for real frames and 0 for padding, or null when no item is padded.
   * @returns (B, T, D) positional encoding (not yet added to x).
   */
  apply(x: tf.Tensor3D, frameMask: tf.Tensor3D | null): tf.Tensor3D {
    return tf.tidy(() => {
      let h: tf.Tensor3D = this.preNorm ? (this.preNorm.apply(x) as tf.Tensor3D) : x;
      for (const conv of this.convs) {
        if (frameMask) h = tf.mul(h, frameMask);
        h = gelu(layerNorm(conv.apply(h), POSITIONAL_NORM_EPS)) as tf.Tensor3D;
      }
      return h;
    });
  }
}

/** Projects CNN features (C channels) to the Transformer width D: LayerNorm(C) then Linear(C, D). */
import type * as tf from '@tensorflow/tfjs-core';
import type { ParameterSet } from './parameters.js';
import { LayerNorm } from './layer-norm.js';
import { Linear } from './linear.js';

/** nn.LayerNorm(C) with its default epsilon, as upstream builds it. */
const PROJECTION_NORM_EPS = 1e-5;

export class FeatureProjection {
  private readonly norm: LayerNorm;
  private readonly linear: Linear;

  constructor(params: ParameterSet, prefix: string, featureChannels: number, embedDim: number) {
    this.norm = new LayerNorm(params, `${prefix}.1`, featureChannels, PROJECTION_NORM_EPS);
    this.linear = new Linear(params, `${prefix}.2`, featureChannels, embedDim, { packed: true });
  }

  /** (B, T, C) -> (B, T, D). */
  apply(features: tf.Tensor3D): tf.Tensor3D {
    const normalized = this.norm.apply(features);
    const projected = this.linear.apply(normalized) as tf.Tensor3D;
    normalized.dispose();
    return projected;
  }
}

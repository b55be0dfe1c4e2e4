/** The emotion classifier: Linear(D, number of labels) on the utterance embedding, giving logits. */
import type * as tf from '@tensorflow/tfjs-core';
import type { ParameterSet } from './parameters.js';
import { Linear } from './linear.js';

export class ClassificationHead {
  private readonly proj: Linear;

  constructor(params: ParameterSet, prefix: string, dim: number, numLabels: number) {
    this.proj = new Linear(params, prefix, dim, numLabels);
  }

  /** (B, D) utterance embeddings -> (B, labels) logits. */
  apply(utterance: tf.Tensor2D): tf.Tensor2D {
    return this.proj.apply(utterance) as tf.Tensor2D;
  }
}

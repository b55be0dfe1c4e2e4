/**
 * The whole emotion2vec network as declared parameters: the encoder plus, when tokens.txt lists labels,
 * the classification head. Declaring it reads no weights, so the same object serves validation, conversion
 * and inference.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { ClassificationHead } from '../layers/classification-head.js';
import type { ModelDefinition } from './config.js';
import { Emotion2VecEncoder } from './encoder.js';
import { ParameterSet } from '../layers/parameters.js';

export class Emotion2VecNetwork {
  readonly params = new ParameterSet();
  readonly encoder: Emotion2VecEncoder;
  /** Absent for embedding-only models (no tokens.txt), as upstream builds no `proj` then. */
  readonly head?: ClassificationHead;

  constructor(readonly definition: ModelDefinition) {
    this.encoder = new Emotion2VecEncoder(definition.config, this.params);
    if (definition.tokens.length > 0) {
      this.head = new ClassificationHead(this.params, 'proj', definition.config.embedDim, definition.tokens.length);
    }
  }
}

/**
 * What inference reads: the encoder, the definition and the head that scores. Either a network as loaded, or the
 * same encoder with a trained head (src/train) and that head's labels in place of `proj` and tokens.txt.
 */
export interface ScoringNetwork {
  readonly encoder: Emotion2VecEncoder;
  readonly definition: ModelDefinition;
  readonly head?: { apply(utterance: tf.Tensor2D): tf.Tensor2D };
}

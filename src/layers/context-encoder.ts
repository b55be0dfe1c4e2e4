/**
 * The prenet ("context encoder") of the audio modality: a LayerNorm on its input (post-norm models only),
 * then `prenet_depth` Transformer blocks. Its output feeds the main block stack.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ParameterSet } from './parameters.js';
import { LayerNorm } from './layer-norm.js';
import { scopedStage, runStage, type StageHook } from './stage.js';
import { TransformerBlock, type BlockOptions } from './transformer-block.js';

export class ContextEncoder {
  private readonly inputNorm?: LayerNorm;
  readonly blocks: TransformerBlock[];

  constructor(params: ParameterSet, prefix: string, depth: number, options: BlockOptions) {
    // Upstream gives the prenet a norm only in post-norm mode, and applies it before the blocks.
    if (!options.layerNormFirst)
      this.inputNorm = new LayerNorm(params, `${prefix}.norm`, options.dim, options.normEps, options.normAffine);
    this.blocks = Array.from(
      { length: depth },
      (_, i) => new TransformerBlock(params, `${prefix}.blocks.${i}`, options),
    );
  }

  /**
   * @param biasOf the attention bias of prenet block i (or null for none), asked for as that block runs, so the
   *   caller can build each block's bias when it is needed.
   */
  apply(x: tf.Tensor3D, biasOf: (block: number) => tf.Tensor | null, stage: StageHook = runStage): tf.Tensor3D {
    let h = this.inputNorm ? stage('prenet.norm', () => this.inputNorm!.apply(x) as tf.Tensor3D) : x;
    this.blocks.forEach((block, i) => {
      const next = block.apply(h, biasOf(i), scopedStage(stage, `prenet${i}`));
      if (h !== x) h.dispose();
      h = next;
    });
    return h;
  }
}

/**
 * The emotion2vec encoder (data2vec 2.0 audio): waveform -> frame embeddings (B, T, D).
 *
 *   CNN feature extractor -> LayerNorm + Linear projection -> + conv positional encoding
 *   -> [extra tokens ; frames] -> prenet blocks -> main blocks (ALiBi attention) -> drop extra tokens
 *
 * Batches are padded; every step that mixes time steps (positional convolution, attention, pooling) masks
 * the padding, so an item's result does not depend on what it was batched with.
 */
import * as tf from '@tensorflow/tfjs-core';
import { slice } from '../backend/kernels.js';
import { AlibiBias } from '../layers/alibi.js';
import { ContextEncoder } from '../layers/context-encoder.js';
import { ConvFeatureExtractor } from '../layers/conv-feature-extractor.js';
import { FeatureProjection } from '../layers/feature-projection.js';
import { LayerNorm } from '../layers/layer-norm.js';
import { sequenceMask } from '../layers/pooling.js';
import { ConvPositionalEncoder } from '../layers/positional-encoder.js';
import { runStage, scopedStage, type StageHook } from '../layers/stage.js';
import { TransformerBlock, type BlockOptions } from '../layers/transformer-block.js';
import { frameCount, positionalKernelSize, type Emotion2VecConfig } from './config.js';
import type { Parameter, ParameterSet } from '../layers/parameters.js';

const AUDIO = 'modality_encoders.AUDIO';

/** Additive bias that removes a padded key from every softmax (exp(-1e9) is exactly 0 in float32). */
const MASKED_SCORE = -1e9;

/** Names of the intermediate results, for layer-by-layer checks against the reference. */
export type IntermediateName = 'local_encoder' | 'project_features' | 'pos_conv' | 'context_encoder' | `block${number}`;

export interface EncoderOutput {
  /** (B, T, D) frame embeddings, extra tokens removed; frames past an item's length are padding. */
  readonly frames: tf.Tensor3D;
  /** Real frame count of each item. */
  readonly frameLengths: number[];
  /** Present when asked for: every intermediate, batch first, channels last. */
  readonly intermediates?: Partial<Record<IntermediateName, tf.Tensor3D>>;
}

export class Emotion2VecEncoder {
  private readonly featureExtractor: ConvFeatureExtractor;
  private readonly projection: FeatureProjection;
  private readonly positionalEncoder: ConvPositionalEncoder;
  private readonly extraTokens?: Parameter;
  private readonly alibi?: AlibiBias;
  private readonly prenet: ContextEncoder;
  private readonly blocks: TransformerBlock[];
  private readonly finalNorm?: LayerNorm;

  constructor(
    readonly config: Emotion2VecConfig,
    params: ParameterSet,
  ) {
    const { embedDim: dim, featureEncoder, numExtraTokens } = config;
    const featureChannels = featureEncoder[featureEncoder.length - 1]!.channels;
    const blockOptions: BlockOptions = {
      dim,
      numHeads: config.numHeads,
      mlpRatio: config.mlpRatio,
      normEps: config.normEps,
      normAffine: config.normAffine,
      layerNormFirst: config.layerNormFirst,
    };

    if (numExtraTokens > 0) this.extraTokens = params.declare(`${AUDIO}.extra_tokens`, [1, numExtraTokens, dim]);
    if (config.useAlibi) {
      this.alibi = new AlibiBias(params, `${AUDIO}.alibi_scale`, {
        numHeads: config.numHeads,
        numAlibiHeads: config.numAlibiHeads,
        perHead: config.alibiScalePerHead,
        perLayer: config.alibiScalePerLayer,
        totalBlocks: config.prenetDepth + config.depth,
        numExtraTokens,
      });
    }
    this.featureExtractor = new ConvFeatureExtractor(params, `${AUDIO}.local_encoder`, featureEncoder);
    this.projection = new FeatureProjection(params, `${AUDIO}.project_features`, featureChannels, dim);
    this.positionalEncoder = new ConvPositionalEncoder(params, `${AUDIO}.relative_positional_encoder`, {
      embedDim: dim,
      depth: config.convPosDepth,
      kernel: positionalKernelSize(config),
      groups: config.convPosGroups,
      preLayerNorm: config.convPosPreLn,
    });
    this.prenet = new ContextEncoder(params, `${AUDIO}.context_encoder`, config.prenetDepth, blockOptions);
    this.blocks = Array.from(
      { length: config.depth },
      (_, i) => new TransformerBlock(params, `blocks.${i}`, blockOptions),
    );
    if (config.layerNormFirst) this.finalNorm = new LayerNorm(params, 'norm', dim, config.normEps, config.normAffine);
  }

  /**
   * Runs the encoder on a padded batch.
   * @param waveforms (B, N) 16 kHz samples, already normalised when the config asks for it; zeros after each item.
   * @param lengths real sample count of each item (each must give at least one frame).
   * @param collectIntermediates also return every intermediate (for parity tests and debugging).
   * @param stage wraps each named stage (CNN layers, projection, positional conv, each block's attention, MLP
   *   and norms), for profiling; inference leaves it out.
   */
  forward(
    waveforms: tf.Tensor2D,
    lengths: readonly number[],
    collectIntermediates = false,
    stage: StageHook = runStage,
  ): EncoderOutput {
    const frameLengths = lengths.map((n) => frameCount(this.config, n));
    const result = tf.tidy(() => {
      const intermediates: Partial<Record<IntermediateName, tf.Tensor3D>> = {};
      const keep = (name: IntermediateName, t: tf.Tensor3D) => {
        if (collectIntermediates) intermediates[name] = t;
      };

      const local = this.featureExtractor.apply(waveforms, stage);
      keep('local_encoder', local);
      const [batch, time] = local.shape;
      const padded = frameLengths.some((n) => n !== time);

      const projected = stage('projection', () => this.projection.apply(local));
      keep('project_features', projected);
      const frameMask = padded ? (tf.expandDims(sequenceMask(frameLengths, time), -1) as tf.Tensor3D) : null;
      const positions = stage('positional_conv', () => this.positionalEncoder.apply(projected, frameMask));
      keep('pos_conv', positions);
      let x = tf.add(projected, positions) as tf.Tensor3D;

      const numExtra = this.config.numExtraTokens;
      if (this.extraTokens) {
        const tokens = tf.tile(this.extraTokens.value, [batch, 1, 1]) as tf.Tensor3D;
        x = tf.concat([tokens, x], 1);
      }
      const biases = new BlockBiases(this.alibi ?? null, time, padded ? this.keyMask(frameLengths, time) : null, stage);

      x = this.prenet.apply(x, (i) => biases.of(i), stage);
      keep('context_encoder', x);
      this.blocks.forEach((block, i) => {
        x = block.apply(x, biases.of(this.config.prenetDepth + i), scopedStage(stage, `block${i}`));
        keep(`block${i}`, x);
      });
      biases.dispose();
      if (this.finalNorm) x = stage('final_norm', () => this.finalNorm!.apply(x) as tf.Tensor3D);

      const frames =
        numExtra > 0 ? (slice(x, [0, numExtra, 0], [batch, time, this.config.embedDim]) as tf.Tensor3D) : x;
      return { frames, intermediates };
    });
    return {
      frames: result.frames,
      frameLengths,
      ...(collectIntermediates ? { intermediates: result.intermediates } : {}),
    };
  }

  /** (B, 1, 1, N): 0 for extra tokens and real frames, -1e9 on padded keys, added to every block's bias. */
  private keyMask(frameLengths: number[], time: number): tf.Tensor4D {
    const numExtra = this.config.numExtraTokens;
    return tf.tidy(() => {
      const valid = sequenceMask(
        frameLengths.map((n) => n + numExtra),
        time + numExtra,
      );
      return tf.reshape(tf.mul(tf.sub(1, valid), MASKED_SCORE), [frameLengths.length, 1, 1, time + numExtra]);
    });
  }
}

/**
 * The attention bias of each block of one pass: ALiBi (if used) plus the key mask (if any item is padded),
 * shaped to broadcast over (B, H, N, N); null where a block needs none. Built when a block asks for it, and a
 * block's own table is freed when the next block asks, so a pass holds one block's bias whether the ALiBi
 * scale is shared or per block: memory that does not depend on the config.
 */
class BlockBiases {
  private current: { readonly block: number; readonly bias: tf.Tensor | null } | null = null;

  constructor(
    private readonly alibi: AlibiBias | null,
    private readonly time: number,
    private readonly keyMask: tf.Tensor4D | null,
    private readonly stage: StageHook,
  ) {}

  /** The bias of `block` (prenet blocks count first). Valid until a later block's is asked for. */
  of(block: number): tf.Tensor | null {
    const { alibi, keyMask } = this;
    const shared = !alibi?.perBlock;
    if (this.current && (shared || this.current.block === block)) return this.current.bias;
    this.release();
    let bias: tf.Tensor | null = keyMask;
    if (alibi) {
      bias = this.stage('alibi', () => alibi.blockBias(this.time, block));
      if (keyMask) {
        const table = bias;
        bias = tf.tidy(() => tf.add(tf.expandDims(table, 0), keyMask));
        table.dispose();
      }
    }
    this.current = { block, bias };
    return bias;
  }

  /** Frees whatever is still held (the last block's bias and the key mask). */
  dispose(): void {
    this.release();
    this.keyMask?.dispose();
  }

  private release(): void {
    if (this.current?.bias && this.current.bias !== this.keyMask) this.current.bias.dispose();
    this.current = null;
  }
}

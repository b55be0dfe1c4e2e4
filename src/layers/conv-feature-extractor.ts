/**
 * The CNN feature extractor (wav2vec 2.0 / data2vec "layer_norm" mode): a stack of bias-free Conv1d layers,
 * each followed by LayerNorm over channels and GELU. With emotion2vec's spec it maps 16 kHz samples to one
 * frame every 320 samples (20 ms), 400 samples for the first frame: the frame geometry that
 * audio/frame-geometry.ts states for the rest of the library (model/config.ts refuses a spec that gives another).
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv1d, prepareLinearWeight, type PreparedWeight } from '../backend/kernels.js';
import type { Parameter, ParameterSet } from './parameters.js';
import { LayerNorm } from './layer-norm.js';
import { runStage, type StageHook } from './stage.js';

/** One CNN layer: output channels, kernel width, stride. */
export interface ConvLayerSpec {
  readonly channels: number;
  readonly kernel: number;
  readonly stride: number;
}

/** Upstream uses the default LayerNorm epsilon here, not the config's norm_eps. */
const FEATURE_NORM_EPS = 1e-5;

interface ConvBlock {
  readonly weight: Parameter;
  readonly kernel: number;
  readonly stride: number;
  readonly norm: LayerNorm;
  /** The backend's int8 form of the weight, when the model computes in int8; else null (float32 filter). */
  prepared: PreparedWeight | null;
}

export class ConvFeatureExtractor {
  private readonly blocks: ConvBlock[];

  constructor(params: ParameterSet, prefix: string, layers: readonly ConvLayerSpec[]) {
    let inChannels = 1;
    this.blocks = layers.map((layer, i) => {
      // Computing in int8, a layer over several channels reads its weight as an int8 matrix, each output frame's
      // patch times it. The first layer (one channel, 10 samples a patch) stays float32: its rows are too short
      // for the int8 products to pay, and raw samples are what 8 bits round worst.
      const int8 =
        inChannels > 1
          ? { int8: { layout: 'conv-taps-first' } as const, pack: () => this.pack(block), packOnlyAsInt8: true }
          : {};
      const block: ConvBlock = {
        // PyTorch Conv1d weight (out, in, kernel) -> tfjs conv1d filter (kernel, in, out).
        weight: params.declare(
          `${prefix}.conv_layers.${i}.0.weight`,
          [layer.channels, inChannels, layer.kernel],
          (w) => tf.transpose(w, [2, 1, 0]),
          int8,
        ),
        kernel: layer.kernel,
        stride: layer.stride,
        norm: new LayerNorm(params, `${prefix}.conv_layers.${i}.2.1`, layer.channels, FEATURE_NORM_EPS),
        prepared: null,
      };
      inChannels = layer.channels;
      return block;
    });
  }

  /**
   * @param waveforms (B, N) samples.
   * @returns (B, T, C) features, channels last. Frames past an item's own length depend on padding and must be masked.
   */
  apply(waveforms: tf.Tensor2D, stage: StageHook = runStage): tf.Tensor3D {
    return tf.tidy(() => {
      let x = tf.expandDims(waveforms, -1) as tf.Tensor3D;
      this.blocks.forEach((block, i) => {
        const input = x;
        // Each layer's convolution output and input go as soon as the layer is done, not at the end of the
        // stack: the first layer's output alone is 16 000 frames x C per 5 s of audio.
        x = tf.tidy(() => {
          const convolved = stage(`cnn${i}.conv`, () =>
            conv1d(input, {
              weight: block.weight.value,
              kernel: block.kernel,
              stride: block.stride,
              prepared: block.prepared,
            }),
          );
          // In place: the convolution's output is used by nothing else (on wasm: one buffer instead of two).
          return stage(`cnn${i}.norm_gelu`, () => block.norm.applyWithGelu(convolved, true) as tf.Tensor3D);
        });
        input.dispose();
      });
      return x;
    });
  }

  /** Turns a weight read as int8 into the backend's int8 form; called once, by the parameter set. */
  private pack(block: ConvBlock): void {
    block.prepared = prepareLinearWeight(block.weight.value, undefined);
  }
}

/**
 * The arithmetic of one forward pass at a given input length, from the config alone: 2 FLOP per multiply-add of
 * every convolution and matrix product (CNN, projection, positional convolutions, the blocks' four products and
 * their attention, the head). Norms, GELU, softmax and the ALiBi tables are left out (under 1 % here). So a
 * runtime's achieved GFLOP/s is this count over its time, whatever it computes with.
 */
import { frameCount, positionalKernelSize, type Emotion2VecConfig } from '../src/model/config.js';

export interface ForwardFlops {
  readonly cnn: number;
  readonly projection: number;
  readonly positional: number;
  /** Prenet and main blocks together: qkv, attention scores and context, output projection, MLP. */
  readonly blocks: number;
  readonly head: number;
  readonly total: number;
}

/** FLOP of one forward pass over `samples` 16 kHz samples, batch 1, with a head of `labels` outputs. */
export function forwardFlops(config: Emotion2VecConfig, samples: number, labels: number): ForwardFlops {
  let cnn = 0;
  let length = samples;
  let inChannels = 1;
  for (const { channels, kernel, stride } of config.featureEncoder) {
    length = Math.floor((length - kernel) / stride) + 1;
    cnn += 2 * length * channels * inChannels * kernel;
    inChannels = channels;
  }
  const frames = frameCount(config, samples);
  const dim = config.embedDim;
  const projection = 2 * frames * inChannels * dim;
  const positional =
    config.convPosDepth * 2 * frames * dim * (dim / config.convPosGroups) * positionalKernelSize(config);
  const tokens = frames + config.numExtraTokens;
  const hidden = Math.trunc(dim * config.mlpRatio);
  const perBlock =
    2 * tokens * dim * (3 * dim) +
    2 * 2 * tokens * tokens * dim +
    2 * tokens * dim * dim +
    2 * 2 * tokens * dim * hidden;
  const blocks = (config.prenetDepth + config.depth) * perBlock;
  const head = 2 * dim * labels;
  return { cnn, projection, positional, blocks, head, total: cnn + projection + positional + blocks + head };
}

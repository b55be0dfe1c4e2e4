/**
 * A model with one ALiBi scale per block (`learned_alibi_scale_per_layer: true`, derived from the tiny fixture):
 * the encoder builds each block's table when that block runs and gives the same numbers as running the blocks
 * with every table built at once, and it holds no more memory through a pass than the same model with one
 * shared scale.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlibiBias } from '../../src/layers/alibi.js';
import { ContextEncoder } from '../../src/layers/context-encoder.js';
import type { StageHook } from '../../src/layers/stage.js';
import { TransformerBlock, type BlockOptions } from '../../src/layers/transformer-block.js';
import { Emotion2VecNetwork } from '../../src/model/network.js';
import { normalizeWaveform } from '../../src/model/waveform.js';
import { useBackend } from '../support/backend.js';
import { definitionOf, loadNpy, maxAbsDiff, perLayerAlibiCase, syntheticWeights } from '../support/fixtures.js';
import { buildLayer } from '../support/layers.js';

const AUDIO = 'modality_encoders.AUDIO';
const wave = (id: string) => normalizeWaveform(loadNpy('tiny', `${id}.wave16k`).data);

/**
 * Bytes of tensors alive after each stage of one pass (less those alive before it), by stage name. The ALiBi
 * stage itself is left out: a shared scale builds its table once, per-block scales once per block.
 */
function bytesAfterEachStage(network: Emotion2VecNetwork, waves: Float32Array[]): [string, number][] {
  const before = tf.memory().numBytes;
  const bytes: [string, number][] = [];
  const stage: StageHook = (name, run) => {
    const out = run();
    if (name !== 'alibi') bytes.push([name, tf.memory().numBytes - before]);
    return out;
  };
  tf.tidy(() => {
    const longest = Math.max(...waves.map((w) => w.length));
    const batch = tf.stack(waves.map((w) => tf.pad(tf.tensor1d(w), [[0, longest - w.length]])));
    network.encoder.forward(
      batch as tf.Tensor2D,
      waves.map((w) => w.length),
      false,
      stage,
    );
  });
  return bytes;
}

describe('per-layer ALiBi scales (tiny, wasm)', () => {
  beforeAll(() => useBackend('wasm'));
  const perLayer = perLayerAlibiCase('tiny');

  it('derives a config the loader accepts, with one scale row per block', () => {
    const { config } = perLayer.definition;
    expect(config.alibiScalePerLayer).toBe(true);
    expect(perLayer.weights.get(`${AUDIO}.alibi_scale`)!.shape).toEqual([
      config.prenetDepth + config.depth,
      1,
      config.numAlibiHeads,
      1,
      1,
    ]);
  });

  it('gives bit for bit what the blocks give with every table built at once', () => {
    const { config } = perLayer.definition;
    const network = new Emotion2VecNetwork(perLayer.definition);
    network.params.load(perLayer.weights);
    const blockOptions: BlockOptions = {
      dim: config.embedDim,
      numHeads: config.numHeads,
      mlpRatio: config.mlpRatio,
      normEps: config.normEps,
      normAffine: config.normAffine,
      layerNormFirst: config.layerNormFirst,
    };
    const { layer: alibi, params: alibiParams } = buildLayer(
      (p) =>
        new AlibiBias(p, `${AUDIO}.alibi_scale`, {
          numHeads: config.numHeads,
          numAlibiHeads: config.numAlibiHeads,
          perHead: config.alibiScalePerHead,
          perLayer: true,
          totalBlocks: config.prenetDepth + config.depth,
          numExtraTokens: config.numExtraTokens,
        }),
      perLayer.weights,
    );
    const { layer: prenet, params: prenetParams } = buildLayer(
      (p) => new ContextEncoder(p, `${AUDIO}.context_encoder`, config.prenetDepth, blockOptions),
      perLayer.weights,
    );
    const { layer: blocks, params: blockParams } = buildLayer(
      (p) => Array.from({ length: config.depth }, (_, i) => new TransformerBlock(p, `blocks.${i}`, blockOptions)),
      perLayer.weights,
    );
    const extraTokens = perLayer.weights.get(`${AUDIO}.extra_tokens`)!.read();
    const before = tf.memory().numTensors;

    const samples = wave('speech16k');
    const [encoded, allAtOnce] = tf.tidy(() => {
      const { intermediates } = network.encoder.forward(
        tf.tensor2d(samples, [1, samples.length]),
        [samples.length],
        true,
      );
      const features = tf.add(intermediates!.project_features!, intermediates!.pos_conv!) as tf.Tensor3D;
      const time = features.shape[1];
      const biases = alibi.biases(time);
      let x = prenet.apply(
        tf.concat([tf.tensor3d(extraTokens, [1, config.numExtraTokens, config.embedDim]), features], 1) as tf.Tensor3D,
        (i) => biases[i] ?? null,
      );
      blocks.forEach((block, i) => {
        x = block.apply(x, biases[config.prenetDepth + i]!);
      });
      return [intermediates![`block${config.depth - 1}`]!, x];
    });
    expect(Array.from(encoded.dataSync())).toEqual(Array.from(allAtOnce.dataSync()));
    tf.dispose([encoded, allAtOnce]);
    expect(tf.memory().numTensors).toBe(before);
    [network.params, alibiParams, prenetParams, blockParams].forEach((params) => params.dispose());
  });

  it('uses each row: the frames differ from those of the shared scale', () => {
    const shared = new Emotion2VecNetwork(definitionOf('tiny'));
    shared.params.load(syntheticWeights('tiny'));
    const network = new Emotion2VecNetwork(perLayer.definition);
    network.params.load(perLayer.weights);
    const samples = wave('chirp16k');
    const run = (model: Emotion2VecNetwork) =>
      tf.tidy(() =>
        model.encoder.forward(tf.tensor2d(samples, [1, samples.length]), [samples.length]).frames.dataSync(),
      );
    expect(maxAbsDiff(run(network), run(shared))).toBeGreaterThan(1e-3);
    shared.params.dispose();
    network.params.dispose();
  });

  it('gives each item of a padded batch the result it gets alone', () => {
    const network = new Emotion2VecNetwork(perLayer.definition);
    network.params.load(perLayer.weights);
    const inputs = [wave('speech16k'), wave('chirp16k')];
    const frames = (waves: Float32Array[]) =>
      tf.tidy(() => {
        const longest = Math.max(...waves.map((w) => w.length));
        const batch = tf.stack(waves.map((w) => tf.pad(tf.tensor1d(w), [[0, longest - w.length]])));
        const { frames: out, frameLengths } = network.encoder.forward(
          batch as tf.Tensor2D,
          waves.map((w) => w.length),
        );
        return frameLengths.map((length, b) => tf.slice(out, [b, 0, 0], [1, length, -1]).dataSync());
      });
    const batched = frames(inputs);
    inputs.forEach((input, i) => expect(maxAbsDiff(batched[i]!, frames([input])[0]!)).toBeLessThan(2e-5));
    network.params.dispose();
  });

  it('holds the same tensor memory at every stage of a pass as the same model with one shared scale', () => {
    const shared = new Emotion2VecNetwork(definitionOf('tiny'));
    shared.params.load(syntheticWeights('tiny'));
    const network = new Emotion2VecNetwork(perLayer.definition);
    network.params.load(perLayer.weights);
    for (const waves of [[wave('speech16k')], [wave('speech16k'), wave('chirp16k')]]) {
      const sharedBytes = bytesAfterEachStage(shared, waves);
      // Every table at once would hold tiny's 2 other tables (4 heads x 273^2 floats each at 5.3 s) from the
      // first block on; one at a time holds what the shared scale holds, to the byte.
      expect(bytesAfterEachStage(network, waves), `${waves.length} item(s)`).toEqual(sharedBytes);
      expect(sharedBytes.some(([name]) => name.startsWith('block1.'))).toBe(true);
    }
    shared.params.dispose();
    network.params.dispose();
  });
});

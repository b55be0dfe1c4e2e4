import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlibiBias } from '../../src/layers/alibi.js';
import { ContextEncoder } from '../../src/layers/context-encoder.js';
import { useBackend } from '../support/backend.js';
import { definitionOf, loadNpy, maxAbsDiff, syntheticWeights } from '../support/fixtures.js';
import { buildLayer, evaluate } from '../support/layers.js';

describe('ContextEncoder (prenet)', () => {
  beforeAll(() => useBackend('wasm'));

  it('turns [extra tokens; features + positions] into the reference context_encoder output (base, 4 blocks, 12 heads)', () => {
    const { config } = definitionOf('base');
    const weights = syntheticWeights('base');
    const blockOptions = {
      dim: 768,
      numHeads: 12,
      mlpRatio: 4,
      normEps: config.normEps,
      normAffine: true,
      layerNormFirst: false,
    };
    const { layer: prenet, params } = buildLayer(
      (p) => new ContextEncoder(p, 'modality_encoders.AUDIO.context_encoder', config.prenetDepth, blockOptions),
      weights,
    );
    const { layer: alibi, params: alibiParams } = buildLayer(
      (p) =>
        new AlibiBias(p, 'modality_encoders.AUDIO.alibi_scale', {
          numHeads: 12,
          numAlibiHeads: 12,
          perHead: true,
          perLayer: false,
          totalBlocks: config.prenetDepth + config.depth,
          numExtraTokens: 10,
        }),
      weights,
    );
    const extraTokens = weights.get('modality_encoders.AUDIO.extra_tokens')!.read();
    const features = loadNpy('base', 'speech16k.project_features');
    const positions = loadNpy('base', 'speech16k.pos_conv');
    const expected = loadNpy('base', 'speech16k.context_encoder');
    const time = features.shape[0]!;
    const { data } = evaluate(() => {
      const x = tf.concat(
        [
          tf.tensor3d(extraTokens, [1, 10, 768]),
          tf.add(tf.tensor3d(features.data, [1, time, 768]), tf.tensor3d(positions.data, [1, time, 768])),
        ],
        1,
      );
      const biases = alibi.biases(time);
      return prenet.apply(x as tf.Tensor3D, (i) => biases[i] ?? null);
    });
    expect(maxAbsDiff(data, expected.data)).toBeLessThan(1e-4);
    params.dispose();
    alibiParams.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});

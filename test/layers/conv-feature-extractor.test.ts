import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConvFeatureExtractor } from '../../src/layers/conv-feature-extractor.js';
import { normalizeWaveform } from '../../src/model/waveform.js';
import { useBackend, type TestBackend } from '../support/backend.js';
import { definitionOf, loadNpy, maxAbsDiff, syntheticWeights } from '../support/fixtures.js';
import { buildLayer, evaluate } from '../support/layers.js';

const PREFIX = 'modality_encoders.AUDIO.local_encoder';

for (const backend of ['cpu', 'wasm'] as TestBackend[]) {
  describe(`ConvFeatureExtractor on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    const { config } = definitionOf('tiny');

    it('declares bias-free convs and per-layer LayerNorms with the checkpoint names', () => {
      const { params } = buildLayer(
        (p) => new ConvFeatureExtractor(p, PREFIX, config.featureEncoder),
        syntheticWeights('tiny'),
      );
      expect(params.specs().map((s) => s.name)).toContain(`${PREFIX}.conv_layers.0.0.weight`);
      expect(params.specs().some((s) => s.name.endsWith('0.bias'))).toBe(false);
      expect(params.specs()).toHaveLength(3 * config.featureEncoder.length);
      params.dispose();
    });

    it('reproduces the reference local_encoder output of tiny (short720 and chirp16k)', () => {
      const { layer, params } = buildLayer(
        (p) => new ConvFeatureExtractor(p, PREFIX, config.featureEncoder),
        syntheticWeights('tiny'),
      );
      for (const id of ['short720', 'chirp16k']) {
        const wave = normalizeWaveform(loadNpy('tiny', `${id}.wave16k`).data);
        const expected = loadNpy('tiny', `${id}.local_encoder`); // (C, T)
        const { data, shape } = evaluate(() =>
          tf.transpose(tf.squeeze(layer.apply(tf.tensor2d(wave, [1, wave.length])), [0])),
        );
        expect(shape).toEqual(expected.shape);
        expect(maxAbsDiff(data, expected.data)).toBeLessThan(2e-5);
      }
      params.dispose();
      expect(tf.memory().numTensors).toBe(0);
    });
  });
}

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConvPositionalEncoder } from '../../src/layers/positional-encoder.js';
import { positionalKernelSize } from '../../src/model/config.js';
import { useBackend, type TestBackend } from '../support/backend.js';
import { definitionOf, loadNpy, maxAbsDiff, syntheticWeights } from '../support/fixtures.js';
import { buildLayer, evaluate } from '../support/layers.js';

for (const backend of ['cpu', 'wasm'] as TestBackend[]) {
  describe(`ConvPositionalEncoder on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    const { config } = definitionOf('tiny');
    const build = () =>
      buildLayer(
        (p) =>
          new ConvPositionalEncoder(p, 'modality_encoders.AUDIO.relative_positional_encoder', {
            embedDim: config.embedDim,
            depth: config.convPosDepth,
            kernel: positionalKernelSize(config),
            groups: config.convPosGroups,
            preLayerNorm: false,
          }),
        syntheticWeights('tiny'),
      );

    it('uses kernel max(3, width // depth) = 19 and reproduces the reference pos_conv', () => {
      expect(positionalKernelSize(config)).toBe(19);
      const { layer, params } = build();
      const input = loadNpy('tiny', 'chirp16k.project_features');
      const expected = loadNpy('tiny', 'chirp16k.pos_conv');
      const { data } = evaluate(() =>
        layer.apply(tf.tensor3d(input.data, [1, ...input.shape] as [number, number, number]), null),
      );
      expect(maxAbsDiff(data, expected.data)).toBeLessThan(2e-5);
      params.dispose();
    });

    it('ignores whatever a padded batch holds past an item (masked before every conv)', () => {
      const { layer, params } = build();
      const input = loadNpy('tiny', 'chirp16k.project_features'); // (74, 64)
      const [time, dim] = input.shape as [number, number];
      const expected = loadNpy('tiny', 'chirp16k.pos_conv');
      // Item 0 is the real input followed by 9 frames of junk; item 1 is full length.
      const padded = new Float32Array(2 * (time + 9) * dim).fill(3.5);
      padded.set(input.data, 0);
      const mask = new Float32Array(2 * (time + 9)).fill(1);
      mask.fill(0, time, time + 9);
      const { data } = evaluate(() =>
        tf.slice(
          layer.apply(tf.tensor3d(padded, [2, time + 9, dim]), tf.tensor3d(mask, [2, time + 9, 1])),
          [0, 0, 0],
          [1, time, dim],
        ),
      );
      expect(maxAbsDiff(data, expected.data)).toBeLessThan(2e-5);
      params.dispose();
      expect(tf.memory().numTensors).toBe(0);
    });
  });
}

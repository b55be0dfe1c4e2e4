/**
 * Layer-by-layer parity: every intermediate of the encoder against the upstream reference, for tiny (all
 * inputs, real model.pt) and base (synthetic weights rebuilt from the hash).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/model/checkpoint/index.js';
import { Emotion2VecNetwork } from '../../src/model/network.js';
import { normalizeWaveform } from '../../src/model/waveform.js';
import { useBackend } from '../support/backend.js';
import {
  definitionOf,
  fixturePath,
  loadNpy,
  manifestInputs,
  maxAbsDiff,
  syntheticWeights,
  type FixtureCase,
} from '../support/fixtures.js';

const cases: { name: FixtureCase; bar: number; weights: () => ReturnType<typeof syntheticWeights> }[] = [
  {
    name: 'tiny',
    bar: 1e-4,
    weights: () => readCheckpoint(readFileSync(fixturePath('tiny', 'model.pt')), 'model.pt').tensors,
  },
  { name: 'base', bar: 5e-4, weights: () => syntheticWeights('base') },
];

for (const { name, bar, weights } of cases) {
  describe(`${name}: every intermediate matches upstream (wasm)`, () => {
    let network: Emotion2VecNetwork;
    beforeAll(async () => {
      await useBackend('wasm');
      network = new Emotion2VecNetwork(definitionOf(name));
      network.params.load(weights());
    });
    afterAll(() => network.params.dispose());

    for (const input of manifestInputs(name)) {
      it(input.id, () => {
        const wave = normalizeWaveform(loadNpy(name, `${input.id}.wave16k`).data);
        const before = tf.memory().numTensors;
        const diffs = tf.tidy(() => {
          const { frames, intermediates } = network.encoder.forward(
            tf.tensor2d(wave, [1, wave.length]),
            [wave.length],
            true,
          );
          const result: Record<string, number> = {
            frames: maxAbsDiff(tf.squeeze(frames, [0]).dataSync(), loadNpy(name, `${input.id}.frames`).data),
          };
          for (const [layer, shape] of Object.entries(input.intermediates ?? {})) {
            let tensor = tf.squeeze(intermediates![layer as 'local_encoder']!, [0]);
            if (layer === 'local_encoder') tensor = tf.transpose(tensor); // the reference is channels first
            expect(tensor.shape, layer).toEqual(shape);
            result[layer] = maxAbsDiff(tensor.dataSync(), loadNpy(name, `${input.id}.${layer}`).data);
          }
          return result;
        });
        expect(Object.keys(diffs)).toHaveLength(1 + Object.keys(input.intermediates ?? {}).length);
        for (const [layer, diff] of Object.entries(diffs)) expect(diff, `${layer} max |diff|`).toBeLessThan(bar);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  });
}

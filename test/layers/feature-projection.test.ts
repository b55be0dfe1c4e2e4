import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FeatureProjection } from '../../src/layers/feature-projection.js';
import { useBackend } from '../support/backend.js';
import { loadNpy, maxAbsDiff, syntheticWeights } from '../support/fixtures.js';
import { buildLayer, evaluate } from '../support/layers.js';

describe('FeatureProjection', () => {
  beforeAll(() => useBackend('wasm'));

  it('maps the reference CNN features to the reference projected features (base: 512 -> 768)', () => {
    const { layer, params } = buildLayer(
      (p) => new FeatureProjection(p, 'modality_encoders.AUDIO.project_features', 512, 768),
      syntheticWeights('base'),
    );
    const local = loadNpy('base', 'speech16k.local_encoder'); // (C, T)
    const expected = loadNpy('base', 'speech16k.project_features');
    const { data, shape } = evaluate(() =>
      tf.squeeze(
        layer.apply(
          tf.expandDims(tf.transpose(tf.tensor2d(local.data, local.shape as [number, number])), 0) as tf.Tensor3D,
        ),
        [0],
      ),
    );
    expect(shape).toEqual(expected.shape);
    expect(maxAbsDiff(data, expected.data)).toBeLessThan(2e-5);
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});

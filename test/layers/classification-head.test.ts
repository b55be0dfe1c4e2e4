import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClassificationHead } from '../../src/layers/classification-head.js';
import { useBackend } from '../support/backend.js';
import { loadNpy, maxAbsDiff, syntheticWeights } from '../support/fixtures.js';
import { buildLayer, evaluate } from '../support/layers.js';

describe('ClassificationHead', () => {
  beforeAll(() => useBackend('cpu'));

  it('maps the reference utterance embedding to the reference logits (base, 9 labels)', () => {
    const { layer, params } = buildLayer((p) => new ClassificationHead(p, 'proj', 768, 9), syntheticWeights('base'));
    const utterance = loadNpy('base', 'speech16k.utterance');
    const { data, shape } = evaluate(() => layer.apply(tf.tensor2d(utterance.data, [1, 768])));
    expect(shape).toEqual([1, 9]);
    expect(maxAbsDiff(data, loadNpy('base', 'speech16k.logits').data)).toBeLessThan(2e-5);
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});

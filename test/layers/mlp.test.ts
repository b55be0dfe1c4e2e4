import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Mlp } from '../../src/layers/mlp.js';
import { useBackend } from '../support/backend.js';
import { maxAbsDiff, randomArray } from '../support/fixtures.js';
import { buildLayer, evaluate, gelu64, linear64, stateDictOf } from '../support/layers.js';

describe('Mlp', () => {
  beforeAll(() => useBackend('cpu'));

  it('is fc2(gelu(fc1(x)))', () => {
    const [d, hidden, rows] = [6, 24, 4];
    const w1 = randomArray(hidden * d, 1);
    const b1 = randomArray(hidden, 2);
    const w2 = randomArray(d * hidden, 3);
    const b2 = randomArray(d, 4);
    const x = randomArray(rows * d, 5);
    const { layer, params } = buildLayer(
      (p) => new Mlp(p, 'mlp', d, hidden),
      stateDictOf({
        'mlp.fc1.weight': { shape: [hidden, d], data: w1 },
        'mlp.fc1.bias': { shape: [hidden], data: b1 },
        'mlp.fc2.weight': { shape: [d, hidden], data: w2 },
        'mlp.fc2.bias': { shape: [d], data: b2 },
      }),
    );
    const reference = linear64(Array.from(linear64(x, rows, w1, hidden, d, b1), gelu64), rows, w2, d, hidden, b2);
    const { data } = evaluate(() => layer.apply(tf.tensor2d(x, [rows, d])));
    expect(maxAbsDiff(data, reference)).toBeLessThan(2e-5);
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Linear } from '../../src/layers/linear.js';
import { useBackend } from '../support/backend.js';
import { maxAbsDiff, randomArray } from '../support/fixtures.js';
import { buildLayer, evaluate, linear64, stateDictOf } from '../support/layers.js';

describe('Linear', () => {
  beforeAll(() => useBackend('cpu'));

  it('computes x W^T + b with W stored (out, in), over any leading axes', () => {
    const [inDim, outDim] = [12, 7];
    const w = randomArray(outDim * inDim, 1);
    const b = randomArray(outDim, 2);
    const x = randomArray(2 * 3 * inDim, 3);
    const { layer, params } = buildLayer((p) => new Linear(p, 'fc', inDim, outDim), stateDictOf({ 'fc.weight': { shape: [outDim, inDim], data: w }, 'fc.bias': { shape: [outDim], data: b } }));
    const { data, shape } = evaluate(() => layer.apply(tf.tensor3d(x, [2, 3, inDim])));
    expect(shape).toEqual([2, 3, outDim]);
    expect(maxAbsDiff(data, linear64(x, 6, w, outDim, inDim, b))).toBeLessThan(1e-5);
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});

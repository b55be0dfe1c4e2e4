import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Linear } from '../../src/layers/linear.js';
import { useBackend } from '../support/backend.js';
import { maxAbsDiff, randomArray } from '../support/fixtures.js';
import { buildLayer, evaluate, linear64, stateDictOf } from '../support/layers.js';

const [inDim, outDim] = [12, 7];
const w = randomArray(outDim * inDim, 1);
const b = randomArray(outDim, 2);
const x = randomArray(2 * 3 * inDim, 3);
const expected = linear64(x, 6, w, outDim, inDim, b);

function buildFc() {
  return buildLayer((p) => new Linear(p, 'fc', inDim, outDim), stateDictOf({ 'fc.weight': { shape: [outDim, inDim], data: w }, 'fc.bias': { shape: [outDim], data: b } }));
}

describe('Linear', () => {
  beforeAll(() => useBackend('cpu'));

  it('computes x W^T + b with W stored (out, in), over any leading axes', () => {
    const { layer, params } = buildFc();
    const { data, shape } = evaluate(() => layer.apply(tf.tensor3d(x, [2, 3, inDim])));
    expect(shape).toEqual([2, 3, outDim]);
    expect(maxAbsDiff(data, expected)).toBeLessThan(1e-5);
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});

describe('Linear on wasm (one fused XNNPACK product with the bias)', () => {
  beforeAll(() => useBackend('wasm'));
  afterAll(() => useBackend('cpu'));

  it('matches the float64 reference on every call, for any number of rows', () => {
    const { layer, params } = buildFc();
    for (let call = 0; call < 3; call++) {
      const { data } = evaluate(() => layer.apply(tf.tensor3d(x, [2, 3, inDim])));
      expect(maxAbsDiff(data, expected), `call ${call}`).toBeLessThan(1e-5);
      const single = evaluate(() => layer.apply(tf.tensor2d(x.subarray(0, inDim), [1, inDim])));
      expect(maxAbsDiff(single.data, expected.subarray(0, outDim))).toBeLessThan(1e-5);
    }
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});

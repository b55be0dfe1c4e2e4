import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
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

describe('Linear on wasm: the weight is kept only as XNNPACK packed it', () => {
  beforeAll(() => useBackend('wasm'));
  afterAll(() => useBackend('cpu'));

  /** Where the weight's own bytes are on the wasm heap (0 once freed). */
  function weightOffset(params: ReturnType<typeof buildFc>['params']): number {
    const weight = (params as unknown as { byName: Map<string, { value: tf.Tensor }> }).byName.get('fc.weight')!.value;
    return (tf.backend() as BackendWasm).dataIdMap.get(weight.dataId)!.memoryOffset as number;
  }

  it('frees the unpacked weight after the first product and gives the same result on every later call', () => {
    const { layer, params } = buildFc();
    expect(weightOffset(params)).toBeGreaterThan(0);
    for (let call = 0; call < 3; call++) {
      const { data } = evaluate(() => layer.apply(tf.tensor3d(x, [2, 3, inDim])));
      expect(maxAbsDiff(data, expected), `call ${call}`).toBeLessThan(1e-5);
      expect(weightOffset(params)).toBe(0);
      // Other inputs too: the packed copy, not stale bytes, is what computes.
      const single = evaluate(() => layer.apply(tf.tensor2d(x.subarray(0, inDim), [1, inDim])));
      expect(maxAbsDiff(single.data, expected.subarray(0, outDim))).toBeLessThan(1e-5);
    }
    const before = tf.memory().numTensors;
    params.dispose();
    expect(tf.memory().numTensors).toBe(before - 2);
  });

  it('refuses, with a typed error, to run on another backend once its weight is packed on wasm', async () => {
    const { layer, params } = buildFc();
    evaluate(() => layer.apply(tf.tensor3d(x, [2, 3, inDim])));
    await useBackend('cpu');
    try {
      expect(() => layer.apply(tf.tensor3d(x, [2, 3, inDim]))).toThrow(expect.objectContaining({ code: 'BACKEND_CHANGED' }));
    } finally {
      await useBackend('wasm');
      params.dispose();
    }
  });
});

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { maskedMeanPool, sequenceMask } from '../../src/layers/pooling.js';
import { useBackend } from '../support/backend.js';
import { loadNpy, maxAbsDiff, randomArray } from '../support/fixtures.js';
import { evaluate } from '../support/layers.js';

describe('maskedMeanPool', () => {
  beforeAll(() => useBackend('cpu'));

  it('is the mean over frames of the reference (frames -> utterance)', () => {
    const frames = loadNpy('tiny', 'speech16k.frames');
    const expected = loadNpy('tiny', 'speech16k.utterance');
    const { data } = evaluate(() =>
      maskedMeanPool(tf.tensor3d(frames.data, [1, ...frames.shape] as [number, number, number]), [frames.shape[0]!]),
    );
    // Both sides sum 263 float32 frames, in different orders: a few ulps of the sum (~1.4e-6 measured on cpu).
    // The fixtures' bar for the utterance embedding is 1e-4; this unit test stays 20x tighter.
    expect(maxAbsDiff(data, expected.data)).toBeLessThan(5e-6);
  });

  it("averages only each item's own frames in a padded batch", () => {
    const x = randomArray(2 * 5 * 3, 9);
    const { data } = evaluate(() => maskedMeanPool(tf.tensor3d(x, [2, 5, 3]), [2, 5]));
    const mean = (b: number, len: number, c: number) =>
      Array.from({ length: len }, (_, t) => x[(b * 5 + t) * 3 + c]!).reduce((a, v) => a + v, 0) / len;
    expect(
      maxAbsDiff(data, [0, 1, 2].map((c) => mean(0, 2, c)).concat([0, 1, 2].map((c) => mean(1, 5, c)))),
    ).toBeLessThan(1e-6);
    expect(evaluate(() => sequenceMask([1, 3], 3)).data).toEqual(Float32Array.from([1, 0, 0, 1, 1, 1]));
    expect(tf.memory().numTensors).toBe(0);
  });
});

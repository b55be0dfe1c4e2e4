import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { gelu } from '../../src/layers/gelu.js';
import { useBackend, type TestBackend } from '../support/backend.js';
import { maxAbsDiff } from '../support/fixtures.js';
import { evaluate, gelu64 } from '../support/layers.js';

for (const backend of ['cpu', 'wasm'] as TestBackend[]) {
  describe(`gelu on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('is the exact erf GELU, not the tanh approximation', () => {
      const x = Float32Array.from({ length: 401 }, (_, i) => -10 + i * 0.05);
      const { data } = evaluate(() => gelu(tf.tensor1d(x)));
      const exact = Array.from(x, gelu64);
      // The tanh approximation differs from this by up to ~1e-3 near |x| = 2, far outside the bar.
      expect(maxAbsDiff(data, exact)).toBeLessThan(2e-6);
    });
  });
}

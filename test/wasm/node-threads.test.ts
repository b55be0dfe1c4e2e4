import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmThreadWorkers } from '../../src/wasm/node-threads.js';
import { useBackend } from '../support/backend.js';
import { randomArray } from '../support/fixtures.js';

describe('wasm threads in Node', () => {
  beforeAll(() => useBackend('wasm'));

  it('runs the threaded build by default, with its pthread workers started', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(wasmThreadWorkers()).toBeGreaterThan(0);
  });

  it('computes a large product the same as a float64 loop', () => {
    const [m, k, n] = [64, 300, 40];
    const a = randomArray(m * k, 1);
    const b = randomArray(k * n, 2);
    const product = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])).dataSync());
    let worst = 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += a[i * k + p]! * b[p * n + j]!;
        worst = Math.max(worst, Math.abs(sum - product[i * n + j]!));
      }
    expect(worst).toBeLessThan(1e-4);
  });
});

import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gelu } from '../../../src/layers/gelu.js';
import { plainKernels } from '../../../src/backend/plain-kernels.js';
import { layerNorm, layerNormGelu } from '../../../src/layers/layer-norm.js';
import { useWasmGeluKernels, wasmGeluKernelsFor } from '../../../src/backend/wasm/gelu-kernels.js';
import { useBackend } from '../../support/backend.js';
import { maxAbsDiff, randomArray } from '../../support/fixtures.js';
import { gelu64, heapOffset, layerNorm64 } from '../../support/layers.js';

/** Runs `fn` on `backend` and returns its output's values. */
async function on(backend: 'wasm' | 'cpu', fn: () => tf.Tensor): Promise<Float32Array> {
  await useBackend(backend);
  const out = tf.tidy(fn);
  const data = (out.dataSync() as Float32Array).slice();
  out.dispose();
  return data;
}

/** Largest |a - b| / max(1, |b|): GELU's error grows with |x| (the erf error is scaled by x / 2). */
function maxScaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

describe('fused GELU kernels on wasm (src/backend/wasm/gelu-kernels.ts)', () => {
  beforeAll(() => useBackend('wasm'));

  it('are the path taken on wasm, and only there', async () => {
    const x = tf.zeros([3]);
    expect(wasmGeluKernelsFor(x)).toBe(true);
    x.dispose();
    await useBackend('cpu');
    const y = tf.zeros([3]);
    expect(wasmGeluKernelsFor(y)).toBe(false);
    y.dispose();
    await useBackend('wasm');
  });

  it('GELU matches the exact erf GELU from the far negative tail to large values', async () => {
    const ramp = Array.from({ length: 2001 }, (_, i) => -20 + i * 0.02);
    const x = Float32Array.from([...ramp, 0, -0, 1e-30, -1e-30, 1e4, -1e4, 3.4e38, -3.4e38, 1e-3, -1e-3]);
    const data = await on('wasm', () => gelu(tf.tensor1d(x)));
    const exact = Array.from(x, gelu64);
    expect(maxScaledDiff(data, exact)).toBeLessThan(5e-7);
  });

  for (const size of [1, 3, 4, 5, 7, 17, 4099]) {
    it(`GELU on wasm agrees with the tfjs formulation on cpu, ${size} values`, async () => {
      const x = randomArray(size, size).map((v) => v * 6);
      const fused = await on('wasm', () => gelu(tf.tensor1d(x)));
      const reference = await on('cpu', () => plainKernels.gelu(tf.tensor1d(x)));
      expect(maxScaledDiff(fused, reference)).toBeLessThan(1e-6);
    });
  }

  for (const [rows, width] of [
    [1, 1],
    [3, 3],
    [2, 5],
    [7, 13],
    [5, 512],
    [3, 769],
  ] as const) {
    it(`LayerNorm + GELU on wasm agrees with float64 and with tfjs on cpu, (${rows}, ${width})`, async () => {
      const x = randomArray(rows * width, rows + width).map((v) => v * 4 + 1);
      const weight = randomArray(width, 2).map((v) => 1 + 0.5 * v);
      const bias = randomArray(width, 3).map((v) => 0.5 * v);
      const run = () => layerNormGelu(tf.tensor2d(x, [rows, width]), 1e-5, tf.tensor1d(weight), tf.tensor1d(bias));
      const fused = await on('wasm', run);
      const reference = await on('cpu', () =>
        plainKernels.gelu(layerNorm(tf.tensor2d(x, [rows, width]), 1e-5, tf.tensor1d(weight), tf.tensor1d(bias))),
      );
      const exact = Array.from(layerNorm64(x, width, 1e-5, weight, bias), gelu64);
      expect(maxAbsDiff(fused, exact)).toBeLessThan(3e-6);
      expect(maxAbsDiff(fused, reference)).toBeLessThan(3e-6);
    });
  }

  it('keeps a 3-D shape and matches the tfjs path on wasm with the kernels off', async () => {
    await useBackend('wasm');
    const x = randomArray(2 * 9 * 6, 11);
    const weight = randomArray(6, 12);
    const bias = randomArray(6, 13);
    const run = () => layerNormGelu(tf.tensor3d(x, [2, 9, 6]), 1e-5, tf.tensor1d(weight), tf.tensor1d(bias));
    const shape = tf.tidy(() => run().shape);
    expect(shape).toEqual([2, 9, 6]);
    const fused = await on('wasm', run);
    useWasmGeluKernels(false);
    try {
      const plain = await on('wasm', run);
      expect(maxAbsDiff(fused, plain)).toBeLessThan(3e-6);
    } finally {
      useWasmGeluKernels(true);
    }
  });

  it('in place, writes over x when nothing else holds its data, else into a new buffer; the same values either way', async () => {
    await useBackend('wasm');
    const values = randomArray(5 * 512, 21).map((v) => v * 3);
    const weight = tf.tensor1d(randomArray(512, 22));
    const bias = tf.tensor1d(randomArray(512, 23));
    const fresh = layerNormGelu(tf.tensor2d(values, [5, 512]), 1e-5, weight, bias);
    const expected = (fresh.dataSync() as Float32Array).slice();

    const alone = tf.tensor2d(values, [5, 512]);
    const over = layerNormGelu(alone, 1e-5, weight, bias, true);
    expect(heapOffset(over)).toBe(heapOffset(alone));
    expect(maxAbsDiff(over.dataSync() as Float32Array, expected)).toBe(0);
    alone.dispose();
    // Still readable: the result holds the data now.
    expect(maxAbsDiff(over.dataSync() as Float32Array, expected)).toBe(0);

    const shared = tf.tensor2d(values, [5, 512]);
    const view = tf.reshape(shared, [512 * 5]);
    const beside = layerNormGelu(shared, 1e-5, weight, bias, true);
    expect(heapOffset(beside)).not.toBe(heapOffset(shared));
    expect(maxAbsDiff(beside.dataSync() as Float32Array, expected)).toBe(0);
    expect(Array.from(view.dataSync())).toEqual(Array.from(values));
    tf.dispose([fresh, over, shared, view, beside, weight, bias]);
  });

  it('leaks no tensors', async () => {
    await useBackend('wasm');
    const x = tf.tensor2d(randomArray(4 * 10, 5), [4, 10]);
    const weight = tf.ones([10]);
    const bias = tf.zeros([10]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose([gelu(x), layerNormGelu(x, 1e-5, weight, bias)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, weight, bias]);
  });

  afterAll(() => tf.disposeVariables());
});

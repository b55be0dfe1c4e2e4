import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slice } from '../../../src/backend/kernels.js';
import { useBackend } from '../../support/backend.js';
import { randomArray } from '../../support/fixtures.js';

/** The box [begin, begin + size) of a row-major array, by plain index arithmetic. */
function boxOf(values: Float32Array, shape: number[], begin: number[], size: number[]): number[] {
  const out: number[] = [];
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const visit = (d: number, offset: number) => {
    if (d === shape.length) return void out.push(values[offset]!);
    for (let i = 0; i < size[d]!; i++) visit(d + 1, offset + (begin[d]! + i) * strides[d]!);
  };
  visit(0, 0);
  return out;
}

describe('wasm Slice kernel (in place), through the kernel interface', () => {
  beforeAll(() => useBackend('wasm'));
  const cases: [number[], number[], number[]][] = [
    [[7], [2], [4]],
    [
      [5, 9],
      [1, 3],
      [3, 4],
    ],
    [
      [5, 9],
      [2, 0],
      [2, 9],
    ],
    [
      [3, 4, 6],
      [1, 1, 2],
      [2, 3, 3],
    ],
    [
      [2, 3, 4, 5],
      [1, 0, 2, 1],
      [1, 3, 2, 4],
    ],
    [
      [2, 2, 3, 2, 4],
      [0, 1, 1, 0, 1],
      [2, 1, 2, 2, 2],
    ],
  ];
  for (const [shape, begin, size] of cases) {
    it(`slices [${size}] at [${begin}] of [${shape}] exactly`, () => {
      const values = randomArray(
        shape.reduce((a, b) => a * b, 1),
        shape.length,
      );
      const before = tf.memory().numTensors;
      const x = tf.tensor(values, shape);
      const sliced = slice(x, begin, size);
      expect(sliced.shape).toEqual(size);
      expect(Array.from(sliced.dataSync())).toEqual(boxOf(values, shape, begin, size));
      tf.dispose([x, sliced]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
  it('keeps int32 and bool slices exact', () => {
    const ints = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    expect(slice(ints, [0, 1], [2, 2]).arraySync()).toEqual([
      [2, 3],
      [5, 6],
    ]);
    const flags = tf.tensor1d([true, false, true], 'bool');
    expect(slice(flags, [1], [2]).arraySync()).toEqual([0, 1]);
  });
  afterAll(() => tf.disposeVariables());
});

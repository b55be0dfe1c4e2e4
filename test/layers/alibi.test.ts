import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlibiBias, alibiSlopes, alibiTable } from '../../src/layers/alibi.js';
import { useBackend } from '../support/backend.js';
import { buildLayer, stateDictOf } from '../support/layers.js';

describe('alibiSlopes', () => {
  it('is the geometric series 2^(-8i/n) for a power of two', () => {
    expect(alibiSlopes(4)).toEqual([0.25, 0.0625, 0.015625, 0.00390625]);
    expect(alibiSlopes(16)[0]).toBeCloseTo(2 ** -0.5, 15);
    expect(alibiSlopes(16)[15]).toBeCloseTo(2 ** -8, 15);
  });

  it('takes the 8-head slopes then every other 16-head slope for 12 heads (upstream get_slopes)', () => {
    const twelve = alibiSlopes(12);
    expect(twelve.slice(0, 8)).toEqual(alibiSlopes(8));
    const sixteen = alibiSlopes(16);
    expect(twelve.slice(8)).toEqual([sixteen[0], sixteen[2], sixteen[4], sixteen[6]]);
    // The values themselves, as the paper's get_slopes(12) gives them: 2^-1 ... 2^-8, then 2^-0.5, 2^-1.5, 2^-2.5,
    // 2^-3.5.
    const upstream = [
      0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625, 0.7071067811865476, 0.35355339059327384,
      0.17677669529663692, 0.08838834764831849,
    ];
    twelve.forEach((slope, i) => expect(slope).toBeCloseTo(upstream[i]!, 15));
  });
});

describe('alibiTable', () => {
  it('holds -slope * |i - j| rounded to float32', () => {
    const table = alibiTable(2, 5);
    expect(table[0 * 25 + 1 * 5 + 4]).toBe(Math.fround(Math.fround(0.0625) * -3));
    expect(table[1 * 25 + 4 * 5 + 0]).toBe(Math.fround(Math.fround(0.00390625) * -4));
    expect(table[2 * 5 + 2]).toBe(-0);
  });
});

describe('AlibiBias', () => {
  beforeAll(() => useBackend('cpu'));
  const options = { numHeads: 3, numAlibiHeads: 2, perHead: true, perLayer: true, totalBlocks: 2, numExtraTokens: 1 };

  it('scales per head and per block, clamps scales at 0, pads extra tokens and non-ALiBi heads with 0', () => {
    // block 0: head scales 2 and -1 (clamped to 0); block 1: 0.5 and 1.
    const scale = Float32Array.from([2, -1, 0.5, 1]);
    const { layer, params } = buildLayer(
      (p) => new AlibiBias(p, 'alibi_scale', options),
      stateDictOf({ alibi_scale: { shape: [2, 1, 2, 1, 1], data: scale } }),
    );
    const biases = layer.biases(3);
    expect(biases).toHaveLength(2);
    const [b0, b1] = biases.map((b) => b.arraySync() as number[][][]);
    const table = alibiTable(2, 3);
    const slope0 = (i: number, j: number) => table[i * 3 + j]!;
    expect(b0![0]![0]).toEqual([0, 0, 0, 0]); // extra-token row
    expect(b0![0]![1]![0]).toBe(0); // extra-token column
    expect(b0![0]![3]![1]).toBeCloseTo(2 * slope0(2, 0), 6);
    expect(b0![1]!.flat().every((v) => v === 0)).toBe(true); // scale clamped at 0
    expect(b0![2]!.flat().every((v) => v === 0)).toBe(true); // third head has no ALiBi
    expect(b1![0]![3]![1]).toBeCloseTo(0.5 * slope0(2, 0), 6);
    tf.dispose(biases);
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });

  it('shares one tensor across blocks when the scale is not per layer, and accepts the old 4-D scale', () => {
    const shared = { ...options, perLayer: false };
    const { layer, params } = buildLayer(
      (p) => new AlibiBias(p, 'alibi_scale', shared),
      stateDictOf({ alibi_scale: { shape: [1, 2, 1, 1], data: Float32Array.from([1, 1]) } }),
    );
    const biases = layer.biases(4);
    expect(biases[0]).toBe(biases[1]);
    expect(biases[0]!.shape).toEqual([3, 5, 5]);
    tf.dispose(biases[0]!);
    params.dispose();
  });
});

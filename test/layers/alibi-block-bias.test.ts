/**
 * One block's ALiBi bias, built when the block runs: bit for bit the table of alibiTable (float32 slope times
 * distance, made in JS) times the block's clamped scale, with +0 for extra tokens and heads without ALiBi.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlibiBias, alibiTable } from '../../src/layers/alibi.js';
import { useBackend, type TestBackend } from '../support/backend.js';
import { buildLayer, stateDictOf } from '../support/layers.js';

const options = { numHeads: 5, numAlibiHeads: 3, perHead: true, perLayer: true, totalBlocks: 3, numExtraTokens: 2 };
// Three blocks of three head scales; a negative one is clamped to 0.
const scales = Float32Array.from([1.25, -0.5, 0.75, 0.9, 1.1, 1, 0.3, 2, 0.6]);
const time = 7;

/** The expected (numHeads, E + T, E + T) bias of `block`, computed element by element in JS. */
function expectedBias(block: number): Float32Array {
  const { numHeads, numAlibiHeads, numExtraTokens } = options;
  const size = numExtraTokens + time;
  const table = alibiTable(numAlibiHeads, time);
  const out = new Float32Array(numHeads * size * size); // +0 everywhere else
  for (let h = 0; h < numAlibiHeads; h++) {
    const scale = Math.max(0, scales[block * numAlibiHeads + h]!);
    for (let i = 0; i < time; i++) {
      for (let j = 0; j < time; j++) {
        out[h * size * size + (numExtraTokens + i) * size + numExtraTokens + j] = Math.fround(
          table[h * time * time + i * time + j]! * scale,
        );
      }
    }
  }
  return out;
}

/** Index of the first element whose bits differ (Object.is tells -0 from +0), or -1. */
function firstDifference(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return 0;
  return actual.findIndex((value, i) => !Object.is(value, expected[i]));
}

for (const backend of ['cpu', 'wasm'] as TestBackend[]) {
  describe(`AlibiBias.blockBias on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('gives each block its own scaled table, bit for bit, and leaks nothing', () => {
      const weights = stateDictOf({ alibi_scale: { shape: [3, 1, 3, 1, 1], data: scales } });
      const { layer, params } = buildLayer((p) => new AlibiBias(p, 'alibi_scale', options), weights);
      expect(layer.perBlock).toBe(true);
      const before = tf.memory().numTensors;
      for (let block = 0; block < options.totalBlocks; block++) {
        const bias = layer.blockBias(time, block);
        expect(bias.shape).toEqual([5, 9, 9]);
        expect(firstDifference(bias.dataSync() as Float32Array, expectedBias(block)), `block ${block}`).toBe(-1);
        bias.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
      params.dispose();
    });

    it('builds the same tables all at once (biases) as block by block', () => {
      const weights = stateDictOf({ alibi_scale: { shape: [3, 1, 3, 1, 1], data: scales } });
      const { layer, params } = buildLayer((p) => new AlibiBias(p, 'alibi_scale', options), weights);
      const all = layer.biases(time);
      all.forEach((bias, block) =>
        expect(firstDifference(bias.dataSync() as Float32Array, expectedBias(block))).toBe(-1),
      );
      tf.dispose(all);
      params.dispose();
    });

    it('uses the one row for every block when the scale is shared', () => {
      const shared = { ...options, perLayer: false };
      const weights = stateDictOf({ alibi_scale: { shape: [1, 1, 3, 1, 1], data: scales.slice(0, 3) } });
      const { layer, params } = buildLayer((p) => new AlibiBias(p, 'alibi_scale', shared), weights);
      expect(layer.perBlock).toBe(false);
      for (const block of [0, 2]) {
        const bias = layer.blockBias(time, block);
        expect(firstDifference(bias.dataSync() as Float32Array, expectedBias(0))).toBe(-1);
        bias.dispose();
      }
      params.dispose();
    });
  });
}

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, UsageError } from '../../src/errors.js';
import { ParameterSet, type StoredTensor } from '../../src/layers/parameters.js';
import { useBackend } from '../support/backend.js';

function stored(shape: number[], fill = 1): StoredTensor {
  return { shape, read: () => new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill) };
}

describe('ParameterSet', () => {
  beforeAll(() => useBackend('cpu'));

  it('loads declared tensors, applies their layout change and reports skipped keys', () => {
    const params = new ParameterSet();
    const weight = params.declare('layer.weight', [2, 3], (w) => tf.transpose(w));
    const bias = params.declare('layer.bias', [2]);
    const report = params.load(
      new Map([
        ['layer.weight', stored([2, 3], 2)],
        ['layer.bias', stored([2], 3)],
        ['_ema.layer.weight', stored([2, 3])],
        ['something.else', stored([1])],
      ]),
    );
    expect(report).toEqual({ loaded: 2, skippedTrainingOnly: ['_ema.layer.weight'], unused: ['something.else'] });
    expect(weight.value.shape).toEqual([3, 2]);
    expect(Array.from(bias.value.dataSync())).toEqual([3, 3]);
    params.dispose();
    expect(() => weight.value).toThrow(UsageError);
  });

  it('lists every missing and mis-shaped tensor in one error before reading any', () => {
    const params = new ParameterSet();
    params.declare('a', [2]);
    params.declare('b', [4]);
    let reads = 0;
    const counted: StoredTensor = { shape: [3], read: () => (reads++, new Float32Array(3)) };
    const error = (() => {
      try {
        params.load(new Map([['b', counted]]));
      } catch (e) {
        return e as CheckpointError;
      }
    })();
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error?.code).toBe('CHECKPOINT_TENSORS');
    expect(error?.message).toMatch(/missing \(1\):\n {2}a/);
    expect(error?.message).toMatch(/b: expected \[4\], found \[3\]/);
    expect(reads).toBe(0);
  });
});

describe('src/layers', () => {
  it('never imports from src/model (the dependency runs one way)', () => {
    const folder = fileURLToPath(new URL('../../src/layers/', import.meta.url));
    const offenders = readdirSync(folder)
      .filter((name) => name.endsWith('.ts'))
      .filter((name) => /from '\.\.\/model\//.test(readFileSync(folder + name, 'utf8')));
    expect(offenders).toEqual([]);
  });
});

import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LayerNorm, layerNorm } from '../../src/layers/layer-norm.js';
import { useBackend } from '../support/backend.js';
import { maxAbsDiff, randomArray } from '../support/fixtures.js';
import { buildLayer, evaluate, layerNorm64, stateDictOf } from '../support/layers.js';

describe('LayerNorm', () => {
  beforeAll(() => useBackend('cpu'));
  const rows = 5;
  const dim = 16;
  const x = randomArray(rows * dim, 3).map((v) => v * 4 + 1);

  it('normalises the last axis like torch (biased variance, eps inside the root)', () => {
    const { data } = evaluate(() => layerNorm(tf.tensor2d(x, [rows, dim]), 1e-5));
    expect(maxAbsDiff(data, layerNorm64(x, dim, 1e-5))).toBeLessThan(2e-6);
  });

  it('applies gain and bias from <prefix>.weight / <prefix>.bias', () => {
    const weight = randomArray(dim, 4);
    const bias = randomArray(dim, 5);
    const { layer, params } = buildLayer(
      (p) => new LayerNorm(p, 'norm', dim, 1e-6),
      stateDictOf({ 'norm.weight': { shape: [dim], data: weight }, 'norm.bias': { shape: [dim], data: bias } }),
    );
    const { data } = evaluate(() => layer.apply(tf.tensor2d(x, [rows, dim])));
    expect(maxAbsDiff(data, layerNorm64(x, dim, 1e-6, weight, bias))).toBeLessThan(2e-6);
    params.dispose();
  });

  it('declares no tensors without affine', () => {
    const { params } = buildLayer((p) => new LayerNorm(p, 'norm', dim, 1e-5, false), new Map());
    expect(params.specs()).toEqual([]);
  });

  afterAll(() => expect(tf.memory().numTensors).toBe(0));
});

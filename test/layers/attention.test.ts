import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { SelfAttention } from '../../src/layers/attention.js';
import { useBackend, type TestBackend } from '../support/backend.js';
import { maxAbsDiff, randomArray } from '../support/fixtures.js';
import { buildLayer, evaluate, linear64, stateDictOf } from '../support/layers.js';

/** Multi-head attention with an additive (H, N, N) bias, as loops in float64; x is (N, D). */
function attentionReference(
  x: Float32Array,
  n: number,
  d: number,
  heads: number,
  wqkv: Float32Array,
  bqkv: Float32Array,
  wo: Float32Array,
  bo: Float32Array,
  bias: Float32Array,
): Float64Array {
  const qkv = linear64(x, n, wqkv, 3 * d, d, bqkv);
  const hd = d / heads;
  const context = new Float64Array(n * d);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < n; i++) {
      const scores = Array.from({ length: n }, (_, j) => {
        let s = 0;
        for (let k = 0; k < hd; k++) s += qkv[i * 3 * d + h * hd + k]! * hd ** -0.5 * qkv[j * 3 * d + d + h * hd + k]!;
        return s + bias[(h * n + i) * n + j]!;
      });
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const total = exps.reduce((a, b) => a + b, 0);
      for (let k = 0; k < hd; k++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += (exps[j]! / total) * qkv[j * 3 * d + 2 * d + h * hd + k]!;
        context[i * d + h * hd + k] = s;
      }
    }
  return linear64(context, n, wo, d, d, bo);
}

for (const backend of ['cpu', 'wasm'] as TestBackend[]) {
  describe(`SelfAttention on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    const [n, d, heads] = [7, 8, 2];
    const weights = {
      'attn.qkv.weight': { shape: [3 * d, d], data: randomArray(3 * d * d, 1) },
      'attn.qkv.bias': { shape: [3 * d], data: randomArray(3 * d, 2) },
      'attn.proj.weight': { shape: [d, d], data: randomArray(d * d, 3) },
      'attn.proj.bias': { shape: [d], data: randomArray(d, 4) },
    };
    const x = randomArray(n * d, 5);
    const bias = randomArray(heads * n * n, 6).map((v) => v * 3);
    const reference = attentionReference(
      x,
      n,
      d,
      heads,
      weights['attn.qkv.weight'].data,
      weights['attn.qkv.bias'].data,
      weights['attn.proj.weight'].data,
      weights['attn.proj.bias'].data,
      bias,
    );

    it('computes softmax(q k^T / sqrt(d_head) + bias) v then the output projection', () => {
      const { layer, params } = buildLayer((p) => new SelfAttention(p, 'attn', d, heads), stateDictOf(weights));
      const { data } = evaluate(() => layer.apply(tf.tensor3d(x, [1, n, d]), tf.tensor3d(bias, [heads, n, n])));
      expect(maxAbsDiff(data, reference)).toBeLessThan(2e-5);
      params.dispose();
    });

    it('gives padded keys no weight: a batch item with junk keys masked equals the item alone', () => {
      const { layer, params } = buildLayer((p) => new SelfAttention(p, 'attn', d, heads), stateDictOf(weights));
      const extra = 3;
      const padded = new Float32Array((n + extra) * d).fill(9);
      padded.set(x);
      const paddedBias = new Float32Array(heads * (n + extra) * (n + extra));
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < n + extra; i++)
          for (let j = 0; j < n + extra; j++)
            paddedBias[(h * (n + extra) + i) * (n + extra) + j] =
              j >= n ? -1e9 : i < n ? bias[(h * n + i) * n + j]! : 0;
      const { data } = evaluate(() =>
        tf.slice(
          layer.apply(tf.tensor3d(padded, [1, n + extra, d]), tf.tensor3d(paddedBias, [heads, n + extra, n + extra])),
          [0, 0, 0],
          [1, n, d],
        ),
      );
      expect(maxAbsDiff(data, reference)).toBeLessThan(2e-5);
      params.dispose();
      expect(tf.memory().numTensors).toBe(0);
    });
  });
}

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlibiBias } from '../../src/layers/alibi.js';
import { TransformerBlock, type BlockOptions } from '../../src/layers/transformer-block.js';
import { useBackend, type TestBackend } from '../support/backend.js';
import { definitionOf, loadNpy, maxAbsDiff, randomArray, syntheticWeights } from '../support/fixtures.js';
import { buildLayer, evaluate, gelu64, layerNorm64, linear64, stateDictOf } from '../support/layers.js';

for (const backend of ['cpu', 'wasm'] as TestBackend[]) {
  describe(`TransformerBlock on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    const { config } = definitionOf('tiny');
    const options: BlockOptions = {
      dim: 64,
      numHeads: 4,
      mlpRatio: 4,
      normEps: 1e-5,
      normAffine: true,
      layerNormFirst: false,
    };

    it('post-norm block 0 of tiny turns the reference prenet output into the reference block0 (ALiBi included)', () => {
      const weights = syntheticWeights('tiny');
      const { layer: block, params } = buildLayer((p) => new TransformerBlock(p, 'blocks.0', options), weights);
      const { layer: alibi, params: alibiParams } = buildLayer(
        (p) =>
          new AlibiBias(p, 'modality_encoders.AUDIO.alibi_scale', {
            numHeads: 4,
            numAlibiHeads: config.numAlibiHeads,
            perHead: config.alibiScalePerHead,
            perLayer: config.alibiScalePerLayer,
            totalBlocks: config.prenetDepth + config.depth,
            numExtraTokens: config.numExtraTokens,
          }),
        weights,
      );
      const input = loadNpy('tiny', 'speech16k.context_encoder');
      const expected = loadNpy('tiny', 'speech16k.block0');
      const { data } = evaluate(() => {
        const biases = alibi.biases(input.shape[0]! - config.numExtraTokens);
        return block.apply(
          tf.tensor3d(input.data, [1, ...input.shape] as [number, number, number]),
          biases[config.prenetDepth]!,
        );
      });
      expect(maxAbsDiff(data, expected.data)).toBeLessThan(2e-5);
      params.dispose();
      alibiParams.dispose();
      expect(tf.memory().numTensors).toBe(0);
    });

    it('pre-norm variant computes h = mlp(norm2(x + attn(norm1(x)))); out = h + h, as upstream', () => {
      const d = 8;
      const tensor = (shape: number[], seed: number) => ({
        shape,
        data: randomArray(
          shape.reduce((a, b) => a * b, 1),
          seed,
        ),
      });
      // Zero attention weights make attn(.) = proj.bias, so the reference is short to write.
      const weights = {
        'b.norm1.weight': tensor([d], 1),
        'b.norm1.bias': tensor([d], 2),
        'b.attn.qkv.weight': { shape: [3 * d, d], data: new Float32Array(3 * d * d) },
        'b.attn.qkv.bias': { shape: [3 * d], data: new Float32Array(3 * d) },
        'b.attn.proj.weight': { shape: [d, d], data: new Float32Array(d * d) },
        'b.attn.proj.bias': tensor([d], 3),
        'b.norm2.weight': tensor([d], 4),
        'b.norm2.bias': tensor([d], 5),
        'b.mlp.fc1.weight': tensor([2 * d, d], 6),
        'b.mlp.fc1.bias': tensor([2 * d], 7),
        'b.mlp.fc2.weight': tensor([d, 2 * d], 8),
        'b.mlp.fc2.bias': tensor([d], 9),
      };
      const { layer, params } = buildLayer(
        (p) => new TransformerBlock(p, 'b', { ...options, dim: d, numHeads: 2, mlpRatio: 2, layerNormFirst: true }),
        stateDictOf(weights),
      );
      const x = randomArray(3 * d, 10);
      const attended = Array.from(x, (v, i) => v + weights['b.attn.proj.bias'].data[i % d]!);
      const normed = layerNorm64(attended, d, 1e-5, weights['b.norm2.weight'].data, weights['b.norm2.bias'].data);
      const hidden = Array.from(
        linear64(normed, 3, weights['b.mlp.fc1.weight'].data, 2 * d, d, weights['b.mlp.fc1.bias'].data),
        gelu64,
      );
      const h = linear64(hidden, 3, weights['b.mlp.fc2.weight'].data, d, 2 * d, weights['b.mlp.fc2.bias'].data);
      const { data } = evaluate(() => layer.apply(tf.tensor3d(x, [1, 3, d]), null));
      expect(
        maxAbsDiff(
          data,
          Array.from(h, (v) => 2 * v),
        ),
      ).toBeLessThan(2e-5);
      params.dispose();
    });
  });
}

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GroupedConv1d } from '../../src/layers/grouped-conv1d.js';
import { useBackend, type TestBackend } from '../support/backend.js';
import { maxAbsDiff, randomArray } from '../support/fixtures.js';
import { buildLayer, evaluate, stateDictOf } from '../support/layers.js';

/** torch Conv1d(C, C, k, padding=k//2, groups=G) + SamePad, written out as loops; x is (B, T, C). */
function groupedConvReference(
  x: Float32Array,
  batch: number,
  time: number,
  channels: number,
  w: Float32Array,
  b: Float32Array,
  kernel: number,
  groups: number,
): Float64Array {
  const per = channels / groups;
  const pad = Math.floor(kernel / 2);
  const y = new Float64Array(batch * time * channels);
  for (let n = 0; n < batch; n++)
    for (let t = 0; t < time; t++)
      for (let o = 0; o < channels; o++) {
        const g = Math.floor(o / per);
        let s = b[o]!;
        for (let i = 0; i < per; i++)
          for (let j = 0; j < kernel; j++) {
            const src = t + j - pad;
            if (src < 0 || src >= time) continue;
            s += w[(o * per + i) * kernel + j]! * x[(n * time + src) * channels + g * per + i]!;
          }
        y[(n * time + t) * channels + o] = s;
      }
  return y;
}

for (const backend of ['cpu', 'wasm'] as TestBackend[]) {
  describe(`GroupedConv1d on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    for (const kernel of [19, 4, 3]) {
      it(`matches a grouped convolution with same padding (kernel ${kernel}, 4 groups, batch 2)`, () => {
        const [batch, time, channels, groups] = [2, 23, 16, 4];
        const x = randomArray(batch * time * channels, kernel);
        const w = randomArray(channels * (channels / groups) * kernel, 7);
        const b = randomArray(channels, 8);
        const { layer, params } = buildLayer(
          (p) => new GroupedConv1d(p, 'conv', channels, channels, kernel, groups),
          stateDictOf({
            'conv.weight': { shape: [channels, channels / groups, kernel], data: w },
            'conv.bias': { shape: [channels], data: b },
          }),
        );
        const { data, shape } = evaluate(() => layer.apply(tf.tensor3d(x, [batch, time, channels])));
        expect(shape).toEqual([batch, time, channels]);
        expect(maxAbsDiff(data, groupedConvReference(x, batch, time, channels, w, b, kernel, groups))).toBeLessThan(
          1e-5,
        );
        params.dispose();
        expect(tf.memory().numTensors).toBe(0);
      });
    }
  });
}

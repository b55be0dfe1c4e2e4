/**
 * Packing the weight matrices after a load (`ready: 'loaded'`, src/model/background-packing.ts): it runs in the
 * background without a prediction, leaks no tensor, stops on dispose, and a prediction right after the load gives
 * the same result as one after the packing finished.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ParameterSet } from '../../src/layers/parameters.js';
import { Emotion2Vec } from '../../src/node.js';
import { useBackend } from '../support/backend.js';
import { fixturePath, loadNpy, maxAbsDiff } from '../support/fixtures.js';

const speech = loadNpy('tiny', 'speech16k.wave16k').data;

/** Resolves once `done` holds, checking every 10 ms (at most 5 s). */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done(); waited += 10) {
    if (waited > 5000) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('Packing the weights after a load (wasm)', () => {
  beforeAll(() => useBackend('wasm'));
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => useBackend('cpu'));

  it('packs one matrix per event-loop turn without a prediction, leaks no tensor, and changes no result', async () => {
    const before = tf.memory().numTensors;
    const packNext = vi.spyOn(ParameterSet.prototype, 'packNext');
    const model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm', ready: 'loaded' });
    const loaded = tf.memory().numTensors;
    // Nothing packed during the load itself: the load returns first.
    expect(packNext).not.toHaveBeenCalled();
    await until(() => packNext.mock.results.some((result) => result.value === false));
    // One turn per weight matrix: 4 per Transformer block (qkv, proj, fc1, fc2) and the feature projection.
    const { prenetDepth, depth } = model.config;
    expect(packNext.mock.calls.length).toBe(4 * (prenetDepth + depth) + 1);
    expect(tf.memory().numTensors).toBe(loaded);
    const packedFirst = await model.predict(speech, { granularity: 'frame', embedding: true });
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);

    // A prediction straight after the load packs the rest itself first, and gives the same numbers.
    const eager = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm', ready: 'loaded' });
    const straight = await eager.predict(speech, { granularity: 'frame', embedding: true });
    eager.dispose();
    expect(straight.scores).toEqual(packedFirst.scores);
    expect(straight.embedding!.shape).toEqual(packedFirst.embedding!.shape);
    expect(maxAbsDiff(straight.embedding!.data, packedFirst.embedding!.data)).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops when the model is disposed before it finished', async () => {
    const before = tf.memory().numTensors;
    const packNext = vi.spyOn(ParameterSet.prototype, 'packNext');
    const model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm', ready: 'loaded' });
    model.dispose();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(packNext).not.toHaveBeenCalled();
    expect(tf.memory().numTensors).toBe(before);
  });
});

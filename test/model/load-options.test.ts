/**
 * `LoadOptions.compute` (float32 or int8 products for the encoder's matrices) and `LoadOptions.ready` (when `load`
 * resolves): the defaults, what each value does, the fallback on backends without int8 kernels, bad values.
 * How far int8 results drift: test/parity/int8-drift.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CheckpointError, Emotion2Vec, UsageError } from '../../src/node.js';
import { ParameterSet } from '../../src/layers/parameters.js';
import { useBackend } from '../support/backend.js';
import { convertedFiles } from '../support/converted-files.js';
import { fixturePath, loadNpy, maxAbsDiff } from '../support/fixtures.js';

const speech = loadNpy('tiny', 'speech16k.wave16k').data;

describe('LoadOptions.compute', () => {
  beforeAll(() => useBackend('wasm'));
  afterEach(() => vi.restoreAllMocks());

  it('float32 by default for a float32 model; int8 on request, with different (int8) results and no leaks', async () => {
    const before = tf.memory().numTensors;
    const exact = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
    expect(exact.compute).toBe('float32');
    const int8 = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm', compute: 'int8' });
    expect(int8.compute).toBe('int8');
    const [a, b] = [await exact.predict(speech), await int8.predict(speech)];
    expect(a.top!.label).toBe(b.top!.label);
    expect(maxAbsDiff(a.scores, b.scores)).toBeGreaterThan(1e-6);
    expect(maxAbsDiff(a.scores, b.scores)).toBeLessThan(0.02);
    const held = tf.memory().numTensors;
    await int8.predict(speech);
    expect(tf.memory().numTensors).toBe(held);
    exact.dispose();
    int8.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('int8 by default for an int8 folder, float32 on request (its weights turned into float32 as before)', async () => {
    const files = await convertedFiles('tiny', 'int8');
    const byDefault = await Emotion2Vec.load(files, { backend: 'wasm' });
    expect(byDefault.compute).toBe('int8');
    byDefault.dispose();
    const float32 = await Emotion2Vec.load(await convertedFiles('tiny', 'int8'), {
      backend: 'wasm',
      compute: 'float32',
    });
    expect(float32.compute).toBe('float32');
    float32.dispose();
  });

  it('computes in float32 where the backend has no int8 kernels (cpu), and says so once', async () => {
    await useBackend('cpu');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const model = await Emotion2Vec.load(await convertedFiles('tiny', 'int8'), { backend: 'cpu' });
      expect(model.compute).toBe('float32');
      expect(model.loadReport.notes.join('\n')).toMatch(
        /computing in float32, not int8: the 'cpu' backend has no int8/,
      );
      const asked = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'cpu', compute: 'int8' });
      expect(asked.compute).toBe('float32');
      expect(asked.loadReport.notes.join('\n')).toMatch(/computing in float32, not int8/);
      // Printed once per process, whatever the number of loads.
      expect(warn.mock.calls.filter(([line]) => /not int8/.test(String(line))).length).toBeLessThanOrEqual(1);
      expect((await model.predict(speech)).top).not.toBeNull();
      model.dispose();
      asked.dispose();
    } finally {
      await useBackend('wasm');
    }
  });

  it('an int8 scale whose values overflow float32 is CHECKPOINT_NOT_FINITE when read as int8 too', async () => {
    const files = await convertedFiles('tiny', 'int8');
    const manifest = JSON.parse(new TextDecoder().decode(files['model.json']));
    const matrix = manifest.weightsManifest[0].weights.find((w: { name: string }) => /qkv\.weight$/.test(w.name));
    matrix.quantization.scales[0] = 1e37;
    files['model.json'] = new TextEncoder().encode(JSON.stringify(manifest));
    const error = await Emotion2Vec.load(files, { backend: 'wasm', compute: 'int8' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).code).toBe('CHECKPOINT_NOT_FINITE');
    expect(tf.memory().numTensors).toBe(0);
  });
});

describe('LoadOptions.ready', () => {
  beforeAll(() => useBackend('wasm'));
  afterEach(() => vi.restoreAllMocks());

  it("'packed' (the default): every weight matrix is packed when load resolves", async () => {
    const packAll = vi.spyOn(ParameterSet.prototype, 'packAll');
    const packNext = vi.spyOn(ParameterSet.prototype, 'packNext');
    const model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
    expect(packAll).toHaveBeenCalledTimes(1);
    // Its last call found nothing left.
    expect(packNext.mock.results.at(-1)?.value).toBe(false);
    model.dispose();
  });

  it("'loaded': resolves before packing (which then runs in the background)", async () => {
    const packNext = vi.spyOn(ParameterSet.prototype, 'packNext');
    const model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm', ready: 'loaded' });
    expect(packNext).not.toHaveBeenCalled();
    model.dispose();
  });

  it("'loaded' still packs int8 weights at load: they have no other form to compute with", async () => {
    const packAll = vi.spyOn(ParameterSet.prototype, 'packAll');
    const model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm', ready: 'loaded', compute: 'int8' });
    expect(packAll).toHaveBeenCalledTimes(1);
    expect((await model.predict(speech)).frames).toBeGreaterThan(0);
    model.dispose();
  });

  it("'warm': one inference runs before load resolves; results unchanged", async () => {
    const predict = vi.spyOn(Emotion2Vec.prototype, 'predict');
    const progress = vi.fn();
    const warm = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm', ready: 'warm', progress });
    expect(predict).toHaveBeenCalledTimes(1);
    expect(progress).toHaveBeenLastCalledWith({ status: 'ready' });
    predict.mockRestore();
    const plain = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
    expect((await warm.predict(speech)).scores).toEqual((await plain.predict(speech)).scores);
    warm.dispose();
    plain.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});

describe('bad load options', () => {
  it.each([
    ['compute', { compute: 'int4' }, /compute must be one of 'float32', 'int8'; got the string "int4"/],
    ['ready', { ready: 'now' }, /ready must be one of 'loaded', 'packed', 'warm'; got the string "now"/],
  ])('%s: INVALID_ARGUMENT naming the values, before anything loads', async (_, options, message) => {
    const error = await Emotion2Vec.load(fixturePath('tiny'), options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toMatch(message);
  });
});

/** The public Emotion2Vec API on the tiny model: batches, leaks, bad input, disposal, label handling. */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioInputError, Emotion2Vec, UsageError } from '../../src/node.js';
import { useBackend } from '../support/backend.js';
import { fixturePath, loadNpy, maxAbsDiff } from '../support/fixtures.js';

const wave = (id: string) => loadNpy('tiny', `${id}.wave16k`).data;

describe('Emotion2Vec on the tiny model (wasm)', () => {
  let model: Emotion2Vec;
  beforeAll(async () => {
    await useBackend('wasm');
    model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
  });
  afterAll(() => model.dispose());

  it('reports what it loaded', () => {
    expect(model.backend).toBe('wasm');
    expect(model.embeddingDim).toBe(64);
    expect(model.minimumSamples).toBe(400);
    expect(model.labels).toHaveLength(9);
    expect(model.loadReport.layout).toBe('checkpoint');
    expect(model.loadReport.skippedTrainingOnly.every((k) => k.includes('.decoder.'))).toBe(true);
    expect(model.loadReport.skippedTrainingOnly).toHaveLength(6);
    expect(model.loadReport.unused).toEqual([]);
  });

  it('accepts a Float32Array at 16 kHz and { channels, sampleRate } alike', async () => {
    const a = await model.predict(wave('chirp16k'));
    const b = await model.predict({ channels: [wave('chirp16k')], sampleRate: 16000 });
    expect(b.scores).toEqual(a.scores);
    expect(a.durationSeconds).toBeCloseTo(1.5, 6);
  });

  it('gives each batch item the result it gets alone (padding masked all the way through)', async () => {
    const inputs = [wave('speech16k'), wave('short720'), wave('chirp16k'), wave('chirp16k').subarray(0, 5000)];
    const alone = await Promise.all(inputs.map((x) => model.predict(x, { granularity: 'frame', embedding: true })));
    for (const batchSize of [2, 4]) {
      const batched = await model.predictBatch(inputs, { granularity: 'frame', embedding: true, batchSize });
      batched.forEach((item, i) => {
        expect(item.ok).toBe(true);
        if (!item.ok) return;
        expect(item.prediction.embedding!.shape).toEqual(alone[i]!.embedding!.shape);
        expect(maxAbsDiff(item.prediction.embedding!.data, alone[i]!.embedding!.data)).toBeLessThan(2e-5);
        expect(maxAbsDiff(item.prediction.scores, alone[i]!.scores)).toBeLessThan(1e-5);
      });
    }
  });

  it('keeps the other items when one in a batch is bad', async () => {
    const results = await model.predictBatch([
      wave('chirp16k'),
      new Float32Array(0),
      'no/such/file.wav',
      wave('short720'),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, false, true]);
    expect(results[1]!.ok ? null : results[1]!.error.code).toBe('AUDIO_EMPTY');
    expect(results[2]!.ok ? null : results[2]!.error.code).toBe('AUDIO_FILE_NOT_FOUND');
  });

  it('leaks no tensor across repeated predictions', async () => {
    await model.predict(wave('chirp16k'), { granularity: 'frame', embedding: true });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await model.predict(wave('short720'), { embedding: true });
      await model.predict(wave('chirp16k'), { granularity: 'frame', embedding: true });
      await model.predictBatch([wave('short720'), wave('chirp16k')]);
      await model.predict(new Float32Array(10)).catch(() => undefined);
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('a backend failure mid-forward costs only its group, as INFERENCE_FAILED, and leaks nothing', async () => {
    // Stand-in for an out-of-memory or lost-context error thrown by tfjs inside the head.
    const network = (model as unknown as { network: { head: { apply: (x: tf.Tensor) => tf.Tensor } } }).network;
    const realApply = network.head.apply.bind(network.head);
    let calls = 0;
    network.head.apply = (x) => {
      calls++;
      if (calls === 1) throw new Error('simulated backend failure');
      return realApply(x);
    };
    try {
      // The first call fails (and warms up the kernels, so the count below is stable).
      await expect(model.predict(wave('short720'))).rejects.toMatchObject({
        code: 'INFERENCE_FAILED',
        message: expect.stringContaining('simulated backend failure'),
      });
      const before = tf.memory().numTensors;
      calls = 0;
      const results = await model.predictBatch([wave('short720'), wave('chirp16k')], { batchSize: 1 });
      expect(results.filter((r) => !r.ok).map((r) => (r.ok ? null : r.error.code))).toEqual(['INFERENCE_FAILED']);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      network.head.apply = realApply;
    }
  });

  it('reports the backend it runs on now (tfjs backends are process-wide)', async () => {
    expect(model.backend).toBe(tf.getBackend());
  });

  it('embedding: true is the only way to get an embedding, and frame granularity gives (T, D)', async () => {
    const frames = await model.predict(wave('chirp16k'), { granularity: 'frame', embedding: true });
    expect(frames.embedding!.shape).toEqual([74, 64]);
    const none = await model.predict(wave('chirp16k'), { granularity: 'frame', embedding: 1 as unknown as boolean });
    expect(none.embedding).toBeUndefined();
  });

  describe('bad input gets a typed error naming the problem', () => {
    const cases: [string, unknown, string, RegExp][] = [
      ['an empty array', new Float32Array(0), 'AUDIO_EMPTY', /empty/i],
      [
        '399 samples (one frame needs 400)',
        new Float32Array(399).fill(0.1),
        'AUDIO_TOO_SHORT',
        /399 samples.*at least 400/,
      ],
      [
        'NaN samples',
        Float32Array.from({ length: 800 }, (_, i) => (i === 17 ? NaN : 0.1)),
        'AUDIO_NOT_FINITE',
        /NaN|finite/i,
      ],
      [
        'Infinity samples',
        Float32Array.from({ length: 800 }, (_, i) => (i === 3 ? Infinity : 0.1)),
        'AUDIO_NOT_FINITE',
        /Infinity|finite/i,
      ],
      ['a number', 42, 'AUDIO_INVALID_TYPE', /number/],
      ['null', null, 'AUDIO_INVALID_TYPE', /null/],
      ['a plain object', { samples: [1, 2] }, 'AUDIO_INVALID_TYPE', /Float32Array/],
      ['channels without a sample rate', { channels: [new Float32Array(800)] }, 'AUDIO_SAMPLE_RATE', /sample ?rate/i],
    ];
    for (const [what, input, code, message] of cases) {
      it(what, async () => {
        const error = await model.predict(input as Float32Array).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(AudioInputError);
        expect((error as AudioInputError).code).toBe(code);
        expect((error as AudioInputError).message).toMatch(message);
      });
    }

    it('bad options', async () => {
      await expect(model.predict(wave('short720'), { granularity: 'word' as 'frame' })).rejects.toThrow(UsageError);
      await expect(model.predictBatch([wave('short720')], { batchSize: 0 })).rejects.toThrow(/batchSize/);
      await expect(model.predictBatch(wave('short720') as unknown as Float32Array[])).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('array of audio inputs'),
      });
    });
  });
});

describe('Emotion2Vec label handling and lifetime (cpu)', () => {
  beforeAll(() => useBackend('cpu'));
  const files = (tokens?: string) => ({
    'config.yaml': readFileSync(fixturePath('tiny', 'config.yaml')),
    'model.pt': readFileSync(fixturePath('tiny', 'model.pt')),
    ...(tokens === undefined ? {} : { 'tokens.txt': tokens }),
  });

  it('drops unuse* labels and renormalises their probability away, as upstream', async () => {
    const tokens = readFileSync(fixturePath('tiny', 'tokens.txt'), 'utf8').replace('<unk>', 'unuse_8');
    const model = await Emotion2Vec.load(files(tokens), { backend: 'cpu' });
    const prediction = await model.predict(wave('chirp16k'));
    expect(prediction.labels).toHaveLength(8);
    expect(prediction.labels).not.toContain('unuse_8');
    const logits = Array.from(loadNpy('tiny', 'chirp16k.logits').data.subarray(0, 8));
    const exps = logits.map((l) => Math.exp(l - Math.max(...logits)));
    expect(
      maxAbsDiff(
        prediction.scores,
        exps.map((e) => e / exps.reduce((a, b) => a + b)),
      ),
    ).toBeLessThan(1e-4);
    model.dispose();
  });

  it('without tokens.txt gives embeddings only (no head), like upstream without a vocabulary', async () => {
    const model = await Emotion2Vec.load(files(), { backend: 'cpu' });
    const prediction = await model.predict(wave('chirp16k'), { embedding: true });
    expect(prediction.labels).toEqual([]);
    expect(prediction.top).toBeNull();
    expect(maxAbsDiff(prediction.embedding!.data, loadNpy('tiny', 'chirp16k.utterance').data)).toBeLessThan(1e-4);
    expect(model.loadReport.unused).toEqual(['proj.weight', 'proj.bias']);
    model.dispose();
  });

  it('frees everything on dispose() and refuses to run afterwards', async () => {
    const before = tf.memory().numTensors;
    const model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'cpu' });
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(model.predict(wave('short720'))).rejects.toMatchObject({ code: 'MODEL_DISPOSED' });
  });
});

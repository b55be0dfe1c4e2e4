/**
 * Long audio on the tiny fixture model: timelines, the upstream-exact short path, stitched frames against a full
 * pass (bounded at the measured deviation plus a margin), frame scores, onFrames, live streams, and no leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emotion2Vec, type EmotionPrediction, type TimelineEntry } from '../../src/node.js';
import { decodeAudio } from '../../src/audio/decode.js';
import { prepareAudio } from '../../src/audio/prepare.js';
import { mixToMono } from '../../src/audio/decode.js';
import { useBackend } from '../support/backend.js';
import { fixturePath, loadNpy, maxAbsDiff, randomArray } from '../support/fixtures.js';

const truth = JSON.parse(readFileSync(fixturePath('long', 'phrases.json'), 'utf8')) as {
  duration: number;
  speech: { start: number; end: number }[];
};

let model: Emotion2Vec;
let phrases: Float32Array;
/** ~35 s: phrases, speech16k, phrases, speech16k — long enough for 4 windows, short enough for a full pass. */
let long: Float32Array;

beforeAll(async () => {
  await useBackend('wasm');
  model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
  phrases = (await prepareAudio(fixturePath('long', 'phrases.wav'))).waveform;
  const speech = (await prepareAudio(fixturePath('audio', 'speech16k.wav'))).waveform;
  long = concat([phrases, speech, phrases, speech]);
});
afterAll(() => model.dispose());

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((offset, p) => (out.set(p, offset), offset + p.length), 0);
  return out;
}

function coversInOrder(timeline: TimelineEntry[], duration: number): void {
  expect(timeline[0]!.start).toBe(0);
  timeline.forEach((entry, i) => {
    expect(entry.end).toBeGreaterThan(entry.start);
    if (i > 0) expect(entry.start).toBe(timeline[i - 1]!.end);
  });
  expect(timeline.at(-1)!.end).toBeCloseTo(duration, 9);
}

/** Per-frame comparison of two (T, D) arrays. */
function frameDeviation(reference: Float32Array, other: Float32Array, dim: number) {
  let squaredError = 0;
  let squaredNorm = 0;
  let minCosine = 1;
  for (let t = 0; t < reference.length / dim; t++) {
    let dot = 0;
    let a = 0;
    let b = 0;
    for (let d = 0; d < dim; d++) {
      const u = reference[t * dim + d]!;
      const v = other[t * dim + d]!;
      squaredError += (u - v) ** 2;
      squaredNorm += u * u;
      dot += u * v;
      a += u * u;
      b += v * v;
    }
    minCosine = Math.min(minCosine, dot / Math.sqrt(a * b));
  }
  return { relative: Math.sqrt(squaredError / squaredNorm), minCosine };
}

describe('short audio keeps the upstream-exact path', () => {
  it('timeline and frameScores leave the whole-file result equal to the upstream reference', async () => {
    const plain = await model.predict(fixturePath('audio', 'speech16k.wav'), { granularity: 'frame', embedding: true });
    const asked = await model.predict(fixturePath('audio', 'speech16k.wav'), {
      granularity: 'frame',
      embedding: true,
      timeline: true,
      frameScores: true,
    });
    expect(asked.scores).toEqual(plain.scores);
    expect(asked.embedding!.data).toEqual(plain.embedding!.data);
    expect(maxAbsDiff(asked.scores, loadNpy('tiny', 'speech16k.scores').data)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(asked.embedding!.data, loadNpy('tiny', 'speech16k.frames').data)).toBeLessThanOrEqual(1e-4);
    expect(asked.segmented).toBeUndefined();
  });

  it('without the new options the result has exactly the keys it had before', async () => {
    const result = await model.predict(phrases);
    expect(Object.keys(result).sort()).toEqual(['durationSeconds', 'frames', 'labels', 'quality', 'scores', 'top']);
  });
});

describe('timeline', () => {
  let result: EmotionPrediction;
  beforeAll(async () => {
    result = await model.predict(fixturePath('long', 'phrases.wav'), { timeline: true });
  });

  it('covers the whole file in order, speech where the phrases were placed (within 0.1 s)', () => {
    const timeline = result.timeline!;
    coversInOrder(timeline, result.durationSeconds);
    expect(result.durationSeconds).toBeCloseTo(truth.duration, 3);
    const speech = timeline.filter((e) => e.speech);
    expect(speech).toHaveLength(3);
    speech.forEach((entry, i) => {
      expect(Math.abs(entry.start - truth.speech[i]!.start)).toBeLessThanOrEqual(0.1);
      expect(Math.abs(entry.end - truth.speech[i]!.end)).toBeLessThanOrEqual(0.1);
    });
    expect(timeline.reduce((n, e) => n + e.frames, 0)).toBe(result.frames);
  });

  it("each segment's scores are exactly upstream's result for that segment's audio", async () => {
    for (const entry of result.timeline!.filter((e) => e.speech)) {
      // A segment owning frames [a, b) reads samples [320a, 320b + 80).
      const alone = await model.predict(
        phrases.slice(Math.round(entry.start * 16000), Math.round(entry.end * 16000) + 80),
      );
      expect(alone.scores).toEqual(entry.scores);
      expect(alone.top).toEqual(entry.top);
      expect(alone.frames).toBe(entry.frames);
    }
  });
});

describe('audio longer than one full pass', () => {
  let full: EmotionPrediction;
  let windowed: EmotionPrediction;
  beforeAll(async () => {
    full = await model.predict(long, { granularity: 'frame', embedding: true, maxFullPassSeconds: 60 });
    windowed = await model.predict(long, { granularity: 'frame', embedding: true, maxFullPassSeconds: 20 });
  });

  it('runs in 10 s windows with 1 s overlap and stitches frames to the full pass length', () => {
    expect(full.segmented).toBeUndefined();
    expect(windowed.segmented).toEqual({ segments: 4, overlapSeconds: 1 });
    expect(windowed.frames).toBe(full.frames);
    expect(windowed.embedding!.shape).toEqual(full.embedding!.shape);
  });

  it('stays close to a full pass: measured relative error 0.069, worst frame cosine 0.967, scores within 0.021', () => {
    const dim = full.embedding!.shape[1]!;
    const { relative, minCosine } = frameDeviation(full.embedding!.data, windowed.embedding!.data, dim);
    expect(relative).toBeLessThan(0.09);
    expect(minCosine).toBeGreaterThan(0.94);
    expect(maxAbsDiff(windowed.scores, full.scores)).toBeLessThan(0.035);
    expect(windowed.top!.label).toBe(full.top!.label);
  });

  it('measured: overlap is what keeps windows close (no overlap is 2x further off)', async () => {
    const noOverlap = await model.predict(long, {
      granularity: 'frame',
      embedding: true,
      maxFullPassSeconds: 20,
      segmentation: { overlapSeconds: 0 },
    });
    const dim = full.embedding!.shape[1]!;
    const withOverlap = frameDeviation(full.embedding!.data, windowed.embedding!.data, dim).relative;
    expect(frameDeviation(full.embedding!.data, noOverlap.embedding!.data, dim).relative).toBeGreaterThan(
      2 * withOverlap,
    );
  });

  it('onFrames receives the same stitched rows, in order, and the result holds no (T, D) array', async () => {
    const rows: Float32Array[] = [];
    const result = await model.predict(long, {
      granularity: 'frame',
      embedding: true,
      maxFullPassSeconds: 20,
      onFrames: (data, shape) => {
        expect(data.length).toBe(shape[0] * shape[1]);
        rows.push(data.slice());
      },
    });
    expect(result.embedding).toBeUndefined();
    expect(rows.length).toBe(4);
    expect(concat(rows)).toEqual(windowed.embedding!.data);
  });

  it('utterance embedding is the mean of the stitched frames', async () => {
    const result = await model.predict(long, { embedding: true, maxFullPassSeconds: 20 });
    const [frames, dim] = windowed.embedding!.shape as [number, number];
    const mean = new Float32Array(dim);
    for (let t = 0; t < frames; t++)
      for (let d = 0; d < dim; d++) mean[d] = mean[d]! + windowed.embedding!.data[t * dim + d]! / frames;
    expect(maxAbsDiff(result.embedding!.data, mean)).toBeLessThan(1e-4);
    expect(result.scores).toEqual(windowed.scores);
  });
});

describe('frame scores', () => {
  it('one row per frame summing to 1, smoothed by a centred moving average of the stated window', async () => {
    const raw = await model.predict(phrases, { frameScores: { smoothingSeconds: 0 } });
    const smooth = await model.predict(phrases, { frameScores: true });
    const { data, shape, smoothingSeconds, hopSeconds } = smooth.frameScores!;
    expect(shape).toEqual([raw.frames, raw.labels.length]);
    expect(smoothingSeconds).toBe(0.5);
    expect(hopSeconds).toBe(0.02);
    const labels = shape[1];
    for (const t of [0, 100, shape[0] - 1]) {
      const row = Array.from(data.subarray(t * labels, (t + 1) * labels));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      // 0.5 s = 25 frames: rows t-12..t+12 that exist.
      const from = Math.max(0, t - 12);
      const to = Math.min(shape[0], t + 13);
      for (let l = 0; l < labels; l++) {
        let sum = 0;
        for (let k = from; k < to; k++) sum += raw.frameScores!.data[k * labels + l]!;
        expect(row[l]).toBeCloseTo(sum / (to - from), 5);
      }
    }
  });

  it('refuses a bad window with a typed error', async () => {
    await expect(model.predict(phrases, { frameScores: { smoothingSeconds: -1 } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('model.stream()', () => {
  it('gives the same speech segments and scores as the file path, pushed in random chunks at 16 kHz', async () => {
    const file = await model.predict(phrases, { timeline: true });
    const seen: TimelineEntry[] = [];
    const stream = model.stream({ onSegment: (entry) => seen.push(entry) });
    const returned: TimelineEntry[] = [];
    const sizes = randomArray(50, 5);
    for (let start = 0, k = 0; start < phrases.length; k++) {
      const size = 1 + Math.floor(Math.abs(sizes[k % 50]!) * 6000);
      returned.push(...(await stream.push(phrases.subarray(start, start + size))));
      start += size;
    }
    returned.push(...(await stream.end()));
    const speech = file.timeline!.filter((e) => e.speech);
    expect(returned).toEqual(speech);
    expect(seen).toEqual(speech);
  });

  it('reports a segment before the stream ends (bounded latency)', async () => {
    const stream = model.stream();
    const firstEnd = truth.speech[0]!.end;
    // Up to 0.3 s hangover + a feature frame after the phrase ends.
    const early = await stream.push(phrases.subarray(0, Math.round((firstEnd + 0.5) * 16000)));
    expect(early).toHaveLength(1);
    await stream.end();
  });

  it('resamples chunks at the source rate exactly as the file path does (44.1 kHz stereo source)', async () => {
    const path = fixturePath('audio', 'speech44k_stereo.wav');
    const decoded = await decodeAudio(readFileSync(path));
    const mono = mixToMono(decoded.channels);
    const file = await model.predict(path, {
      timeline: true,
      segmentation: { maxSegmentSeconds: 2, overlapSeconds: 0.5 },
    });
    const stream = model.stream({
      sampleRate: decoded.sampleRate,
      includeNonSpeech: true,
      segmentation: { maxSegmentSeconds: 2, overlapSeconds: 0.5 },
    });
    const entries: TimelineEntry[] = [];
    for (let start = 0; start < mono.length; start += 4410)
      entries.push(...(await stream.push(mono.subarray(start, start + 4410))));
    entries.push(...(await stream.end()));
    expect(entries).toEqual(file.timeline);
  });

  it('refuses what is not a Float32Array of finite samples, and push after end', async () => {
    const stream = model.stream();
    expect(() => stream.push([0.1, 0.2] as never)).toThrow(expect.objectContaining({ code: 'AUDIO_INVALID_TYPE' }));
    expect(() => stream.push(Float32Array.from([0, NaN]))).toThrow(
      expect.objectContaining({ code: 'AUDIO_NOT_FINITE' }),
    );
    await stream.end();
    await expect(stream.push(new Float32Array(10))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('a MediaStream outside a browser is a clear usage error', () => {
    expect(() => model.stream({ mediaStream: { getAudioTracks: () => [{}] } })).toThrow(/Web Audio API/);
  });
});

describe('tensors', () => {
  it('long audio: the timeline is the speech segmentation over the whole file, frame scores a row per frame', async () => {
    const result = await model.predict(long, { timeline: true, frameScores: true, maxFullPassSeconds: 20 });
    coversInOrder(result.timeline!, result.durationSeconds);
    const speech = result.timeline!.filter((e) => e.speech);
    truth.speech.forEach((phrase, i) => expect(Math.abs(speech[i]!.start - phrase.start)).toBeLessThanOrEqual(0.1));
    expect(result.frameScores!.shape).toEqual([result.frames, result.labels.length]);
  });

  it('no tensor is left behind by timelines, long audio, frame scores or streams', async () => {
    const before = tf.memory().numTensors;
    await model.predict(phrases, { timeline: true, frameScores: true, granularity: 'frame', embedding: true });
    await model.predict(long, {
      timeline: true,
      frameScores: true,
      granularity: 'frame',
      embedding: true,
      maxFullPassSeconds: 20,
    });
    const stream = model.stream();
    await stream.push(phrases);
    await stream.end();
    expect(tf.memory().numTensors).toBe(before);
  });
});

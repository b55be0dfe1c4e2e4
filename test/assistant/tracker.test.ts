/** EmotionTracker: window, dominant/rising/falling labels, the volatility index by hand, the callback on crossing. */
import '../../src/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmotionTracker, type TrackerReport } from '../../src/assistant/tracker.js';
import { analyzeQuality } from '../../src/audio/quality.js';
import { Emotion2Vec, type EmotionPrediction } from '../../src/model/emotion2vec.js';
import { fixturePath } from '../support/fixtures.js';

const LABELS = ['生气/angry', '开心/happy', '难过/sad'];
const QUALITY = analyzeQuality(new Float32Array(16_000).fill(0.1), 16_000);

/** A prediction with the given scores and a 2-D utterance embedding. */
function prediction(scores: number[], embedding: [number, number]): EmotionPrediction {
  const index = scores.indexOf(Math.max(...scores));
  return {
    labels: LABELS,
    scores,
    top: { label: LABELS[index]!, name: LABELS[index]!.split('/')[1]!, score: scores[index]!, index },
    frames: 50,
    durationSeconds: 1,
    quality: QUALITY,
    embedding: { data: Float32Array.from(embedding), shape: [2], granularity: 'utterance' },
  };
}

describe('EmotionTracker', () => {
  it('reports dominant, rising and falling labels and the mean L2 distance between consecutive embeddings', () => {
    const tracker = new EmotionTracker({ window: 3 });
    tracker.push(prediction([0.8, 0.1, 0.1], [0, 0]));
    expect(tracker.report()).toMatchObject({
      count: 1,
      volatility: null,
      rising: null,
      latest: 'angry',
      dominant: 'angry',
    });
    tracker.push(prediction([0.5, 0.4, 0.1], [3, 4]));
    const report = tracker.push(prediction([0.2, 0.7, 0.1], [3, 4]));
    // Distances 5 and 0.
    expect(report.volatility).toBeCloseTo(2.5, 12);
    expect(report).toMatchObject({ count: 3, latest: 'happy', dominant: 'angry', rising: 'happy', falling: 'angry' });
    expect(report.trend.map((t) => t.slope)).toEqual([
      expect.closeTo(-0.3, 12),
      expect.closeTo(0.3, 12),
      expect.closeTo(0, 12),
    ]);

    // The window keeps the last 3: the first (at [0, 0]) leaves, distances become 0 and 1.
    const later = tracker.push(prediction([0.1, 0.8, 0.1], [3, 5]));
    expect(later.count).toBe(3);
    expect(later.volatility).toBeCloseTo(0.5, 12);
    expect(later.dominant).toBe('happy');
  });

  it('calls back once when the volatility rises over the threshold, again only after it fell back', () => {
    const calls: TrackerReport[] = [];
    const tracker = new EmotionTracker({
      window: 2,
      volatilityThreshold: 1,
      onVolatile: (report) => calls.push(report),
    });
    tracker.push(prediction([0.8, 0.1, 0.1], [0, 0]));
    tracker.push(prediction([0.8, 0.1, 0.1], [0.5, 0]));
    expect(calls).toHaveLength(0);
    tracker.push(prediction([0.1, 0.8, 0.1], [2.5, 0]));
    expect(calls).toHaveLength(1);
    expect(calls[0]!.volatility).toBeCloseTo(2, 12);
    tracker.push(prediction([0.1, 0.1, 0.8], [5, 0]));
    expect(calls).toHaveLength(1);
    tracker.push(prediction([0.1, 0.1, 0.8], [5, 0]));
    tracker.push(prediction([0.8, 0.1, 0.1], [0, 0]));
    expect(calls).toHaveLength(2);
  });

  it('tracks the trend of results without embeddings, and says that the volatility needs them', () => {
    const tracker = new EmotionTracker({ window: 3 });
    const bare = (scores: number[]) => {
      const { embedding: _dropped, ...noEmbedding } = prediction(scores, [0, 0]);
      return noEmbedding;
    };
    expect(tracker.push(bare([0.8, 0.1, 0.1]))).toMatchObject({ count: 1, volatility: null, volatilityNote: null });
    const report = tracker.push(bare([0.2, 0.7, 0.1]));
    expect(report).toMatchObject({ count: 2, latest: 'happy', rising: 'happy', falling: 'angry', volatility: null });
    expect(report.trend[1]!.slope).toBeCloseTo(0.6, 12);
    expect(report.volatilityNote).toMatch(/volatility needs the utterance embedding.*embedding: true/);
    // With embeddings again, volatility counts the consecutive pairs that have both.
    tracker.push(prediction([0.2, 0.7, 0.1], [0, 0]));
    const mixed = tracker.push(prediction([0.2, 0.7, 0.1], [3, 4]));
    expect(mixed.volatility).toBeCloseTo(5, 12);
    expect(mixed.volatilityNote).not.toBeNull(); // one of the 3 kept has none
    expect(tracker.push(prediction([0.2, 0.7, 0.1], [3, 4])).volatilityNote).toBeNull();
  });

  it('refuses results from another model, and bad options', () => {
    const tracker = new EmotionTracker();
    tracker.push(prediction([0.8, 0.1, 0.1], [0, 0]));
    expect(() => tracker.push({ ...prediction([0.8, 0.1, 0.1], [0, 0]), labels: ['a', 'b', 'c'] })).toThrow(
      /another model/,
    );
    expect(() => new EmotionTracker({ window: 1 })).toThrow(/at least 2/);
    tracker.clear();
    expect(tracker.report().count).toBe(0);
  });

  describe('on the tiny model', () => {
    let model: Emotion2Vec;
    beforeAll(async () => {
      model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
    });
    afterAll(() => model?.dispose());

    it('tracks real predictions: volatility is the mean distance of their embeddings', async () => {
      const tracker = new EmotionTracker();
      const results = [];
      for (const name of ['speech16k.wav', 'chirp16k.wav', 'speech16k.wav']) {
        const result = await model.predict(fixturePath('audio', name), { embedding: true });
        results.push(result);
        tracker.push(result);
      }
      const d = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((sum, v, i) => sum + (v - b[i]!) ** 2, 0));
      const [a, b, c] = results.map((r) => r.embedding!.data);
      expect(tracker.report().volatility).toBeCloseTo((d(a!, b!) + d(b!, c!)) / 2, 5);
      expect(tracker.report().volatility).toBeGreaterThan(0);
    });
  });
});

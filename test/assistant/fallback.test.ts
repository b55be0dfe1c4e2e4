/** decideFallback on real predictions of the tiny model and on records with one measurement changed at a time. */
import '../../src/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideFallback, DEFAULT_REPLIES } from '../../src/assistant/fallback.js';
import type { QualityReport } from '../../src/audio/quality.js';
import { Emotion2Vec } from '../../src/model/emotion2vec.js';
import { toResultRecord, type ResultRecord } from '../../src/results/record.js';
import { fixturePath } from '../support/fixtures.js';

let model: Emotion2Vec;
let record: ResultRecord;

/** The speech record with a quality or label change. */
function variant(change: { quality?: Partial<QualityReport>; emotion?: string; confidence?: number }): ResultRecord {
  return {
    ...record,
    ...('emotion' in change ? { emotion: change.emotion! } : {}),
    ...('confidence' in change ? { confidence: change.confidence! } : {}),
    quality: { ...record.quality, ...change.quality },
  };
}

beforeAll(async () => {
  model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
  const prediction = await model.predict(fixturePath('audio', 'speech16k.wav'));
  // A clean, long, confident record to start from (espeak's speech has pauses, but not quiet enough to count
  // as clean for every threshold: its noise estimate is set to 40 dB); each test changes one thing.
  const real = toResultRecord(prediction, { input: 'a.wav', key: 'a', model: 'tiny', granularity: 'utterance' });
  expect(real.quality.snrDb).toBeGreaterThan(0);
  record = { ...real, emotion: 'happy', emotion_zh: '开心', confidence: 0.9, quality: { ...real.quality, snrDb: 40 } };
});

afterAll(() => model?.dispose());

describe('decideFallback', () => {
  it('responds to a clear, confident result', () => {
    expect(decideFallback(record)).toEqual({
      action: 'respond',
      reason: 'confident',
      emotion: 'happy',
      confidence: 0.9,
      suggestedReply: null,
    });
  });

  it.each([
    ['too_short', { quality: { durationSeconds: 0.4 } }],
    ['too_quiet', { quality: { rmsDbfs: -55 } }],
    ['clipped', { quality: { clippedFraction: 0.02 } }],
    ['noisy', { quality: { snrDb: 4 } }],
    ['unknown', { emotion: 'unknown' }],
    ['other', { emotion: 'other' }],
    ['low_confidence', { confidence: 0.3 }],
  ] as const)('asks for clarification: %s', (reason, change) => {
    const decision = decideFallback(variant(change));
    expect(decision).toMatchObject({
      action: 'request_clarification',
      reason,
      suggestedReply: DEFAULT_REPLIES[reason],
    });
  });

  it('checks the audio before the label, and takes thresholds and replies from the caller', () => {
    expect(decideFallback(variant({ emotion: 'unknown', quality: { durationSeconds: 0.2 } })).reason).toBe('too_short');
    const lowish = variant({ confidence: 0.55, quality: { snrDb: 30 } });
    expect(decideFallback(lowish).action).toBe('respond');
    expect(decideFallback(lowish, { minConfidence: 0.6, replies: { low_confidence: 'Say again?' } })).toMatchObject({
      reason: 'low_confidence',
      suggestedReply: 'Say again?',
    });
    expect(decideFallback(variant({ quality: { snrDb: 12 } }), { minSnrDb: 15 }).reason).toBe('noisy');
    expect(decideFallback(variant({ quality: { snrDb: null } })).action).toBe('respond');
  });

  it('reads predictions as well as records: the real tiny prediction of short720.wav is too short', async () => {
    const prediction = await model.predict(fixturePath('audio', 'short720.wav'));
    expect(decideFallback(prediction)).toMatchObject({ action: 'request_clarification', reason: 'too_short' });
    expect(() => decideFallback({} as ResultRecord)).toThrow(/Expected a prediction/);
  });
});

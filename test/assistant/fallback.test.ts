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
let realRecord: ResultRecord;

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
  realRecord = real;
  expect(real.quality.snrDb).toBeGreaterThan(0);
  record = { ...real, emotion: 'happy', emotion_zh: '开心', confidence: 0.9, quality: { ...real.quality, snrDb: 40 } };
});

afterAll(() => model?.dispose());

describe('decideFallback', () => {
  it('responds to a clear, confident result, with the field names the record carries', () => {
    const decision = decideFallback(record);
    expect(decision).toEqual({
      fallback_action: 'respond',
      fallback_reason: 'confident',
      suggested_response: null,
      emotion: 'happy',
      confidence: 0.9,
    });
    // The record of the real prediction carries the same decision in the same fields.
    const real = decideFallback(realRecord);
    expect({
      fallback_action: realRecord.fallback_action,
      fallback_reason: realRecord.fallback_reason,
      suggested_response: realRecord.suggested_response,
    }).toEqual({
      fallback_action: real.fallback_action,
      fallback_reason: real.fallback_reason,
      suggested_response: real.suggested_response,
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
      fallback_action: 'request_clarification',
      fallback_reason: reason,
      suggested_response: DEFAULT_REPLIES.zh[reason],
    });
    expect(decideFallback(variant(change), { language: 'en' }).suggested_response).toBe(DEFAULT_REPLIES.en[reason]);
  });

  it('checks the audio before the label, and takes thresholds and replies from the caller', () => {
    expect(decideFallback(variant({ emotion: 'unknown', quality: { durationSeconds: 0.2 } })).fallback_reason).toBe(
      'too_short',
    );
    const lowish = variant({ confidence: 0.55, quality: { snrDb: 30 } });
    expect(decideFallback(lowish).fallback_action).toBe('respond');
    expect(decideFallback(lowish, { minConfidence: 0.6, replies: { low_confidence: 'Say again?' } })).toMatchObject({
      fallback_reason: 'low_confidence',
      suggested_response: 'Say again?',
    });
    expect(decideFallback(variant({ quality: { snrDb: 12 } }), { minSnrDb: 15 }).fallback_reason).toBe('noisy');
    expect(decideFallback(variant({ quality: { snrDb: null } })).fallback_action).toBe('respond');
    expect(() => decideFallback(record, { language: 'de' as 'en' })).toThrow(/'zh' or 'en'/);
  });

  it('reads predictions as well as records: the real tiny prediction of short720.wav is too short', async () => {
    const prediction = await model.predict(fixturePath('audio', 'short720.wav'));
    expect(decideFallback(prediction)).toMatchObject({
      fallback_action: 'request_clarification',
      fallback_reason: 'too_short',
      suggested_response: '您说得有点短，能再多说一点吗？',
    });
    expect(() => decideFallback({} as ResultRecord)).toThrow(/Expected a prediction/);
    // A result.json of version 0.1 (scores as a list) is named as such, not misread.
    const old = { ...record, scores: [{ label: '开心/happy', score: 0.9 }] } as unknown as ResultRecord;
    expect(() => decideFallback(old)).toThrow(/version 0.1/);
  });
});

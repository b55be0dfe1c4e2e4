/**
 * The record (src/results/record.ts): the WebUI's result.json fields in its form, the fallback policy's decision,
 * our own fields apart, label names for the emotion2vec+ labels and for a trained head's, and the JSON Schema.
 */
import { describe, expect, it } from 'vitest';
import { analyzeQuality } from '../../src/audio/quality.js';
import type { EmotionPrediction } from '../../src/model/emotion2vec.js';
import { toFrameScores } from '../../src/model/frame-scores.js';
import { headScores } from '../../src/model/scores.js';
import { DEFAULT_REPLIES } from '../../src/results/fallback.js';
import { MAX_INLINE_FRAME_ROWS } from '../../src/results/frame-series.js';
import { labelKeys, localTimestamp, toErrorRecord, toInlineRecord, toResultRecord } from '../../src/results/record.js';
import { AudioInputError } from '../../src/errors.js';
import { expectValidRecord, expectValidResult } from '../support/result-schema.js';

/** tokens.txt of the emotion2vec+ models, in order. */
const TOKENS = [
  '生气/angry',
  '厌恶/disgusted',
  '恐惧/fearful',
  '开心/happy',
  '中立/neutral',
  '其他/other',
  '难过/sad',
  '吃惊/surprised',
  '<unk>',
];
const NAMES = ['angry', 'disgusted', 'fearful', 'happy', 'neutral', 'other', 'sad', 'surprised', 'unknown'];

/** 1.5 s of speech-like audio: a loud tone, a near-silent pause, the tone again (clean: no fallback for audio). */
function cleanQuality() {
  const samples = new Float32Array(24_000).map((_, i) =>
    i >= 8_000 && i < 16_000 ? 1e-4 * Math.sin(i) : 0.3 * Math.sin((2 * Math.PI * 220 * i) / 16_000),
  );
  return analyzeQuality(samples, 16_000);
}

/** A prediction whose head gave these logits (so top, labels and scores are the model's own code's). */
function prediction(logits: number[], tokens: readonly string[] = TOKENS): EmotionPrediction {
  const { labels, scores, top } = headScores(logits, tokens);
  return { labels, scores, top, frames: 74, durationSeconds: 1.5, quality: cleanQuality() };
}

const CONTEXT = { input: 'clips/speech.wav', key: 'speech', model: 'tiny', granularity: 'utterance' as const };
const AT = new Date(2026, 0, 4, 22, 30, 0);

describe('the result record', () => {
  it("starts with the WebUI's result.json: emotion, emotion_zh, confidence, scores keyed by the nine names, granularity, timestamp", () => {
    const happy = prediction([0, 0, 0, 4, 1, 0, 0, 0, 0]);
    const record = toResultRecord(happy, { ...CONTEXT, timestamp: AT });
    expect(Object.keys(record).slice(0, 9)).toEqual([
      'emotion',
      'emotion_zh',
      'confidence',
      'scores',
      'granularity',
      'timestamp',
      'fallback_action',
      'suggested_response',
      'fallback_reason',
    ]);
    expect(record).toMatchObject({
      emotion: 'happy',
      emotion_zh: '开心',
      confidence: happy.scores[3],
      granularity: 'utterance',
      timestamp: '2026-01-04 22:30:00',
      timestamp_iso: AT.toISOString(),
      fallback_action: 'respond',
      suggested_response: null,
      fallback_reason: 'confident',
      input: 'clips/speech.wav',
      key: 'speech',
      duration: 1.5,
      frames: 74,
      model: 'tiny',
    });
    expect(Object.keys(record.scores)).toEqual(NAMES);
    expect(Object.values(record.scores)).toEqual(happy.scores);
    expect(record.scores.happy).toBe(happy.scores[3]);
    expect(record.labels[3]).toEqual({ name: 'happy', label: '开心/happy', zh: '开心', en: 'happy' });
    expect(record.labels[8]).toEqual({ name: 'unknown', label: '<unk>', zh: '未知', en: 'unknown' });
    // The library's top label agrees with the record: tokens.txt's label, and the name results use.
    expect(happy.top).toMatchObject({ label: '开心/happy', name: 'happy' });
    expectValidResult(record);
  });

  it('<unk> is "unknown" / 未知, and the fallback asks again: in Chinese by default, in English on request', () => {
    const unknown = prediction([0, 0, 0, 0, 0, 0, 0, 0, 3]);
    expect(unknown.top).toMatchObject({ label: '<unk>', name: 'unknown' });
    const record = toResultRecord(unknown, CONTEXT);
    expect(record).toMatchObject({
      emotion: 'unknown',
      emotion_zh: '未知',
      fallback_action: 'request_clarification',
      fallback_reason: 'unknown',
      suggested_response: '抱歉我没太听清，您能再说一遍吗？',
    });
    const english = toResultRecord(unknown, { ...CONTEXT, fallback: { language: 'en' } });
    expect(english.suggested_response).toBe(DEFAULT_REPLIES.en.unknown);
    expectValidResult(record);
    expectValidResult(english);
    expect(() => toResultRecord(unknown, { ...CONTEXT, fallback: { language: 'fr' as 'en' } })).toThrow(/'zh' or 'en'/);
  });

  it("names a trained head's labels by their English names as written, and by the full label where two collide", () => {
    const tokens = ['calm', 'Frustrated', '开心/happy', 'happy'];
    expect(labelKeys(tokens)).toEqual(['calm', 'Frustrated', '开心/happy', 'happy']);
    expect(labelKeys(['a/x', 'b/x', 'x', 'y'])).toEqual(['a/x', 'b/x', 'x', 'y']);
    expect(labelKeys(['x', 'x'])).toEqual(['x#0', 'x#1']);
    const head = prediction([0, 3, 0, 0], tokens);
    const record = toResultRecord(head, CONTEXT);
    expect(record).toMatchObject({ emotion: 'Frustrated', emotion_zh: null });
    expect(Object.keys(record.scores)).toEqual(['calm', 'Frustrated', '开心/happy', 'happy']);
    expectValidResult(record);
  });

  it('an embedding-only model has no emotion, no scores, and the fallback says so', () => {
    const { labels, scores, top } = headScores(null, []);
    const record = toResultRecord({ ...prediction([0]), labels, scores, top }, CONTEXT);
    expect(record).toMatchObject({
      emotion: null,
      emotion_zh: null,
      confidence: null,
      scores: {},
      labels: [],
      fallback_action: 'request_clarification',
      fallback_reason: 'no_labels',
    });
    expectValidResult(record);
  });

  it('inline: the frame series (at most MAX_INLINE_FRAME_ROWS rows unless the full one is asked for) and the speech-only timeline', () => {
    const frames = 4500;
    const base = prediction([0, 0, 0, 4, 1, 0, 0, 0, 0]);
    const raw = new Float32Array(frames * 9).map((_, i) => ((i % 9) + 1) / 45);
    const frameScores = toFrameScores({ labels: base.labels, data: raw }, frames, 0.5);
    const withFrames: EmotionPrediction = {
      ...base,
      frames,
      frameScores,
      timeline: [
        { start: 0, end: 1, speech: false, top: base.top, scores: base.scores, frames: 50 },
        { start: 1, end: 90, speech: true, top: base.top, scores: base.scores, frames: 4450 },
      ],
    };
    const context = { ...CONTEXT, granularity: 'frame' as const };
    const inline = toInlineRecord(withFrames, context);
    const series = inline.frame_scores!;
    expect(series).toMatchObject({ labels: NAMES, frames, step: 3, rows: 1500, hop_seconds: 0.02 });
    expect('raw' in series && series.raw).toHaveLength(1500);
    expect('time' in series && series.time.slice(0, 3)).toEqual([0, 0.06, 0.12]);
    expect(inline.timeline![0]).toMatchObject({ speech: false, top: null, scores: [] });
    expectValidResult(inline);
    const full = toInlineRecord(withFrames, { ...context, fullFrameSeries: true }).frame_scores!;
    expect(full).toMatchObject({ step: 1, rows: frames });
    expect(MAX_INLINE_FRAME_ROWS).toBe(2000);
  });

  it('a failed input is an error record the schema takes too', () => {
    const failed = toErrorRecord(new AudioInputError('AUDIO_DECODE', 'not audio'), { input: 'a.wav', key: 'a' });
    expect(failed).toEqual({ input: 'a.wav', key: 'a', error: { code: 'AUDIO_DECODE', message: 'not audio' } });
    expectValidRecord(failed);
    expect(localTimestamp(new Date(2026, 10, 5, 7, 8, 9))).toBe('2026-11-05 07:08:09');
  });
});

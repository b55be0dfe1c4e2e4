import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { AudioInputError, InferenceError, UsageError } from '../../src/errors.js';
import { isPoison, parseFailedReason, toDeadLetter, toJobError } from '../../src/queue/dead-letter.js';
import { jobIdForKey, parseAnalysisJob } from '../../src/queue/job.js';
import { checkQueueName, parseRedisUrl, redactPassword } from '../../src/queue/connection.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as UsageError).code;
  }
  return 'no error';
};

describe('job schema', () => {
  it('fills analyze defaults and keeps what it is given', () => {
    expect(parseAnalysisJob({ input: '/a/b.wav', key: 'b' })).toEqual({
      input: '/a/b.wav',
      key: 'b',
      options: {
        granularity: 'utterance',
        embedding: false,
        trimSilence: false,
        strict: false,
        processedAudio: 'pcm16',
        timeline: false,
        plot: false,
        replyLanguage: 'zh',
      },
    });
    expect(parseAnalysisJob({ input: '/a/b.wav', key: 'b', listedKey: 'utt 1/b' }).listedKey).toBe('utt 1/b');
    expect(
      parseAnalysisJob({ input: 'https://x/y.mp3', key: 'y', options: { granularity: 'frame', embedding: true } })
        .options,
    ).toMatchObject({ granularity: 'frame', embedding: true });
    expect(
      parseAnalysisJob({ input: '/a/b.wav', key: 'b', options: { timeline: true, plot: true } }).options,
    ).toMatchObject({ timeline: true, plot: true });
    // A job queued before the timeline options existed still parses, without a timeline.
    const old = {
      input: '/a/b.wav',
      key: 'b',
      options: { granularity: 'utterance', embedding: false, trimSilence: false, strict: false, processedAudio: true },
    };
    // ... and its processedAudio: true keeps its meaning then: the float32 file 0.1 wrote.
    expect(parseAnalysisJob(old).options).toMatchObject({ timeline: false, plot: false, processedAudio: 'float32' });
  });

  it('refuses malformed jobs from Redis with JOB_INVALID: keys that are not one safe folder name, unknown or mistyped options', () => {
    for (const data of [
      null,
      [],
      'a.wav',
      { key: 'a' },
      { input: '', key: 'a' },
      { input: 'a\0.wav', key: 'a' },
      { input: 'a.wav', key: '../escape' },
      { input: 'a.wav', key: 'a/b' },
      { input: 'a.wav', key: '..' },
      { input: 'a.wav', key: '' },
      { input: 'a.wav', key: 'con' },
      { input: 'a.wav', key: 'a', options: { granularity: 'word' } },
      { input: 'a.wav', key: 'a', options: { embedding: 'yes' } },
      { input: 'a.wav', key: 'a', options: { timeline: 'yes' } },
      { input: 'a.wav', key: 'a', options: { plot: 1 } },
      { input: 'a.wav', key: 'a', options: { model: 'other' } },
      { input: 'a.wav', key: 'a', listedKey: 7 },
    ]) {
      expect(
        codeOf(() => parseAnalysisJob(data)),
        JSON.stringify(data),
      ).toBe('JOB_INVALID');
    }
  });

  it('job ids are one per key, never contain ":" and are never all digits (BullMQ refuses both)', () => {
    expect(jobIdForKey('123')).toBe('key-123');
    expect(jobIdForKey('a:b')).not.toContain(':');
    expect(jobIdForKey('a b')).toBe(jobIdForKey('a b'));
    expect(jobIdForKey('a_b')).not.toBe(jobIdForKey('a:b'));
  });

  it('checks --redis URLs and queue names before connecting, and keeps passwords out of messages', () => {
    expect(codeOf(() => parseRedisUrl('localhost:6379'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parseRedisUrl('http://127.0.0.1:6379'))).toBe('INVALID_ARGUMENT');
    expect(parseRedisUrl('rediss://h:1/2').port).toBe('1');
    expect(codeOf(() => checkQueueName('a:b'))).toBe('INVALID_ARGUMENT');
    expect(redactPassword('redis://:secret@h:1')).not.toContain('secret');
  });
});

describe('dead-letter policy', () => {
  it('typed audio errors and invalid jobs are poison (not retried); everything else is retried', () => {
    expect(isPoison(new AudioInputError('AUDIO_DECODE', 'x'))).toBe(true);
    expect(isPoison(new UsageError('JOB_INVALID', 'x'))).toBe(true);
    expect(isPoison(new InferenceError('INFERENCE_FAILED', 'x'))).toBe(false);
    expect(isPoison(new Error('EIO'))).toBe(false);
    expect(toJobError(new AudioInputError('AUDIO_EMPTY', 'empty'))).toBeInstanceOf(UnrecoverableError);
    expect(toJobError(new Error('EIO'))).not.toBeInstanceOf(UnrecoverableError);
  });

  it("the error code survives the round trip through BullMQ's failedReason; a job stalled too often is JOB_STALLED", () => {
    expect(parseFailedReason(toJobError(new AudioInputError('AUDIO_DECODE', 'bad: header\nline 2')).message)).toEqual({
      code: 'AUDIO_DECODE',
      message: 'bad: header\nline 2',
    });
    expect(parseFailedReason(toJobError(new Error('disk full')).message)).toEqual({
      code: 'INTERNAL',
      message: 'disk full',
    });
    expect(parseFailedReason('job stalled more than allowable limit').code).toBe('JOB_STALLED');
    expect(parseFailedReason('something else').code).toBe('INTERNAL');
    expect(toJobError(new Error('x'.repeat(5000))).message.length).toBeLessThanOrEqual(1000);
    expect(
      toDeadLetter({
        id: 'key-a',
        data: { input: '/a.wav', key: 'a' },
        failedReason: 'AUDIO_EMPTY: empty',
        attemptsMade: 1,
      }),
    ).toEqual({
      input: '/a.wav',
      key: 'a',
      error: { code: 'AUDIO_EMPTY', message: 'empty' },
      jobId: 'key-a',
      attempts: 1,
    });
  });
});

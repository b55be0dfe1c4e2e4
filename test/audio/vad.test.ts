/** Voice-activity segmentation: boundaries on placed silences, chunk independence, limits, options. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { prepareAudio } from '../../src/audio/prepare.js';
import { installNodePlatform } from '../../src/node-platform.js';
import { frameSeconds } from '../../src/audio/frame-geometry.js';
import { planSegments, segmentAudio, SpeechSegmenter, type Segment } from '../../src/audio/vad.js';
import { resample, StreamingResampler } from '../../src/audio/resample.js';
import { SampleBuffer } from '../../src/audio/sample-buffer.js';
import { fixturePath, randomArray } from '../support/fixtures.js';

// The phrases are read from a file path, which needs Node's file hooks.
installNodePlatform();

const truth = JSON.parse(readFileSync(fixturePath('long', 'phrases.json'), 'utf8')) as {
  duration: number;
  speech: { start: number; end: number }[];
};
const phrases = async () => (await prepareAudio(fixturePath('long', 'phrases.wav'))).waveform;

function inChunks(waveform: Float32Array, seed: number, push: (chunk: Float32Array) => void): void {
  const sizes = randomArray(64, seed);
  for (let start = 0, k = 0; start < waveform.length; k++) {
    const size = 1 + Math.floor(Math.abs(sizes[k % sizes.length]!) * 9000);
    push(waveform.subarray(start, start + size));
    start += size;
  }
}

function covers(segments: Segment[], frames: number): void {
  expect(segments[0]!.startFrame).toBe(0);
  segments.forEach((s, i) => {
    expect(s.endFrame).toBeGreaterThan(s.startFrame);
    if (i > 0) expect(s.startFrame).toBe(segments[i - 1]!.endFrame);
  });
  expect(segments.at(-1)!.endFrame).toBe(frames);
}

describe('segmentAudio on espeak-ng phrases separated by placed silences (test/fixtures/long)', () => {
  it('finds each phrase within 0.1 s of where it was placed, and silence between', async () => {
    const segments = segmentAudio(await phrases());
    const speech = segments.filter((s) => s.speech);
    expect(speech).toHaveLength(truth.speech.length);
    speech.forEach((s, i) => {
      expect(Math.abs(frameSeconds(s.startFrame) - truth.speech[i]!.start)).toBeLessThanOrEqual(0.1);
      expect(Math.abs(frameSeconds(s.endFrame) - truth.speech[i]!.end)).toBeLessThanOrEqual(0.1);
    });
    expect(segments.map((s) => s.speech)).toEqual([false, true, false, true, false, true, false]);
  });

  it('covers the whole audio in order', async () => {
    const waveform = await phrases();
    covers(segmentAudio(waveform), Math.ceil(waveform.length / 320));
  });

  it('gives the same segments whatever the chunking', async () => {
    const waveform = await phrases();
    for (const options of [
      {},
      { maxSegmentSeconds: 1, overlapSeconds: 0.4 },
      { mode: 'fixed' as const, maxSegmentSeconds: 2 },
    ]) {
      const whole = segmentAudio(waveform, options);
      const segmenter = new SpeechSegmenter(options);
      const chunked: Segment[] = [];
      inChunks(waveform, 7, (chunk) => chunked.push(...segmenter.push(chunk)));
      chunked.push(...segmenter.end());
      expect(chunked).toEqual(whole);
    }
  });

  it('cuts speech longer than maxSegmentSeconds into pieces marked for shared context', async () => {
    const waveform = await phrases();
    const segments = segmentAudio(waveform, { maxSegmentSeconds: 1, overlapSeconds: 0.4 });
    covers(segments, Math.ceil(waveform.length / 320));
    // Pieces are at most the maximum, plus a short tail merged at the very end.
    for (const s of segments) expect(s.endFrame - s.startFrame).toBeLessThanOrEqual(50);
    const cut = segments.filter((s) => s.cutAfter);
    expect(cut.length).toBeGreaterThanOrEqual(6);
    segments.forEach((s, i) => expect(s.cutBefore).toBe(i > 0 && segments[i - 1]!.cutAfter));
  });

  it("mode 'fixed' gives back-to-back windows and marks windows mostly voiced as speech", async () => {
    const waveform = await phrases();
    const segments = segmentAudio(waveform, { mode: 'fixed', maxSegmentSeconds: 2 });
    covers(segments, Math.ceil(waveform.length / 320));
    expect(segments.slice(0, -1).every((s) => s.endFrame - s.startFrame === 100)).toBe(true);
    expect(segments[0]!.speech).toBe(true); // 0.7 s silence then speech
    expect(segments.at(-1)!.speech).toBe(false); // 0.12 s of the last phrase, then 1 s of silence
  });

  it('finds no speech in digital silence or in loud white noise (spectral flatness)', () => {
    expect(segmentAudio(new Float32Array(16000 * 3)).every((s) => !s.speech)).toBe(true);
    const noise = randomArray(16000 * 3, 3).map((v) => v * 0.3);
    expect(segmentAudio(noise).every((s) => !s.speech)).toBe(true);
  });

  it('refuses bad options with a typed error naming the option', () => {
    expect(() => planSegments({ maxSegmentSeconds: 0 })).toThrow(/segmentation.maxSegmentSeconds/);
    expect(() => planSegments({ overlapSeconds: 20 })).toThrow(/less than maxSegmentSeconds/);
    expect(() => planSegments({ mode: 'vad' as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('StreamingResampler', () => {
  it('gives exactly what resample() gives for the whole signal, whatever the chunking', () => {
    for (const [from, to] of [
      [44100, 16000],
      [48000, 16000],
      [8000, 16000],
      [22050, 16000],
    ] as const) {
      const input = randomArray(from * 2 + 123, from);
      const expected = resample(input, from, to);
      const resampler = new StreamingResampler(from, to);
      const parts: number[] = [];
      inChunks(input, 11, (chunk) => parts.push(...resampler.push(chunk)));
      parts.push(...resampler.end());
      expect(Float32Array.from(parts)).toEqual(expected);
    }
  });
});

describe('SampleBuffer', () => {
  it('slices across chunks by absolute index and forgets whole chunks before a point', () => {
    const buffer = new SampleBuffer();
    buffer.append(Float32Array.from([0, 1, 2]));
    buffer.append(Float32Array.from([3, 4]));
    buffer.append(Float32Array.from([5, 6, 7]));
    expect(Array.from(buffer.slice(2, 6))).toEqual([2, 3, 4, 5]);
    buffer.dropBefore(4);
    expect(Array.from(buffer.slice(3, 8))).toEqual([3, 4, 5, 6, 7]);
    expect(() => buffer.slice(2, 4)).toThrow(RangeError);
  });
});

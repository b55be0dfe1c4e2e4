import { describe, expect, it } from 'vitest';
import { frameCount, frameRms } from '../../src/audio/frames.js';
import { trimSilence } from '../../src/audio/trim.js';
import { UsageError } from '../../src/errors.js';
import { randomArray } from '../support/fixtures.js';

/** Zeros with a sine of `amplitude` over samples [from, to). */
function toneIn(length: number, from: number, to: number, amplitude = 0.5, period = 37): Float32Array {
  const x = new Float32Array(length);
  for (let i = from; i < to; i++) x[i] = amplitude * Math.sin((2 * Math.PI * i) / period);
  return x;
}

/**
 * librosa.effects.trim written out literally from its documentation: pad by frame//2 zeros each side, frame,
 * RMS, amplitude_to_db(ref=max, amin=1e-5) > -top_db, frames_to_samples. Deliberately naive (copies the signal).
 */
function referenceTrim(y: Float32Array, topDb = 20, frameLength = 2048, hopLength = 512): [number, number] {
  const half = Math.floor(frameLength / 2);
  const padded = new Float64Array(y.length + 2 * half);
  padded.set(y, half);
  const rms: number[] = [];
  for (let s = 0; s + frameLength <= padded.length; s += hopLength) {
    let power = 0;
    for (let k = 0; k < frameLength; k++) power += padded[s + k]! ** 2;
    rms.push(Math.sqrt(power / frameLength));
  }
  const ref = Math.max(...rms);
  const db = rms.map((r) => 20 * Math.log10(Math.max(1e-5, r)) - 20 * Math.log10(Math.max(1e-5, ref)));
  const loud = db.flatMap((d, i) => (d > -topDb ? [i] : []));
  if (loud.length === 0) return [0, 0];
  return [loud[0]! * hopLength, Math.min(y.length, (loud[loud.length - 1]! + 1) * hopLength)];
}

describe('trimSilence', () => {
  it('cuts a tone out of zeros where librosa does (hand-derived frame arithmetic)', () => {
    // Tone over [4000, 12000) of 16000. Frame i covers [512i - 1024, 512i + 1024). A frame is sound when more
    // than ~21 of its 2048 samples are tone (1 % of a full frame's power = -20 dB). Frame 5 ends at 3584
    // (no tone), frame 6 ends at 4096 (96 tone samples): start = 6 * 512 = 3072. Frame 25 starts at 11776
    // (224 tone samples), frame 26 at 12288 (none): end = 26 * 512 = 13312.
    const x = toneIn(16000, 4000, 12000);
    const result = trimSilence(x);
    expect([result.start, result.end]).toEqual([3072, 13312]);
    expect(referenceTrim(x)).toEqual([3072, 13312]);
    expect(result.waveform.length).toBe(13312 - 3072);
    // A view on the input, not a copy.
    expect(result.waveform.buffer).toBe(x.buffer);
    expect(result.waveform.byteOffset).toBe(3072 * 4);
  });

  it('agrees with the documented librosa procedure across signals and options', () => {
    const noise = randomArray(9000, 7);
    const signals: Float32Array[] = [
      toneIn(20000, 0, 20000),
      toneIn(20000, 0, 5000),
      toneIn(20000, 15000, 20000),
      toneIn(7777, 1234, 5678, 0.9, 11),
      // A loud burst and a quiet one (-26 dB): the quiet one is silence at 20 dB, sound at 30 dB.
      (() => {
        const x = toneIn(30000, 3000, 9000, 0.8);
        for (let i = 20000; i < 24000; i++) x[i] = 0.04 * Math.sin(i / 3);
        return x;
      })(),
      // Noise with a fade in and out.
      noise.map((v, i) => v * Math.min(1, i / 3000, (9000 - i) / 3000)),
    ];
    const optionSets = [
      {},
      { topDb: 30 },
      { topDb: 60 },
      { frameLength: 1001, hopLength: 300 },
      { frameLength: 400, hopLength: 160, topDb: 10 },
    ];
    for (const [s, x] of signals.entries()) {
      for (const options of optionSets) {
        const { start, end } = trimSilence(x, options);
        expect([start, end], `signal ${s}, ${JSON.stringify(options)}`).toEqual(
          referenceTrim(x, options.topDb, options.frameLength, options.hopLength),
        );
      }
    }
  });

  it('keeps the quiet burst only when the threshold reaches it', () => {
    const x = toneIn(30000, 3000, 9000, 0.8);
    for (let i = 20000; i < 24000; i++) x[i] = 0.04 * Math.sin(i / 3);
    expect(trimSilence(x, { topDb: 20 }).end).toBeLessThan(12000);
    expect(trimSilence(x, { topDb: 30 }).end).toBeGreaterThan(24000);
  });

  it('returns digital silence whole, as librosa does (every frame is as loud as the loudest)', () => {
    const x = new Float32Array(5000);
    expect(trimSilence(x)).toMatchObject({ start: 0, end: 5000 });
  });

  it('handles empty and sub-frame inputs', () => {
    expect(trimSilence(new Float32Array(0))).toMatchObject({ start: 0, end: 0 });
    expect(trimSilence(new Float32Array(0)).waveform.length).toBe(0);
    const short = toneIn(300, 100, 200);
    expect(trimSilence(short)).toMatchObject({ start: 0, end: 300 });
    expect(referenceTrim(short)).toEqual([0, 300]);
  });

  it('rejects bad options with INVALID_ARGUMENT', () => {
    const x = new Float32Array(100);
    for (const options of [{ topDb: Number.NaN }, { frameLength: 0 }, { hopLength: 1.5 }, { hopLength: -512 }]) {
      expect(() => trimSilence(x, options)).toThrow(UsageError);
    }
  });
});

describe('frameRms', () => {
  it('centres frames on multiples of the hop, zero-padded, like librosa.feature.rms', () => {
    expect(frameCount(16000, 2048, 512)).toBe(32); // 1 + 16000 // 512
    expect(frameCount(0, 2048, 512)).toBe(1);
    expect(frameCount(0, 5, 1)).toBe(0); // padded length 4 < frame 5: librosa raises, here no frames
    const x = new Float32Array([1, 1, 1, 1]);
    // frame 4, hop 2, padding 2 each side: frames over [-2, 2), [0, 4), [2, 6).
    expect(Array.from(frameRms(x, 4, 2))).toEqual([Math.sqrt(2 / 4), 1, Math.sqrt(2 / 4)]);
  });
});

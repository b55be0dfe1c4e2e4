import { describe, expect, it } from 'vitest';
import { analyzeQuality, assertQuality, QUALITY_THRESHOLDS, type QualityReport } from '../../src/audio/quality.js';
import { AudioInputError } from '../../src/errors.js';

function tone(seconds: number, rate: number, amplitude: number, hz = 220): Float32Array {
  const x = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < x.length; i++) x[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / rate);
  return x;
}

function codes(report: QualityReport): string[] {
  return report.warnings.map((w) => w.code);
}

describe('analyzeQuality', () => {
  it('reports digital silence as too quiet and all silence, with a finite dBFS floor', () => {
    const report = analyzeQuality(new Float32Array(24000), 16000);
    expect(report).toMatchObject({
      durationSeconds: 1.5,
      sampleRate: 16000,
      rms: 0,
      rmsDbfs: -120,
      peak: 0,
      clippedFraction: 0,
      leadingSilenceSeconds: 1.5,
      trailingSilenceSeconds: 1.5,
      silenceFraction: 1,
    });
    expect(codes(report)).toEqual(['TOO_QUIET']);
    expect(report.warnings[0]!.message).toMatch(/silent/);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('flags a quiet tone and measures its level in dBFS (20 log10 rms)', () => {
    const report = analyzeQuality(tone(2, 16000, 0.005), 16000);
    expect(report.rms).toBeCloseTo(0.005 / Math.SQRT2, 6);
    expect(report.rmsDbfs).toBeCloseTo(20 * Math.log10(0.005 / Math.SQRT2), 3); // about -49.03
    expect(report.peak).toBeCloseTo(0.005, 6);
    expect(codes(report)).toEqual(['TOO_QUIET']);
    expect(report.warnings[0]!.message).toContain('-49.0 dBFS');
    expect(report.leadingSilenceSeconds).toBe(0);
    expect(report.trailingSilenceSeconds).toBe(0);
    expect(report.silenceFraction).toBe(0);
  });

  it('gives a clean tone no warnings; a full-scale sine reads -3.01 dBFS', () => {
    const report = analyzeQuality(tone(2, 16000, 0.25), 16000);
    expect(report.warnings).toEqual([]);
    expect(report.rmsDbfs).toBeCloseTo(20 * Math.log10(0.25) - 3.0103, 3);
    expect(() => assertQuality(report)).not.toThrow();
  });

  it('flags a loud clipped square wave', () => {
    const x = new Float32Array(32000);
    for (let i = 0; i < x.length; i++) x[i] = Math.floor(i / 40) % 2 === 0 ? 1 : -1;
    const report = analyzeQuality(x, 16000);
    expect(report).toMatchObject({ rms: 1, rmsDbfs: 0, peak: 1, clippedFraction: 1 });
    expect(codes(report)).toEqual(['CLIPPED']);
  });

  it('counts clipping above a 0.1 % share of samples only', () => {
    const x = tone(2, 16000, 0.3);
    for (let i = 0; i < 16; i++) x[i * 1000] = 0.9995; // 0.05 %
    expect(analyzeQuality(x, 16000).clippedFraction).toBe(16 / 32000);
    expect(codes(analyzeQuality(x, 16000))).toEqual([]);
    for (let i = 0; i < 64; i++) x[i * 500 + 1] = -1; // now 0.25 %
    expect(codes(analyzeQuality(x, 16000))).toEqual(['CLIPPED']);
  });

  it('flags audio under 1 s as too short', () => {
    const report = analyzeQuality(tone(0.5, 16000, 0.3), 16000);
    expect(report.durationSeconds).toBe(0.5);
    expect(codes(report)).toEqual(['TOO_SHORT']);
    expect(report.warnings[0]!.message).toContain('0.5 s');
  });

  it('flags audio over 30 s as long (at a low rate to stay cheap)', () => {
    const report = analyzeQuality(tone(31, 1000, 0.3, 50), 1000);
    expect(report.durationSeconds).toBe(31);
    expect(codes(report)).toEqual(['LONG']);
  });

  it('measures leading and trailing silence with librosa trim frames', () => {
    // 0.5 s zeros, 2 s tone, 1 s zeros at 16 kHz: tone over [8000, 40000) of 56000 samples.
    // Frames are 2048 long every 512, centred: frame i covers [512i - 1024, 512i + 1024).
    // First sound frame 14 (its last 192 samples are tone; frame 13 has none): start 7168.
    // Last sound frame 80 (first 64 samples are tone; frame 81 has none): end 81 * 512 = 41472.
    // Frames: 1 + 56000 // 512 = 110, of which 14..80 (67) are sound.
    const x = new Float32Array(56000);
    x.set(tone(2, 16000, 0.3), 8000);
    const report = analyzeQuality(x, 16000);
    expect(report.leadingSilenceSeconds).toBe(7168 / 16000);
    expect(report.trailingSilenceSeconds).toBe((56000 - 41472) / 16000);
    expect(report.silenceFraction).toBe(43 / 110);
    expect(report.durationSeconds).toBe(3.5);
  });

  it('scales the silence frames with the sample rate', () => {
    // At 8 kHz the hop is 256: the same layout in time gives the same cut points in seconds.
    const x = new Float32Array(28000);
    x.set(tone(2, 8000, 0.3), 4000);
    const report = analyzeQuality(x, 8000);
    expect(report.leadingSilenceSeconds).toBe(7168 / 16000);
    expect(report.trailingSilenceSeconds).toBe((56000 - 41472) / 16000);
  });

  it('handles empty input', () => {
    const report = analyzeQuality(new Float32Array(0), 16000);
    expect(report).toMatchObject({ durationSeconds: 0, rms: 0, rmsDbfs: -120, peak: 0, clippedFraction: 0 });
    expect(codes(report)).toEqual(['TOO_QUIET', 'TOO_SHORT']);
  });

  it('rejects a bad sample rate with AUDIO_SAMPLE_RATE', () => {
    for (const rate of [0, -16000, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => analyzeQuality(new Float32Array(10), rate)).toThrow(AudioInputError);
    }
    expect(() => analyzeQuality(new Float32Array(10), 0)).toThrow(
      expect.objectContaining({ code: 'AUDIO_SAMPLE_RATE' }),
    );
  });

  it('exposes its thresholds', () => {
    expect(QUALITY_THRESHOLDS).toMatchObject({
      quietRms: 0.01,
      shortSeconds: 1,
      longSeconds: 30,
      clipLevel: 0.999,
      clippedFraction: 0.001,
    });
    expect(Object.isFrozen(QUALITY_THRESHOLDS)).toBe(true);
  });
});

describe('assertQuality', () => {
  it('throws AUDIO_QUALITY listing every warning', () => {
    const report = analyzeQuality(tone(0.5, 16000, 0.001), 16000);
    let error: unknown;
    try {
      assertQuality(report);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AudioInputError);
    const typed = error as AudioInputError;
    expect(typed.code).toBe('AUDIO_QUALITY');
    expect(typed.message).toContain('TOO_QUIET');
    expect(typed.message).toContain('TOO_SHORT');
    expect(typed.details).toMatchObject({ codes: ['TOO_QUIET', 'TOO_SHORT'], warnings: report.warnings });
  });
});

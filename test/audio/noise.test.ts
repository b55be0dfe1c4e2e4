/**
 * The background-noise (SNR) estimate of the quality report: known SNRs on synthetic speech-like bursts in
 * white noise, null for audio too short to tell, and frame energies checked against Meyda's `energy` feature
 * (an independent implementation; Meyda is a dev dependency used only here, see docs/assistant.md).
 */
import Meyda from 'meyda';
import { describe, expect, it } from 'vitest';
import { estimateNoise, framePowers, noiseFromPowers } from '../../src/audio/noise.js';
import { analyzeQuality } from '../../src/audio/quality.js';
import { decodeAudio } from '../../src/audio/decode.js';
import { audioFixture } from '../server/support.js';

/** Deterministic Gaussian noise (Box-Muller on a linear congruential generator). */
function gaussian(length: number, sigma: number, seed = 1): Float32Array {
  let state = seed;
  const uniform = () => ((state = (state * 1664525 + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++)
    out[i] = sigma * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

/** Half a second of a 0.3-amplitude tone, then half a second of pause, repeated: speech-like on/off. */
function bursts(seconds: number, noiseSigma: number, rate = 16_000): Float32Array {
  const noise = gaussian(seconds * rate, noiseSigma);
  for (let i = 0; i < noise.length; i++)
    if (Math.floor(i / (rate / 2)) % 2 === 0) noise[i]! += 0.3 * Math.sin((2 * Math.PI * 200 * i) / rate);
  return noise;
}

describe('estimateNoise', () => {
  it.each([0.001, 0.003, 0.01, 0.03])(
    'bursts in white noise of sigma %s: SNR within 1 dB of (speech + noise) / noise',
    (sigma) => {
      const { snrDb, noiseFloorDbfs } = estimateNoise(bursts(4, sigma), 16_000);
      const expected = 10 * Math.log10((0.3 ** 2 / 2 + sigma ** 2) / sigma ** 2);
      expect(Math.abs(snrDb! - expected)).toBeLessThan(1);
      expect(Math.abs(noiseFloorDbfs! - 20 * Math.log10(sigma))).toBeLessThan(1);
    },
  );

  it('reads a steady tone (no pauses) as 0 dB, digital silence in the pauses as very clean, too-short audio as null', () => {
    const tone = Float32Array.from(
      { length: 16_000 },
      (_, i) => 0.3 * Math.sin((2 * Math.PI * 200 * i) / 16_000 + 0.1),
    );
    expect(estimateNoise(tone, 16_000).snrDb!).toBeLessThan(0.5);
    expect(estimateNoise(bursts(2, 0), 16_000).snrDb!).toBeGreaterThan(100);
    expect(estimateNoise(new Float32Array(5000), 16_000)).toEqual({ snrDb: null, noiseFloorDbfs: null });
    expect(estimateNoise(new Float32Array(16_000), 16_000)).toEqual({ snrDb: 0, noiseFloorDbfs: -120 });
  });

  it('is part of the quality report, at any sample rate', () => {
    const at16k = analyzeQuality(bursts(4, 0.01), 16_000);
    const at44k = analyzeQuality(bursts(4, 0.01, 44_100), 44_100);
    expect(Math.abs(at16k.snrDb! - at44k.snrDb!)).toBeLessThan(1);
    expect(JSON.parse(JSON.stringify(at16k))).toEqual(at16k);
  });

  it("frame energies equal Meyda's energy feature on the speech fixture (512-sample frames)", async () => {
    const decoded = await decodeAudio(audioFixture('speech16k.wav'));
    const mono = decoded.channels[0]!;
    const ours = framePowers(mono, 512);
    // Meyda windows every frame (Hann by default) before any feature, energy included; ours are plain frames.
    Meyda.windowingFunction = 'rect';
    const meyda = Float64Array.from(
      ours,
      (_, f) => (Meyda.extract('energy', mono.subarray(f * 512, (f + 1) * 512)) as unknown as number) / 512,
    );
    let worst = 0;
    ours.forEach((power, f) => (worst = Math.max(worst, Math.abs(power - meyda[f]!) / Math.max(power, 1e-12))));
    expect(worst).toBeLessThan(1e-5);
    expect(noiseFromPowers(meyda).snrDb!).toBeCloseTo(estimateNoise(mono, 16_000).snrDb!, 4);
  });
});

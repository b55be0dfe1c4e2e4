/**
 * A background-noise estimate: the signal-to-noise ratio between the loud and the quiet parts of a recording.
 * Speech has pauses; what is left in them is the noise floor. With 32 ms frames, the 10th percentile of frame
 * power stands for the noise and the 90th for the speech (a percentile, not the minimum, so that one dropout
 * or one click does not decide). A recording without pauses (a tone, music, non-stop speech) reads low: the
 * estimate says how far the quiet parts sit below the loud ones, which is what makes speech hard to hear.
 */

/** Frame length of the estimate: 32 ms (512 samples at 16 kHz). */
export const NOISE_FRAME_SECONDS = 0.032;
/** Fewer whole frames than this (320 ms) give no estimate. */
const MIN_FRAMES = 10;
const NOISE_PERCENTILE = 0.1;
const SPEECH_PERCENTILE = 0.9;
/** The lowest level a report gives, in dBFS: JSON cannot hold −Infinity, and nothing real is quieter. */
export const DBFS_FLOOR = -120;
/** Power of {@link DBFS_FLOOR} (1e-12), so digital silence stays finite. */
const POWER_FLOOR = 10 ** (DBFS_FLOOR / 10);

/** The estimate: both numbers are finite, or null for audio too short to tell (under 320 ms). */
export interface NoiseEstimate {
  /** Speech level over noise level, in dB (≥ 0). */
  readonly snrDb: number | null;
  /** Level of the quiet parts, in dBFS (floored at −120). */
  readonly noiseFloorDbfs: number | null;
}

/** Mean power (mean square) of each whole, non-overlapping frame. */
export function framePowers(mono: Float32Array, frameLength: number): Float64Array {
  const count = Math.floor(mono.length / frameLength);
  const powers = new Float64Array(count);
  for (let f = 0; f < count; f++) {
    let sum = 0;
    for (let i = f * frameLength, end = i + frameLength; i < end; i++) sum += mono[i]! * mono[i]!;
    powers[f] = sum / frameLength;
  }
  return powers;
}

/** The value at fraction `q` of the sorted values (nearest rank). */
export function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}

/** SNR and noise floor from frame powers (any frame size): the 90th over the 10th percentile. */
export function noiseFromPowers(powers: Float64Array): NoiseEstimate {
  if (powers.length < MIN_FRAMES) return { snrDb: null, noiseFloorDbfs: null };
  const sorted = Float64Array.from(powers).sort();
  const noise = Math.max(POWER_FLOOR, percentile(sorted, NOISE_PERCENTILE));
  const speech = Math.max(POWER_FLOOR, percentile(sorted, SPEECH_PERCENTILE));
  return { snrDb: 10 * Math.log10(speech / noise), noiseFloorDbfs: 10 * Math.log10(noise) };
}

/** Estimates the background noise of a mono signal (samples in [-1, 1]) at `sampleRate`. */
export function estimateNoise(mono: Float32Array, sampleRate: number): NoiseEstimate {
  const frameLength = Math.max(1, Math.round(NOISE_FRAME_SECONDS * sampleRate));
  return noiseFromPowers(framePowers(mono, frameLength));
}

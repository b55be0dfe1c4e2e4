/**
 * A quick look at an input's level, length, clipping and silence, so callers can warn about (or, in strict
 * mode, refuse) recordings the model is likely to misjudge. Nothing here changes the audio.
 */
import { AudioInputError } from '../errors.js';
import { frameRms, nonSilentFrames, nonSilentRange, RMS_FLOOR } from './frames.js';
import { DBFS_FLOOR, estimateNoise } from './noise.js';
import { MODEL_SAMPLE_RATE } from './frame-geometry.js';

/** What a quality warning is about. */
export type QualityWarningCode = 'TOO_QUIET' | 'TOO_SHORT' | 'LONG' | 'CLIPPED';

/** One problem found by {@link analyzeQuality}: a stable code and a sentence naming the problem and the fix. */
export interface QualityWarning {
  readonly code: QualityWarningCode;
  readonly message: string;
}

/** Measurements of one mono signal, plus the warnings they raise. Every number is finite (JSON-safe). */
export interface QualityReport {
  readonly durationSeconds: number;
  readonly sampleRate: number;
  /** Root-mean-square of all samples (full scale is 1). */
  readonly rms: number;
  /**
   * `20·log10(rms)` (0 dBFS = RMS of a full-scale square wave; a full-scale sine reads −3.01), floored at −120 so
   * silence stays finite.
   */
  readonly rmsDbfs: number;
  /** Largest absolute sample. */
  readonly peak: number;
  /** Fraction of samples with `|x| ≥ QUALITY_THRESHOLDS.clipLevel`. */
  readonly clippedFraction: number;
  /** Silence before the first non-silent frame; the whole duration when nothing is audible. */
  readonly leadingSilenceSeconds: number;
  /** Silence after the last non-silent frame; the whole duration when nothing is audible. */
  readonly trailingSilenceSeconds: number;
  /** Fraction of analysis frames that are silent (1 when nothing is audible). */
  readonly silenceFraction: number;
  /**
   * Background noise: the level of the loud 32 ms frames over the quiet ones, in dB (see src/audio/noise.ts);
   * null under 320 ms. Low values (under ~10 dB) mean the pauses are nearly as loud as the speech.
   */
  readonly snrDb: number | null;
  /** Level of the quiet frames, in dBFS (floored at −120); null under 320 ms. */
  readonly noiseFloorDbfs: number | null;
  readonly warnings: readonly QualityWarning[];
}

/**
 * Limits behind the warnings.
 * - `quietRms`: overall RMS below this (−40 dBFS) is `TOO_QUIET`.
 * - `shortSeconds` / `longSeconds`: durations below / above these are `TOO_SHORT` / `LONG`.
 * - `clipLevel`: a sample with `|x|` at or above this counts as clipped (16-bit full scale, 32767/32768, is above it).
 * - `clippedFraction`: more than this fraction of clipped samples (0.1 %) is `CLIPPED`. Material mastered
 *   right at full scale can trip it too, which is still worth a look.
 * - `silenceTopDb`: frames this many dB or more below the loudest frame are silence (as librosa's trim with
 *   `top_db=20`); frames are 128 ms long every 32 ms (2048 / 512 samples at 16 kHz, scaled to other rates).
 */
export const QUALITY_THRESHOLDS = Object.freeze({
  quietRms: 0.01,
  shortSeconds: 1,
  longSeconds: 30,
  clipLevel: 0.999,
  clippedFraction: 0.001,
  silenceTopDb: 20,
} as const);

/**
 * Silence frames at the model's 16 kHz, as librosa's defaults; scaled by the sample rate so they last as long
 * elsewhere.
 */
const HOP_AT_MODEL_RATE = 512;
const FRAMES_PER_HOP = 4;

function seconds(value: number): string {
  return `${Number(value.toFixed(2))} s`;
}

/**
 * Measures a mono signal: duration, RMS level, peak, clipping and leading/trailing silence, and lists what
 * looks wrong (too quiet, too short, long, clipped). Reads the samples twice (levels, then frames) and
 * allocates only one number per 32 ms frame.
 *
 * Silence uses librosa's trim rule (see {@link QUALITY_THRESHOLDS}), except that a signal whose every frame
 * is below librosa's 1e-5 RMS floor (digital silence) is reported as all silence rather than all sound.
 *
 * @param mono Samples in [-1, 1].
 * @param sampleRate Samples per second (any positive number).
 * @throws AudioInputError `AUDIO_SAMPLE_RATE` when `sampleRate` is not a positive finite number.
 */
export function analyzeQuality(mono: Float32Array, sampleRate: number): QualityReport {
  if (!Number.isFinite(sampleRate) || sampleRate <= 0) {
    throw new AudioInputError(
      'AUDIO_SAMPLE_RATE',
      `analyzeQuality: sampleRate must be a positive number of samples per second, got ${String(sampleRate)}. Pass the rate the samples were recorded or resampled at.`,
      { details: { sampleRate } },
    );
  }
  const length = mono.length;
  const { clipLevel } = QUALITY_THRESHOLDS;
  let sumSquares = 0;
  let peak = 0;
  let clipped = 0;
  for (let i = 0; i < length; i++) {
    const x = mono[i]!;
    const magnitude = Math.abs(x);
    sumSquares += x * x;
    if (magnitude > peak) peak = magnitude;
    if (magnitude >= clipLevel) clipped++;
  }
  const rms = length === 0 ? 0 : Math.sqrt(sumSquares / length);
  const rmsDbfs = rms > 0 ? Math.max(DBFS_FLOOR, 20 * Math.log10(rms)) : DBFS_FLOOR;
  const clippedFraction = length === 0 ? 0 : clipped / length;
  const durationSeconds = length / sampleRate;

  const hop = Math.max(1, Math.round((HOP_AT_MODEL_RATE * sampleRate) / MODEL_SAMPLE_RATE));
  const frames = nonSilentFrames(frameRms(mono, hop * FRAMES_PER_HOP, hop), QUALITY_THRESHOLDS.silenceTopDb);
  let leadingSilenceSeconds: number;
  let trailingSilenceSeconds: number;
  let silenceFraction: number;
  // Below librosa's floor every frame reads 0 dB and trim would keep it all; here that is reported as silence.
  if (frames.maxRms <= RMS_FLOOR || frames.first < 0) {
    leadingSilenceSeconds = durationSeconds;
    trailingSilenceSeconds = durationSeconds;
    silenceFraction = 1;
  } else {
    const { start, end } = nonSilentRange(frames, length, hop);
    leadingSilenceSeconds = start / sampleRate;
    trailingSilenceSeconds = (length - end) / sampleRate;
    silenceFraction = frames.silent / frames.total;
  }

  const warnings: QualityWarning[] = [];
  if (rms < QUALITY_THRESHOLDS.quietRms) {
    warnings.push({
      code: 'TOO_QUIET',
      message:
        peak === 0
          ? 'The audio is silent (every sample is zero): check that the right input or file was used.'
          : `The audio is very quiet (RMS ${rmsDbfs.toFixed(1)} dBFS, under ${20 * Math.log10(QUALITY_THRESHOLDS.quietRms)} dBFS): ` +
            'raise the recording gain or normalise the file.',
    });
  }
  if (durationSeconds < QUALITY_THRESHOLDS.shortSeconds) {
    warnings.push({
      code: 'TOO_SHORT',
      message: `The audio lasts ${seconds(durationSeconds)}, under ${QUALITY_THRESHOLDS.shortSeconds} s: emotion estimates from so little speech are unreliable; use a longer utterance.`,
    });
  }
  if (durationSeconds > QUALITY_THRESHOLDS.longSeconds) {
    warnings.push({
      code: 'LONG',
      message: `The audio lasts ${seconds(durationSeconds)}, over ${QUALITY_THRESHOLDS.longSeconds} s: one result averages everything said; split it into utterances for per-utterance emotions.`,
    });
  }
  if (clippedFraction > QUALITY_THRESHOLDS.clippedFraction) {
    warnings.push({
      code: 'CLIPPED',
      message: `${(clippedFraction * 100).toFixed(2)}% of samples are at full scale (|x| ≥ ${clipLevel}): the recording is clipped; lower the input gain and record again.`,
    });
  }

  return {
    durationSeconds,
    sampleRate,
    rms,
    rmsDbfs,
    peak,
    clippedFraction,
    leadingSilenceSeconds,
    trailingSilenceSeconds,
    silenceFraction,
    ...estimateNoise(mono, sampleRate),
    warnings,
  };
}

/**
 * Strict mode: throws when a report has any warning.
 *
 * @throws AudioInputError `AUDIO_QUALITY`, whose message lists every warning and whose `details.warnings`
 *   holds them, with `details.codes` their codes.
 */
export function assertQuality(report: QualityReport): void {
  if (report.warnings.length === 0) return;
  const codes = report.warnings.map((w) => w.code);
  throw new AudioInputError(
    'AUDIO_QUALITY',
    `The audio failed the quality check (${codes.join(', ')}): ${report.warnings.map((w) => w.message).join(' ')}`,
    { details: { warnings: report.warnings, codes } },
  );
}

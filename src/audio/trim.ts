/**
 * Leading and trailing silence removal, equal to `librosa.effects.trim(y, top_db=20, frame_length=2048,
 * hop_length=512)` by default (librosa ≥ 0.9: RMS of centred, zero-padded frames; silence is 20 dB or more
 * below the loudest frame).
 */
import { UsageError } from '../errors.js';
import { frameRms, nonSilentFrames, nonSilentRange } from './frames.js';

/** Options of {@link trimSilence}; the defaults are librosa's frame sizes with a 20 dB threshold. */
export interface TrimOptions {
  /** Frames this many dB or more below the loudest frame are silence. Default 20. */
  readonly topDb?: number;
  /** Samples per analysis frame. Default 2048. */
  readonly frameLength?: number;
  /** Samples between frame starts; also the granularity of the cut. Default 512. */
  readonly hopLength?: number;
}

/** What {@link trimSilence} kept. */
export interface TrimResult {
  /** `waveform.subarray(start, end)`: a view on the input, not a copy. */
  readonly waveform: Float32Array;
  /** First kept sample. */
  readonly start: number;
  /** One past the last kept sample. */
  readonly end: number;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `trimSilence: ${name} must be a positive integer number of samples, got ${String(value)}.`,
    );
  }
  return value;
}

/**
 * Cuts leading and trailing silence the way `librosa.effects.trim` does: frames whose RMS is `topDb` dB or
 * more below the loudest frame are silent, and the result runs from the first non-silent frame's start
 * (`first · hopLength`) to the end of the last one (`min(length, (last + 1) · hopLength)`).
 *
 * Like librosa, a signal with no frame above librosa's 1e-5 RMS floor (digital silence) is returned whole,
 * since every frame is then as loud as the loudest. The result is empty only for empty input, or for a
 * `topDb` ≤ 0, or when `frameLength` is odd and longer than the padded input (where librosa raises).
 * Levels are computed in float64; librosa uses float32, which can differ only for frames within rounding of
 * the threshold.
 *
 * @throws UsageError `INVALID_ARGUMENT` for a non-finite `topDb` or a frame or hop length that is not a positive
 * integer.
 */
export function trimSilence(waveform: Float32Array, options: TrimOptions = {}): TrimResult {
  const topDb = options.topDb ?? 20;
  if (!Number.isFinite(topDb)) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `trimSilence: topDb must be a finite number of decibels, got ${String(topDb)}.`,
    );
  }
  const frameLength = positiveInteger(options.frameLength ?? 2048, 'frameLength');
  const hopLength = positiveInteger(options.hopLength ?? 512, 'hopLength');
  const frames = nonSilentFrames(frameRms(waveform, frameLength, hopLength), topDb);
  const { start, end } = nonSilentRange(frames, waveform.length, hopLength);
  return { waveform: waveform.subarray(start, end), start, end };
}

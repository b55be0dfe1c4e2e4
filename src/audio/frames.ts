/**
 * Frame-wise loudness shared by silence trimming and the quality report, following librosa's definitions
 * (`feature.rms` with centred, zero-padded frames; `effects.trim`'s dB test against the loudest frame) so
 * that trimming here cuts where librosa would.
 */

/** librosa's `amin` for amplitudes: RMS values below it count as this value when converted to dB. */
export const RMS_FLOOR = 1e-5;

/**
 * Number of frames `librosa.feature.rms(center=True)` yields: the signal is padded by `floor(frameLength / 2)`
 * zeros on each side, then cut into `frameLength`-sample frames every `hopLength` samples.
 */
export function frameCount(length: number, frameLength: number, hopLength: number): number {
  const padded = length + 2 * Math.floor(frameLength / 2);
  return padded < frameLength ? 0 : 1 + Math.floor((padded - frameLength) / hopLength);
}

/**
 * Root-mean-square of each centred frame, like `librosa.feature.rms(y=signal, frame_length, hop_length,
 * center=True, pad_mode='constant')`, but summed in float64. Frame `i` covers samples
 * `[i·hop − ⌊frame/2⌋, i·hop − ⌊frame/2⌋ + frame)`; samples outside the signal are zeros. The result has one
 * value per frame (about `length / hopLength`), never a copy of the signal.
 */
export function frameRms(signal: Float32Array, frameLength: number, hopLength: number): Float64Array {
  const length = signal.length;
  const count = frameCount(length, frameLength, hopLength);
  const rms = new Float64Array(count);
  const half = Math.floor(frameLength / 2);
  for (let i = 0; i < count; i++) {
    const from = Math.max(0, i * hopLength - half);
    const to = Math.min(length, i * hopLength - half + frameLength);
    let sum = 0;
    for (let k = from; k < to; k++) {
      const x = signal[k]!;
      sum += x * x;
    }
    // The mean is over the whole frame, padding included, as librosa does.
    rms[i] = Math.sqrt(sum / frameLength);
  }
  return rms;
}

/** Which frames are sound rather than silence, as `librosa.effects.trim` decides it. */
export interface NonSilentFrames {
  /** Index of the first non-silent frame, or -1 when there is none. */
  readonly first: number;
  /** Index of the last non-silent frame, or -1 when there is none. */
  readonly last: number;
  /** How many frames are silent. */
  readonly silent: number;
  /** How many frames there are. */
  readonly total: number;
  /** The loudest frame's RMS (0 when there are no frames). */
  readonly maxRms: number;
}

/**
 * Marks a frame non-silent when its level is less than `topDb` dB below the loudest frame,
 * `20·log10(max(rms, 1e-5)) − 20·log10(max(maxRms, 1e-5)) > −topDb`: librosa's
 * `amplitude_to_db(rms, ref=np.max) > -top_db`. Consequence kept from librosa: when every frame is at or below
 * the 1e-5 floor (digital silence), every frame reads 0 dB and counts as non-silent.
 */
export function nonSilentFrames(rms: Float64Array, topDb: number): NonSilentFrames {
  let maxRms = 0;
  for (let i = 0; i < rms.length; i++) maxRms = Math.max(maxRms, rms[i]!);
  // Compare in the power domain exactly as librosa's power_to_db does, in float64.
  const refDb = 10 * Math.log10(Math.max(RMS_FLOOR * RMS_FLOOR, maxRms * maxRms));
  let first = -1;
  let last = -1;
  let silent = 0;
  for (let i = 0; i < rms.length; i++) {
    const value = rms[i]!;
    const db = 10 * Math.log10(Math.max(RMS_FLOOR * RMS_FLOOR, value * value)) - refDb;
    if (db > -topDb) {
      if (first < 0) first = i;
      last = i;
    } else {
      silent++;
    }
  }
  return { first, last, silent, total: rms.length, maxRms };
}

/**
 * The sample range `[start, end)` kept between the first and last non-silent frames, with librosa's
 * `frames_to_samples` arithmetic: `start = first·hop`, `end = min(length, (last + 1)·hop)`; `[0, 0)` when no
 * frame is non-silent.
 */
export function nonSilentRange(
  frames: NonSilentFrames,
  length: number,
  hopLength: number,
): { start: number; end: number } {
  if (frames.first < 0) return { start: 0, end: 0 };
  return { start: frames.first * hopLength, end: Math.min(length, (frames.last + 1) * hopLength) };
}

/**
 * The longest audio a caller accepts (`maxDurationSeconds`, `--max-duration`): a file's size says little about
 * its length once decoded (a 270 KB FLAC of silence holds 40 hours at 8 kHz, 4.6 GB of float32), so every decoder
 * learns the length from the header or a frame at a time and stops at this bound, before the samples exist.
 */
import { AudioInputError, UsageError, describeValue } from '../errors.js';

/** Checks a `maxDurationSeconds` option: undefined (no bound) or a positive number of seconds. */
export function checkMaxDuration(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value > 0)) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `maxDurationSeconds must be a positive number of seconds (or left out for no bound); got ${describeValue(value)}.`,
    );
  }
  return value;
}

/** Most sample frames (per channel) that `maxSeconds` allows at `sampleRate`; Infinity without a bound. */
export function maxFramesAt(sampleRate: number, maxSeconds: number | undefined): number {
  return maxSeconds === undefined ? Infinity : Math.floor(maxSeconds * sampleRate);
}

/**
 * The error for audio over the bound. `seconds` is its length when known (from a header), or how far decoding
 * got before it stopped (`atLeast`).
 */
export function audioTooLong(
  seconds: number,
  maxSeconds: number,
  options: { fileName?: string; atLeast?: boolean } = {},
): AudioInputError {
  const what = options.fileName ? `"${options.fileName.slice(0, 120)}"` : 'The audio';
  const length = options.atLeast ? `more than ${formatDuration(seconds)}` : formatDuration(seconds);
  return new AudioInputError(
    'AUDIO_TOO_LONG',
    `${what} is ${length} long, over the limit of ${formatDuration(maxSeconds)} (maxDurationSeconds; ` +
      '--max-duration for serve, worker and analyze). Split the recording, or raise the limit where you run it.',
    {
      details: {
        durationSeconds: seconds,
        maxDurationSeconds: maxSeconds,
        ...(options.atLeast ? { atLeast: true } : {}),
      },
    },
  );
}

/** @throws AudioInputError `AUDIO_TOO_LONG` when `frames` at `sampleRate` run past `maxSeconds`. */
export function checkDuration(
  frames: number,
  sampleRate: number,
  maxSeconds: number | undefined,
  fileName?: string,
): void {
  if (maxSeconds !== undefined && frames > maxFramesAt(sampleRate, maxSeconds))
    throw audioTooLong(frames / sampleRate, maxSeconds, fileName === undefined ? {} : { fileName });
}

/** "40.0 h", "17.5 min", "12.0 s". */
export function formatDuration(seconds: number): string {
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(1)} h`;
  if (seconds >= 60) return `${(seconds / 60).toFixed(1)} min`;
  return `${seconds.toFixed(1)} s`;
}

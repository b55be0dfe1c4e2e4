/**
 * Typed errors. Every failure the library can predict is one of these: a stable `code` for programs,
 * and a message that names the problem and the fix for people.
 */

/** Stable machine-readable error codes, grouped by area. */
export type ErrorCode =
  // model config (config.yaml, tokens.txt)
  | 'CONFIG_INVALID'
  | 'CONFIG_UNSUPPORTED'
  // model files and weights
  | 'MODEL_NOT_FOUND'
  | 'CHECKPOINT_FORMAT'
  | 'CHECKPOINT_LEGACY_FORMAT'
  | 'CHECKPOINT_TRUNCATED'
  | 'CHECKPOINT_TENSORS'
  | 'CHECKPOINT_DTYPE'
  // audio input
  | 'AUDIO_INVALID_TYPE'
  | 'AUDIO_EMPTY'
  | 'AUDIO_TOO_SHORT'
  | 'AUDIO_NOT_FINITE'
  | 'AUDIO_SAMPLE_RATE'
  | 'AUDIO_DECODE'
  | 'AUDIO_UNSUPPORTED_FORMAT'
  | 'AUDIO_QUALITY'
  | 'AUDIO_FILE_NOT_FOUND'
  // runtime
  | 'BACKEND_UNAVAILABLE'
  | 'INFERENCE_FAILED'
  | 'MODEL_DISPOSED'
  | 'INVALID_ARGUMENT'
  // output folders and model downloads
  | 'OUTPUT_UNSAFE_PATH'
  | 'OUTPUT_WRITE_FAILED'
  | 'MODEL_DOWNLOAD_FAILED'
  | 'MODEL_OFFLINE'
  | 'MODEL_UNKNOWN'
  | 'MODEL_INTEGRITY';

/** Base class of every error this library throws on purpose. */
export class Emotion2VecError extends Error {
  readonly code: ErrorCode;
  /** Extra structured facts (the offending field, the missing keys...). */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options?.details) this.details = options.details;
  }

  /** `{ code, message }`, the shape the CLI and the server report. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** config.yaml or tokens.txt is missing a field, has a wrong value, or asks for something unsupported. */
export class ConfigError extends Emotion2VecError {}

/** A model folder, checkpoint or converted model cannot be found or read. */
export class CheckpointError extends Emotion2VecError {}

/** Audio handed to the library cannot be used: wrong type, empty, too short, undecodable... */
export class AudioInputError extends Emotion2VecError {}

/** A requested TensorFlow.js backend is not installed or failed to start. */
export class BackendError extends Emotion2VecError {}

/** The backend failed while running the model (out of memory, a lost GPU context...). */
export class InferenceError extends Emotion2VecError {}

/** Anything else the caller got wrong: a bad option, a disposed model. */
export class UsageError extends Emotion2VecError {}

/** True for errors this library raised on purpose (as opposed to bugs). */
export function isEmotion2VecError(error: unknown): error is Emotion2VecError {
  return error instanceof Emotion2VecError;
}

/** A short description of a value the caller passed, for "got ..." in error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of ${value.length} element(s)`;
  if (typeof value === 'object') {
    const tag = typeTag(value);
    if (tag === 'Object') return `an object with keys {${Object.keys(value).slice(0, 8).join(', ')}}`;
    return `${/^[AEIOU]/.test(tag) ? 'an' : 'a'} ${tag}`;
  }
  if (typeof value === 'string') return `the string "${value.slice(0, 40)}"`;
  return `a ${typeof value} (${String(value).slice(0, 40)})`;
}

/** `Object.prototype.toString` tag ('Float32Array', 'Blob'...): survives cross-realm values (workers, iframes) where instanceof fails. */
export function typeTag(value: unknown): string {
  return Object.prototype.toString.call(value).slice(8, -1);
}

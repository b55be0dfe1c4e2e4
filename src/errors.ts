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
  /** A weight is NaN or infinite (the model would answer null scores). */
  | 'CHECKPOINT_NOT_FINITE'
  /** A checkpoint or converted model breaks a structural bound (an inflation bomb, a view outside its storage...). */
  | 'CHECKPOINT_LIMIT'
  // any file the library reads
  /** Not a regular file: a FIFO, a device (/dev/zero), a socket. Refused before a byte is read. */
  | 'FILE_NOT_REGULAR'
  /** Larger than the bound for its kind (config.yaml, model.json, a weight shard, audio...). */
  | 'FILE_TOO_LARGE'
  /** A file name that is not valid UTF-8: it cannot be named through a JavaScript string. */
  | 'FILE_NAME_ENCODING'
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
  /** Longer than the caller's `maxDurationSeconds` (`--max-duration`): refused before its samples are allocated. */
  | 'AUDIO_TOO_LONG'
  // runtime
  | 'BACKEND_UNAVAILABLE'
  /** A model whose weights are packed on wasm was asked to run after the active backend changed. */
  | 'BACKEND_CHANGED'
  | 'INFERENCE_FAILED'
  | 'MODEL_DISPOSED'
  | 'INVALID_ARGUMENT'
  // HTTP server (emotion2vec serve)
  | 'REQUEST_MISSING_FIELD'
  | 'REQUEST_UNKNOWN_OPTION'
  | 'REQUEST_INVALID_OPTION'
  | 'REQUEST_TOO_LARGE'
  | 'REQUEST_UNSUPPORTED_TYPE'
  | 'REQUEST_INVALID'
  /** A multipart body that cannot be parsed: cut short, no boundary, broken part headers. */
  | 'REQUEST_MALFORMED'
  /** More than one file in one request. */
  | 'REQUEST_TOO_MANY_FILES'
  /** More option fields (or parts) than a request may have. */
  | 'REQUEST_TOO_MANY_FIELDS'
  /** The body stopped arriving for longer than the server waits. */
  | 'REQUEST_TIMEOUT'
  /** A `Host` header naming none of the server's own names (DNS rebinding). */
  | 'REQUEST_HOST_NOT_ALLOWED'
  /** A request sent by a page of another site (`Origin` is not the server's own). */
  | 'REQUEST_ORIGIN_NOT_ALLOWED'
  | 'SERVER_BUSY'
  /** `serve` cannot listen: the port is taken, needs privileges, or the host is not this machine's. */
  | 'SERVER_LISTEN_FAILED'
  | 'NOT_FOUND'
  // training and evaluating a classification head (src/train)
  | 'TRAIN_DATA_INVALID'
  | 'TRAIN_AUDIO_MISSING'
  | 'TRAIN_AUDIO_UNREADABLE'
  | 'TRAIN_CLASS_EMPTY'
  | 'TRAIN_TOO_FEW_CLASSES'
  | 'HEAD_INVALID'
  | 'HEAD_DIM_MISMATCH'
  // output folders and model downloads
  | 'OUTPUT_UNSAFE_PATH'
  | 'OUTPUT_WRITE_FAILED'
  | 'MODEL_DOWNLOAD_FAILED'
  | 'MODEL_OFFLINE'
  | 'MODEL_UNKNOWN'
  | 'MODEL_INTEGRITY'
  // job queue (src/queue)
  | 'QUEUE_UNAVAILABLE'
  | 'JOB_INVALID'
  /** `GET /jobs/:id` names no job on the queue. */
  | 'JOB_NOT_FOUND'
  | 'JOB_STALLED'
  /** A job URL whose host resolves to a loopback, private, link-local or other special address. */
  | 'URL_NOT_ALLOWED'
  /** A download that stalled or ran past its deadline. */
  | 'DOWNLOAD_TIMEOUT';

/** Base class of every error this library throws on purpose. */
export class Emotion2VecError extends Error {
  readonly code: ErrorCode;
  /** Extra structured facts (the offending field, the missing keys...). */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(capMessage(message), options?.cause === undefined ? undefined : { cause: options.cause });
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

/** No error message is longer than this: a hostile file must not be able to print megabytes through one. */
export const MAX_MESSAGE_CHARS = 2000;
/** Default length of one quoted user value inside a message. */
export const MAX_QUOTED_CHARS = 120;

/** Cuts a message to {@link MAX_MESSAGE_CHARS}, saying how much was left out. */
export function capMessage(message: string, max = MAX_MESSAGE_CHARS): string {
  if (message.length <= max) return message;
  return `${message.slice(0, max)}… (${message.length - max} more characters)`;
}

/**
 * Text safe to print on a terminal: control characters (ESC sequences that move the cursor, set the title or
 * hide text, BEL, CR that overwrites a line) and bidi overrides are shown as `\u{..}` escapes, never sent raw.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return String(text).replace(
    /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g,
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
}

/**
 * A user value quoted for a message: strings quoted (control characters and bidi overrides escaped), anything else
 * described
 * without walking it, at most `max` characters. The one way every message quotes a value that came from a file
 * or a caller, so that no value can blow up (or forge lines in) a message.
 */
export function quote(value: unknown, max = MAX_QUOTED_CHARS): string {
  if (typeof value === 'string') {
    const shown = `"${printable((value.length > max ? value.slice(0, max) : value).replace(/["\\]/g, '\\$&'))}"`;
    return value.length > max ? `${shown.slice(0, -1)}…" (${value.length} characters)` : shown;
  }
  if (
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    typeof value === 'bigint' ||
    value === null ||
    value === undefined
  ) {
    return String(value).slice(0, max);
  }
  return describeValue(value).slice(0, max);
}

/** A short description of a value the caller passed, for "got ..." in error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of ${value.length} element(s)`;
  if (typeof value === 'object') {
    const tag = typeTag(value);
    if (tag === 'Object')
      return `an object with keys {${Object.keys(value)
        .slice(0, 8)
        .map((key) => key.slice(0, 40))
        .join(', ')}}`;
    return `${/^[AEIOU]/.test(tag) ? 'an' : 'a'} ${tag}`;
  }
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return `a ${typeof value} (${String(value).slice(0, 40)})`;
}

/**
 * `Object.prototype.toString` tag ('Float32Array', 'Blob'...): survives cross-realm values (workers, iframes) where
 * instanceof fails.
 */
export function typeTag(value: unknown): string {
  return Object.prototype.toString.call(value).slice(8, -1);
}

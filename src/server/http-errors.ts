/**
 * Every failure the server answers, on every route (`/predict_emotion`, `/jobs`, `/health`...), as one JSON shape
 * (`toErrorRecord`: `{ input, key, error: { code, message } }`) with the HTTP status that fits it. Errors from
 * Fastify and its body parsers become our typed errors first, so that clients see one set of codes.
 */
import { isEmotion2VecError, UsageError, type Emotion2VecError } from '../errors.js';
import { outputKey } from '../results/output-key.js';
import { toErrorRecord, type ErrorRecord } from '../results/record.js';

/** Longest message we echo: a hostile upload must not make us send back megabytes. */
const MAX_MESSAGE = 500;

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  REQUEST_MISSING_FIELD: 400,
  REQUEST_UNKNOWN_OPTION: 400,
  REQUEST_INVALID_OPTION: 400,
  REQUEST_INVALID: 400,
  REQUEST_MALFORMED: 400,
  REQUEST_TOO_MANY_FILES: 400,
  REQUEST_TOO_MANY_FIELDS: 400,
  REQUEST_TIMEOUT: 408,
  REQUEST_HOST_NOT_ALLOWED: 403,
  REQUEST_ORIGIN_NOT_ALLOWED: 403,
  URL_NOT_ALLOWED: 400,
  QUEUE_UNAVAILABLE: 503,
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  JOB_INVALID: 400,
  REQUEST_TOO_LARGE: 413,
  REQUEST_UNSUPPORTED_TYPE: 415,
  AUDIO_UNSUPPORTED_FORMAT: 415,
  AUDIO_INVALID_TYPE: 415,
  SERVER_BUSY: 503,
  INFERENCE_FAILED: 500,
  OUTPUT_WRITE_FAILED: 500,
  OUTPUT_UNSAFE_PATH: 500,
  BACKEND_UNAVAILABLE: 500,
  BACKEND_CHANGED: 500,
  MODEL_DISPOSED: 503,
};

/** Fastify / @fastify/multipart error codes and the code we report for them. */
const FASTIFY_CODES: Readonly<Record<string, Emotion2VecError['code']>> = {
  FST_REQ_FILE_TOO_LARGE: 'REQUEST_TOO_LARGE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'REQUEST_TOO_LARGE',
  FST_PARTS_LIMIT: 'REQUEST_TOO_LARGE',
  FST_FILES_LIMIT: 'REQUEST_TOO_LARGE',
  FST_FIELDS_LIMIT: 'REQUEST_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'REQUEST_UNSUPPORTED_TYPE',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'REQUEST_UNSUPPORTED_TYPE',
};

/**
 * What a route's body must be, for the messages about a body it cannot read: each route says it in its own terms
 * (multipart audio for `/predict_emotion`, a small JSON object for `/jobs`).
 */
export interface BodyRules {
  /** The message for a body over the route's limit: the limit and what to send instead. */
  readonly tooLarge: string;
  /** The message for a body of the wrong content type: what the route takes. */
  readonly wrongType: string;
}

/**
 * HTTP status of one of our errors: 4xx for what the client can fix, 5xx for what it cannot. A request that is
 * valid but clashes with what the server holds (a job key taken by another input) says so with
 * `details.conflict: true` and gets 409.
 */
export function statusFor(error: Emotion2VecError): number {
  if (error.details?.conflict === true) return 409;
  const status = STATUS_BY_CODE[error.code];
  if (status !== undefined) return status;
  // Every other audio problem (undecodable, empty, too short, silent in strict mode, a posted path that is not a
  // file the server may read) is about the audio the request names.
  return error.code.startsWith('AUDIO_') ? 422 : 400;
}

/** Any thrown value as our typed error, or null for a bug (answered as 500 INTERNAL). */
export function asRequestError(error: unknown, rules: BodyRules): Emotion2VecError | null {
  if (isEmotion2VecError(error)) return error;
  const fastify = error as { code?: string; statusCode?: number; message?: string };
  const code = fastify.code ? FASTIFY_CODES[fastify.code] : undefined;
  if (code === 'REQUEST_TOO_LARGE') return new UsageError(code, rules.tooLarge);
  if (code === 'REQUEST_UNSUPPORTED_TYPE') return new UsageError(code, rules.wrongType);
  if (fastify.statusCode !== undefined && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    return new UsageError('REQUEST_INVALID', `Malformed request: ${String(fastify.message).slice(0, MAX_MESSAGE)}`);
  }
  return null;
}

/**
 * The error record and status for any failure of a request about `input` (its key: `outputKey(input)` unless given).
 */
export function errorResponse(
  error: unknown,
  input: string,
  rules: BodyRules,
  key = outputKey(input),
): { status: number; body: ErrorRecord } {
  const typed = asRequestError(error, rules);
  const status = typed ? statusFor(typed) : 500;
  const record = typed
    ? toErrorRecord(typed, { input, key })
    : toErrorRecord(
        new Error('The server failed unexpectedly while handling this request; the details are in its log.'),
        { input, key },
      );
  const message =
    record.error.message.length > MAX_MESSAGE ? `${record.error.message.slice(0, MAX_MESSAGE)}…` : record.error.message;
  return { status, body: { ...record, error: { code: record.error.code, message } } };
}

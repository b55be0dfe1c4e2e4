/**
 * Reading the multipart body of `POST /predict_emotion` with bounded memory and time: the one audio file is
 * streamed, its first bytes sniffed (what is not audio is refused before the rest is read), every byte counted
 * against the request's limit and against the server's bytes in flight (shared by all requests), and a body that
 * stops arriving is timed out. Each client mistake gets its own code: a second file, too many fields, a body cut
 * short or without a boundary, an option value too long.
 */
import type { MultipartFile, MultipartValue } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { isEmotion2VecError, UsageError, quote } from '../errors.js';
import { sniffAudio } from '../audio/decode.js';
import { concatBytes } from '../io/bytes.js';

/** The form field of the audio file. */
export const AUDIO_FIELD = 'audio';
/** Option fields are short words; more of them than this is not a real client. */
export const MAX_FIELDS = 16;
/** Longest option value (a field longer than this is refused, not cut). */
export const MAX_FIELD_BYTES = 1024;
/** Longest file name kept: it is echoed in every record. */
const MAX_FILE_NAME = 255;
/** Bytes of the file's start that are sniffed before more is read (the format table needs the first few dozen). */
const SNIFF_BYTES = 4096;

/** A request's upload, read whole. */
export interface Upload {
  readonly fileName: string;
  readonly bytes: Uint8Array;
  /** The option fields, as text. */
  readonly fields: Record<string, string>;
}

/**
 * Bytes held by uploads in flight across all requests (read, queued or being analysed): a request that would
 * pass the cap is refused with `SERVER_BUSY` rather than buffered.
 */
export class ByteBudget {
  private used = 0;

  constructor(readonly capacity: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Takes `bytes`, or returns false when that would pass the cap. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.capacity) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

export interface UploadLimits {
  /** Largest file (and, with the fields, request). */
  readonly maxBodyBytes: number;
  /** Shared by all requests; what this request takes is given back by `release`. */
  readonly budget: ByteBudget;
  /** A body that sends nothing for this long is answered 408. */
  readonly idleMs: number;
  /** Seconds to tell a client refused by the budget to wait. */
  readonly retryAfterSeconds: () => number;
  /**
   * The answer for a request that cannot be served (a full queue), given once the file's first bytes showed it is
   * audio: what is not audio is told so (415) rather than to come back later, and no more than its start is read.
   */
  readonly refusal?: Error;
}

/** An upload in progress: `read()` it, then `release()` its bytes from the budget whatever happened. */
export interface UploadReader {
  read(): Promise<Upload>;
  /** The audio's file name once its part has begun ('' before), for the records of errors found while reading. */
  readonly fileName: string;
  release(): void;
}

/** The error that limits and malformed bodies end in, for the server to answer; the message names the fix. */
function multipartFailure(error: unknown, limits: UploadLimits): unknown {
  if (isEmotion2VecError(error)) return error;
  const code = (error as { code?: string }).code;
  if (code === 'FST_FILES_LIMIT') return tooManyFiles();
  if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT') {
    return new UsageError(
      'REQUEST_TOO_MANY_FIELDS',
      `The request has more than ${MAX_FIELDS} option fields. POST /predict_emotion takes the file field "audio" and ` +
        'a few options (granularity, embedding, trim_silence, strict, timeline).',
    );
  }
  if (code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(limits);
  if (code === 'FST_PROTO_VIOLATION') return new UsageError('REQUEST_UNKNOWN_OPTION', 'A field name is not allowed.');
  // Busboy's own complaints (a body cut short, no boundary, broken part headers) and a client that hung up.
  const said = String((error as Error)?.message ?? error).slice(0, 200);
  return new UsageError(
    'REQUEST_MALFORMED',
    `The multipart body could not be read (${said}). Send a complete multipart/form-data request with its ` +
      'boundary, e.g. curl -F audio=@speech.wav.',
  );
}

function tooManyFiles(): UsageError {
  return new UsageError(
    'REQUEST_TOO_MANY_FILES',
    'The request holds more than one file. Send one recording per request, in the field "audio".',
  );
}

function tooLarge(limits: UploadLimits): UsageError {
  return new UsageError(
    'REQUEST_TOO_LARGE',
    `The upload is over the server's limit of ${(limits.maxBodyBytes / 2 ** 20).toFixed(1)} MiB. Send a shorter ` +
      'file, or start the server with a larger --max-body-mb.',
  );
}

function busy(limits: UploadLimits): UsageError {
  const retryAfterSeconds = limits.retryAfterSeconds();
  return new UsageError(
    'SERVER_BUSY',
    `The server is busy: the uploads in flight hold ${(limits.budget.capacity / 2 ** 20).toFixed(0)} MiB, its ` +
      `limit. Retry after ${retryAfterSeconds} s.`,
    { details: { retryAfterSeconds } },
  );
}

function timedOut(idleMs: number): UsageError {
  return new UsageError(
    'REQUEST_TIMEOUT',
    `The request body stopped arriving for ${(idleMs / 1000).toFixed(0)} s; the server stopped waiting. Send the ` +
      'whole request at once.',
  );
}

/** Starts reading a request's multipart body under `limits`. */
export function uploadReader(request: FastifyRequest, limits: UploadLimits): UploadReader {
  let held = 0;
  const take = (bytes: number) => {
    if (!limits.budget.take(bytes)) throw busy(limits);
    held += bytes;
  };
  const named = { fileName: '' };
  return {
    get fileName() {
      return named.fileName;
    },
    read: async () => {
      // A declared length is checked before a byte is read.
      const declared = Number(request.headers['content-length'] ?? NaN);
      if (declared > limits.maxBodyBytes + 64 * 1024) throw tooLarge(limits);
      // Reading starts first: it pipes the body into the multipart parser before the timer listens to it.
      const reading = readParts(request, limits, take, named);
      const idle = idleTimer(request, limits.idleMs);
      try {
        return await Promise.race([reading, idle.expired]);
      } catch (error) {
        reading.catch(() => undefined); // an abandoned read fails when the connection closes: nothing to report
        throw multipartFailure(error, limits);
      } finally {
        idle.stop();
      }
    },
    release: () => {
      limits.budget.give(held);
      held = 0;
    },
  };
}

async function readParts(
  request: FastifyRequest,
  limits: UploadLimits,
  take: (bytes: number) => void,
  named: { fileName: string },
): Promise<Upload> {
  let audio: { fileName: string; bytes: Uint8Array } | null = null;
  const fields: Record<string, string> = {};
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      const file = part as MultipartFile;
      if (file.fieldname !== AUDIO_FIELD) {
        file.file.destroy();
        throw new UsageError(
          'REQUEST_UNKNOWN_OPTION',
          `Unexpected file field ${quote(file.fieldname, 40)}. Send one file, in the field "audio".`,
        );
      }
      if (audio !== null) {
        file.file.destroy();
        throw tooManyFiles();
      }
      const fileName = (file.filename || 'upload').slice(0, MAX_FILE_NAME);
      named.fileName = fileName;
      audio = { fileName, bytes: await readFile(file, fileName, limits, take) };
    } else {
      const field = part as MultipartValue;
      if (field.valueTruncated || field.fieldnameTruncated) {
        throw new UsageError(
          'REQUEST_INVALID_OPTION',
          `The field ${quote(field.fieldname, 40)} is longer than ${MAX_FIELD_BYTES} bytes; option values are short words.`,
        );
      }
      const value = String(field.value);
      take(value.length + field.fieldname.length);
      fields[field.fieldname] = value;
    }
  }
  if (!audio) {
    if (limits.refusal) throw limits.refusal;
    throw new UsageError(
      'REQUEST_MISSING_FIELD',
      'The request has no file in the field "audio". Send the recording as multipart/form-data, e.g. curl -F audio=@speech.wav.',
    );
  }
  return { ...audio, fields };
}

/** The file's bytes, sniffed once its first bytes are in (not audio: refused before the rest is read). */
async function readFile(
  file: MultipartFile,
  fileName: string,
  limits: UploadLimits,
  take: (bytes: number) => void,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let sniffed = false;
  try {
    for await (const chunk of file.file as AsyncIterable<Buffer>) {
      if (file.file.truncated) throw tooLarge(limits);
      take(chunk.length);
      chunks.push(chunk);
      size += chunk.length;
      if (!sniffed && size >= SNIFF_BYTES) {
        sniffAudio(concatBytes(chunks, size).subarray(0, SNIFF_BYTES), fileName);
        sniffed = true;
        if (limits.refusal) throw limits.refusal;
      }
    }
    if (file.file.truncated) throw tooLarge(limits);
  } catch (error) {
    file.file.destroy();
    throw error;
  }
  const bytes = concatBytes(chunks, size);
  if (!sniffed) sniffAudio(bytes, fileName);
  if (limits.refusal) throw limits.refusal;
  return bytes;
}

/** Rejects `expired` once the request has sent nothing for `idleMs`. */
function idleTimer(request: FastifyRequest, idleMs: number): { expired: Promise<never>; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let fail!: (error: unknown) => void;
  const expired = new Promise<never>((_, reject) => (fail = reject));
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => fail(timedOut(idleMs)), idleMs);
  };
  const raw = request.raw;
  raw.on('data', arm);
  arm();
  return {
    expired,
    stop() {
      clearTimeout(timer);
      raw.off('data', arm);
    },
  };
}

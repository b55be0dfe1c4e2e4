/**
 * One file from a hub to disk (Node): bytes go to `<file>.part`, an interrupted download resumes from there with
 * an HTTP `Range` request, the size is checked against the server's (and known-models.json's when listed), the
 * sha256 when listed, then the caller's check of the content, and only then is the file renamed into place: a file
 * in the cache is always whole, and never one that failed a check. Every attempt runs within the file's stall
 * timeout and deadline, and no file grows past its byte bound (transfer.ts).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { CheckpointError } from '../errors.js';
import { DEFAULT_STALL_MS, TransferClock, TransferTimeout, tooLarge, type TransferTimes } from './transfer.js';

export interface DownloadOptions {
  readonly fetch: typeof fetch;
  /** Exact size in bytes, when known. */
  readonly expectedSize?: number;
  /** Lower-case hex sha256, when known. */
  readonly sha256?: string;
  /** Most bytes the file may have, after any content-encoding is decoded; default MAX_UNSIZED_DOWNLOAD_BYTES. */
  readonly maxBytes?: number;
  /** What kind of file this is, for messages (`config.yaml`); default the URL's last segment. */
  readonly file?: string;
  /** Stall timeout and deadline (transfer.ts); default a 30 s stall timeout and a deadline from the size. */
  readonly times?: TransferTimes;
  /**
   * Checks the complete file at `path` (still beside its final name) before it is renamed into place; what it
   * throws is rethrown and the file deleted, so the cache never holds a file that failed it.
   */
  readonly check?: (path: string) => Promise<void>;
  readonly onProgress?: (loaded: number, total: number | null) => void;
  /** Attempts, each resuming where the last stopped (a dropped connection or a stall). Default 3. */
  readonly attempts?: number;
}

/** Largest file taken when neither the caller nor the server gives a size or bound. */
export const MAX_UNSIZED_DOWNLOAD_BYTES = 8 * 2 ** 30;

/** 'absent' when the server has no such file (HTTP 404), else the file is complete at `destination`. */
export async function downloadFile(
  url: string,
  destination: string,
  options: DownloadOptions,
): Promise<'done' | 'absent'> {
  const attempts = options.attempts ?? 3;
  const maxBytes = Math.min(options.maxBytes ?? MAX_UNSIZED_DOWNLOAD_BYTES, MAX_UNSIZED_DOWNLOAD_BYTES);
  const clock = new TransferClock(options.times ?? { stallMs: DEFAULT_STALL_MS }, options.expectedSize ?? maxBytes);
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await downloadOnce(url, destination, { ...options, maxBytes }, clock);
    } catch (error) {
      // Integrity failures, refusals and the deadline do not get better by retrying; drops and stalls do.
      if (!(error instanceof CheckpointError) || error.details?.retryable !== true) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

async function downloadOnce(
  url: string,
  destination: string,
  options: DownloadOptions & { maxBytes: number },
  clock: TransferClock,
): Promise<'done' | 'absent'> {
  const part = `${destination}.part`;
  const file = options.file ?? url.replace(/[?#].*$/, '').replace(/^.*\//, '');
  const limit = Math.min(options.expectedSize ?? options.maxBytes, options.maxBytes);
  let start = await partialSize(part);
  if (start > limit) start = await restart(part);

  const controller = new AbortController();
  const abort = () => controller.abort();
  let response: Response;
  try {
    response = await clock.within(
      options.fetch(url, {
        signal: controller.signal,
        ...(start > 0 ? { headers: { Range: `bytes=${start}-` } } : {}),
      }),
      abort,
    );
  } catch (error) {
    throw timedOut(url, error, start) ?? failed(url, `the connection failed (${messageOf(error)})`, true, error);
  }
  if (response.status === 404) {
    void response.body?.cancel().catch(() => undefined);
    return 'absent';
  }
  if (response.status === 416 && start > 0) {
    // The part already holds every byte (a kill between the last byte and the rename): check and finish.
    void response.body?.cancel().catch(() => undefined);
    await verify(url, part, start, start, options);
    await rename(part, destination);
    return 'done';
  }
  if (!response.ok) {
    void response.body?.cancel().catch(() => undefined);
    throw failed(url, `the server answered HTTP ${response.status} ${response.statusText}`, response.status >= 500);
  }
  if (start > 0 && response.status !== 206) start = await restart(part); // the server ignored Range: start over
  const total = totalSize(response, start);
  if (total !== null && total > options.maxBytes) {
    void response.body?.cancel().catch(() => undefined);
    await rm(part, { force: true });
    throw tooLarge(url, file, options.maxBytes, total);
  }
  if (total !== null) clock.sizeKnown(total);
  const bound = total ?? limit;

  const handle = await open(part, start > 0 ? 'a' : 'w');
  let loaded = start;
  try {
    const reader = response.body?.getReader();
    if (!reader) throw failed(url, 'the response has no body', true);
    const cancel = () => {
      abort();
      void reader.cancel().catch(() => undefined);
    };
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await clock.within(reader.read(), cancel);
      } catch (error) {
        throw (
          timedOut(url, error, loaded) ??
          failed(
            url,
            `the connection dropped after ${loaded} bytes (${messageOf(error)}); the next attempt resumes there`,
            true,
            error,
          )
        );
      }
      if (chunk.done) break;
      if (loaded + chunk.value.length > bound) {
        // More than announced or allowed: nothing past the bound is written, and the file is not kept.
        cancel();
        await handle.close().catch(() => undefined);
        await rm(part, { force: true });
        if (loaded + chunk.value.length > options.maxBytes) throw tooLarge(url, file, options.maxBytes);
        throw new CheckpointError(
          'MODEL_INTEGRITY',
          `${url} sent more than the ${bound} bytes ${total === null ? 'weights/known-models.json lists' : 'it announced'}; the file was deleted.`,
          { details: { url } },
        );
      }
      await handle.write(chunk.value);
      loaded += chunk.value.length;
      options.onProgress?.(loaded, total ?? options.expectedSize ?? null);
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
  if (total !== null && loaded < total)
    throw failed(url, `the connection closed after ${loaded} of ${total} bytes; the next attempt resumes there`, true);
  await verify(url, part, loaded, total, options);
  await rename(part, destination);
  return 'done';
}

/** The size the server announced for the whole file: Content-Range's total, else start + Content-Length. */
function totalSize(response: Response, start: number): number | null {
  const range = /\/(\d+)\s*$/.exec(response.headers.get('content-range') ?? '');
  if (range) return Number(range[1]);
  const length = response.headers.get('content-length');
  // A compressed body's length is not the file's: the decoded bytes are bounded as they come instead.
  if (length === null || response.headers.get('content-encoding')) return null;
  return start + Number(length);
}

/** Size, then sha256, then the caller's check: a file that fails any is deleted (it cannot become a good one). */
async function verify(
  url: string,
  part: string,
  loaded: number,
  total: number | null,
  options: DownloadOptions,
): Promise<void> {
  const expected = options.expectedSize ?? total;
  if (expected !== null && loaded !== expected) {
    await rm(part, { force: true });
    throw new CheckpointError(
      'MODEL_INTEGRITY',
      `${url} gave ${loaded} bytes but ${options.expectedSize !== undefined ? 'weights/known-models.json lists' : 'the server announced'} ${expected}. The partial file was deleted; load again to re-download.`,
      { details: { url, loaded, expected } },
    );
  }
  if (options.sha256) {
    const actual = await sha256File(part);
    if (actual !== options.sha256.toLowerCase()) {
      await rm(part, { force: true });
      throw new CheckpointError(
        'MODEL_INTEGRITY',
        `${url} has sha256 ${actual}, not the ${options.sha256} that weights/known-models.json lists. The file was deleted; load again to re-download.`,
        { details: { url, actual, expected: options.sha256 } },
      );
    }
  }
  if (options.check) {
    try {
      await options.check(part);
    } catch (error) {
      await rm(part, { force: true });
      throw error;
    }
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function partialSize(part: string): Promise<number> {
  try {
    const info = await lstat(part);
    return info.isFile() ? info.size : await restart(part);
  } catch {
    return 0;
  }
}

async function restart(part: string): Promise<0> {
  await rm(part, { force: true, recursive: true });
  return 0;
}

/** A stall (retried, resuming at `loaded`) or the deadline (not retried) as the download error; else null. */
function timedOut(url: string, error: unknown, loaded: number): CheckpointError | null {
  if (!(error instanceof TransferTimeout)) return null;
  return error.kind === 'stall'
    ? failed(url, `${error.message} after ${loaded} bytes; the next attempt resumes there`, true, error)
    : failed(
        url,
        `${error.message} (its deadline; ${loaded} bytes arrived, kept for the next load to resume)`,
        false,
        error,
      );
}

function failed(url: string, why: string, retryable: boolean, cause?: unknown): CheckpointError {
  return new CheckpointError('MODEL_DOWNLOAD_FAILED', `Could not download ${url}: ${why}.`, {
    cause,
    details: { url, retryable },
  });
}

function messageOf(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}

/**
 * One file from a hub to disk (Node): bytes go to `<file>.part`, an interrupted download resumes from there with
 * an HTTP `Range` request, the size is checked against the server's (and known-models.json's when listed), the
 * sha256 when listed, and only then is the file renamed into place: a file in the cache is always whole.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { CheckpointError } from '../errors.js';

export interface DownloadOptions {
  readonly fetch: typeof fetch;
  /** Exact size in bytes, when known. */
  readonly expectedSize?: number;
  /** Lower-case hex sha256, when known. */
  readonly sha256?: string;
  readonly onProgress?: (loaded: number, total: number | null) => void;
  /** Attempts, each resuming where the last stopped (a dropped connection). Default 3. */
  readonly attempts?: number;
}

/** Largest file taken when neither known-models.json nor the server gives a size (emotion2vec+ large is ~2 GB). */
export const MAX_UNSIZED_DOWNLOAD_BYTES = 8 * 2 ** 30;

/** 'absent' when the server has no such file (HTTP 404), else the file is complete at `destination`. */
export async function downloadFile(
  url: string,
  destination: string,
  options: DownloadOptions,
): Promise<'done' | 'absent'> {
  const attempts = options.attempts ?? 3;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await downloadOnce(url, destination, options);
    } catch (error) {
      // Integrity failures and HTTP refusals do not get better by retrying; network drops do.
      if (!(error instanceof CheckpointError) || error.details?.retryable !== true) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

async function downloadOnce(url: string, destination: string, options: DownloadOptions): Promise<'done' | 'absent'> {
  const part = `${destination}.part`;
  let start = await partialSize(part);
  if (options.expectedSize !== undefined && start > options.expectedSize) start = await restart(part);

  let response: Response;
  try {
    response = await options.fetch(url, start > 0 ? { headers: { Range: `bytes=${start}-` } } : {});
  } catch (error) {
    throw failed(url, `the connection failed (${(error as Error)?.message ?? String(error)})`, true, error);
  }
  if (response.status === 404) return 'absent';
  if (response.status === 416 && start > 0) {
    // The part already holds every byte (a kill between the last byte and the rename): check and finish.
    await response.body?.cancel();
    await verify(url, part, start, start, options);
    await rename(part, destination);
    return 'done';
  }
  if (!response.ok)
    throw failed(url, `the server answered HTTP ${response.status} ${response.statusText}`, response.status >= 500);
  if (start > 0 && response.status !== 206) start = await restart(part); // the server ignored Range: start over
  const total = totalSize(response, start);

  const file = await open(part, start > 0 ? 'a' : 'w');
  let loaded = start;
  try {
    const reader = response.body?.getReader();
    if (!reader) throw failed(url, 'the response has no body', true);
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw failed(
          url,
          `the connection dropped after ${loaded} bytes (${(error as Error)?.message ?? String(error)}); the next attempt resumes there`,
          true,
          error,
        );
      }
      if (chunk.done) break;
      await file.write(chunk.value);
      loaded += chunk.value.length;
      if (options.expectedSize !== undefined && loaded > options.expectedSize) break; // verify says what is wrong
      if (loaded > (total ?? MAX_UNSIZED_DOWNLOAD_BYTES)) {
        await reader.cancel();
        await rm(part, { force: true });
        throw new CheckpointError(
          'MODEL_INTEGRITY',
          `${url} sent more than ${total ?? MAX_UNSIZED_DOWNLOAD_BYTES} bytes (${total === null ? 'the most taken without a known size' : 'the size it announced'}); the file was deleted.`,
          { details: { url } },
        );
      }
      options.onProgress?.(loaded, total ?? options.expectedSize ?? null);
    }
  } finally {
    await file.close();
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
  // A compressed body's length is not the file's.
  if (length === null || response.headers.get('content-encoding')) return null;
  return start + Number(length);
}

/** Size, then sha256: a file that fails either is deleted (it cannot be resumed into a good one). */
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
      `${url} gave ${loaded} bytes but ${options.expectedSize !== undefined ? 'weights/known-models.json lists' : 'the server announced'} ${expected}. The partial file was deleted; load again to re-download, or check HF_ENDPOINT / MODELSCOPE_ENDPOINT if you use a mirror.`,
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
        {
          details: { url, actual, expected: options.sha256 },
        },
      );
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

function failed(url: string, why: string, retryable: boolean, cause?: unknown): CheckpointError {
  return new CheckpointError('MODEL_DOWNLOAD_FAILED', `Could not download ${url}: ${why}.`, {
    cause,
    details: { url, retryable },
  });
}

/**
 * A job's input as the model takes it: a local path as is, an http(s) URL fetched into memory with a size cap.
 * A URL that answers 404/410 (or any 4xx) fails the same way on every retry, so it is a typed audio error (poison);
 * a refused connection or a 5xx is worth retrying, so it stays a plain error.
 */
import { AudioInputError, quote } from '../errors.js';
import { concatBytes } from '../io/bytes.js';
import { nonRegularKind } from '../io/regular-file.js';
import { isHttpUrl } from '../io/url.js';

/** Largest audio a worker downloads: about 3.5 hours of 16-bit 44.1 kHz stereo WAV. */
export const MAX_DOWNLOAD_BYTES = 2 * 2 ** 30;

/** The path itself, or the bytes behind a URL. */
export async function resolveInput(input: string, maxBytes = MAX_DOWNLOAD_BYTES): Promise<string | Uint8Array> {
  if (isHttpUrl(input)) return download(input, maxBytes);
  await refuseIfNotRegular(input);
  return input;
}

/**
 * A FIFO or a device would block the worker for ever (its lock kept alive all the while), so it is a poison input.
 * A missing path is left to the decoder, which names it AUDIO_FILE_NOT_FOUND.
 */
async function refuseIfNotRegular(path: string): Promise<void> {
  const kind = await nonRegularKind(path);
  if (kind !== null)
    throw new AudioInputError('FILE_NOT_REGULAR', `${quote(path)} is not a regular file (${kind}); queue audio files.`);
}

async function download(url: string, maxBytes: number): Promise<Uint8Array> {
  const response = await fetch(url, { redirect: 'follow' });
  if (response.status >= 400 && response.status < 500) {
    await response.body?.cancel();
    throw new AudioInputError(
      'AUDIO_FILE_NOT_FOUND',
      `${url.slice(0, 300)} answered HTTP ${response.status}; check the URL (and that the file is public).`,
    );
  }
  if (!response.ok || !response.body)
    throw new Error(`${url.slice(0, 300)} answered HTTP ${response.status}; will retry.`);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body.cancel();
    throw tooLarge(url, maxBytes);
  }
  // Read in chunks and stop at the cap, so a server that lies about (or omits) its length cannot exhaust memory.
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(url, maxBytes);
    }
    chunks.push(read.value);
  }
  return concatBytes(chunks, size);
}

function tooLarge(url: string, maxBytes: number): AudioInputError {
  return new AudioInputError(
    'AUDIO_INVALID_TYPE',
    `${url.slice(0, 300)} is larger than ${maxBytes / 2 ** 20} MiB; split it or put it on a path the workers can read.`,
  );
}

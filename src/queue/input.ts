/**
 * A job's input as the model takes it: a local path as is, an http(s) URL fetched into memory with a size cap,
 * timeouts and a host check (download.ts).
 */
import { AudioInputError, quote } from '../errors.js';
import { nonRegularKind } from '../io/regular-file.js';
import { isHttpUrl } from '../io/url.js';
import { downloadUrl, type DownloadOptions } from './download.js';

/** Largest audio a worker downloads: about 3.5 hours of 16-bit 44.1 kHz stereo WAV. */
export const MAX_DOWNLOAD_BYTES = 2 * 2 ** 30;

/** The path itself, or the bytes behind a URL (fetched under `download`'s bounds and host check). */
export async function resolveInput(
  input: string,
  download: Partial<DownloadOptions> = {},
): Promise<string | Uint8Array> {
  if (isHttpUrl(input)) return downloadUrl(input, { maxBytes: MAX_DOWNLOAD_BYTES, ...download });
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

/**
 * A job URL's bytes, fetched with bounds on everything a server could stretch: its size (declared or not), the
 * time between two chunks (a server that sends one byte every few seconds never finishes and would hold a worker,
 * whose lock BullMQ renews all the while), the whole download's time, and its redirects, each of which goes
 * through the same host check as the first request (url-guard.ts). Node's http client rather than fetch, because
 * only it lets the connection use the address that was checked.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AudioInputError, Emotion2VecError, quote } from '../errors.js';
import { concatBytes } from '../io/bytes.js';
import { connectionGuard, type UrlPolicy } from './url-guard.js';

export interface DownloadOptions extends UrlPolicy {
  /** Largest body accepted. */
  readonly maxBytes: number;
  /** Longest wait for the next byte (the answer's headers first), in ms. Default 30 s. */
  readonly stallMs?: number;
  /** Longest the whole download may take, in ms. Default 15 minutes. */
  readonly deadlineMs?: number;
}

export const DEFAULT_DOWNLOAD_STALL_MS = 30_000;
export const DEFAULT_DOWNLOAD_DEADLINE_MS = 15 * 60_000;
const MAX_REDIRECTS = 5;

/**
 * The bytes behind an http(s) URL. A 4xx answer fails the same way on every retry, so it is a typed audio error
 * (poison); a refused connection, a 5xx or a timeout is worth retrying, so it is a plain error or DOWNLOAD_TIMEOUT.
 *
 * @throws UsageError `URL_NOT_ALLOWED` (a host at a special address), AudioInputError `AUDIO_FILE_NOT_FOUND`
 *   (4xx), `AUDIO_INVALID_TYPE` (over `maxBytes`), Emotion2VecError `DOWNLOAD_TIMEOUT`.
 */
export async function downloadUrl(url: string, options: DownloadOptions): Promise<Uint8Array> {
  const stallMs = options.stallMs ?? DEFAULT_DOWNLOAD_STALL_MS;
  const deadlineMs = options.deadlineMs ?? DEFAULT_DOWNLOAD_DEADLINE_MS;
  const deadline: Deadline = { at: Date.now() + deadlineMs, ms: deadlineMs };
  let target = new URL(url);
  for (let redirects = 0; ; redirects++) {
    const response = await open(target, options, stallMs, deadline);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location) {
      response.destroy();
      if (redirects >= MAX_REDIRECTS) throw new Error(`${shown(url)} redirects more than ${MAX_REDIRECTS} times.`);
      target = new URL(location, target);
      if (target.protocol !== 'http:' && target.protocol !== 'https:')
        throw new AudioInputError('AUDIO_FILE_NOT_FOUND', `${shown(url)} redirects to a URL that is not http(s).`);
      continue;
    }
    if (status >= 400 && status < 500) {
      response.destroy();
      throw new AudioInputError(
        'AUDIO_FILE_NOT_FOUND',
        `${shown(url)} answered HTTP ${status}; check the URL (and that the file is public).`,
      );
    }
    if (status < 200 || status >= 300) {
      response.destroy();
      throw new Error(`${shown(url)} answered HTTP ${status}; will retry.`);
    }
    return readBody(response, url, options.maxBytes, stallMs, deadline);
  }
}

/** When the whole download must be over: the time, and the limit it came from (for messages). */
interface Deadline {
  readonly at: number;
  readonly ms: number;
}

/** Sends the GET and resolves with the answer's headers, within the stall time and the deadline. */
function open(target: URL, policy: UrlPolicy, stallMs: number, deadline: Deadline): Promise<IncomingMessage> {
  const { lookup } = connectionGuard(target, policy);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // A fresh connection each time (no agent): every connection is made to an address checked for it.
    const request = send(target, { method: 'GET', agent: false, lookup, headers: { 'accept-encoding': 'identity' } });
    const timer = setTimeout(
      () => request.destroy(timeout(target.href, 'sent no answer', stallMs)),
      Math.min(stallMs, Math.max(0, deadline.at - Date.now())),
    );
    request.once('response', (response) => {
      clearTimeout(timer);
      resolve(response);
    });
    request.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end();
  });
}

/** The body, in chunks up to `maxBytes`; a pause longer than `stallMs` or a read past `deadline` ends it. */
function readBody(
  response: IncomingMessage,
  url: string,
  maxBytes: number,
  stallMs: number,
  deadline: Deadline,
): Promise<Uint8Array> {
  const declared = Number(response.headers['content-length'] ?? NaN);
  if (declared > maxBytes) {
    response.destroy();
    return Promise.reject(tooLarge(url, maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let stall: NodeJS.Timeout | undefined;
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return; // destroying the response reports its own abort: the first reason is the one
      settled = true;
      clearTimeout(stall);
      clearTimeout(overall);
      reject(error);
      response.destroy();
    };
    const arm = () => {
      clearTimeout(stall);
      stall = setTimeout(() => fail(timeout(url, 'stopped sending', stallMs)), stallMs);
    };
    const overall = setTimeout(
      () => fail(timeout(url, 'was still sending when the download took too long', deadline.ms)),
      Math.max(0, deadline.at - Date.now()),
    );
    arm();
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Stop at the cap, so a server that lies about (or omits) its length cannot exhaust memory.
      if (size > maxBytes) return fail(tooLarge(url, maxBytes));
      chunks.push(chunk);
      arm();
    });
    response.once('end', () => {
      if (settled) return;
      settled = true;
      clearTimeout(stall);
      clearTimeout(overall);
      resolve(concatBytes(chunks, size));
    });
    response.once('error', fail);
    response.once('aborted', () => fail(new Error(`${shown(url)} closed the connection mid-download; will retry.`)));
  });
}

function timeout(url: string, what: string, ms: number): Emotion2VecError {
  const limit = `${(ms / 1000).toFixed(0)} s`;
  return new Emotion2VecError(
    'DOWNLOAD_TIMEOUT',
    `${shown(url)} ${what} (${limit}); the download was stopped and the job will be retried. Serve the file ` +
      'faster, or raise --download-stall-timeout / --download-timeout.',
  );
}

function tooLarge(url: string, maxBytes: number): AudioInputError {
  return new AudioInputError(
    'AUDIO_INVALID_TYPE',
    `${shown(url)} is larger than ${maxBytes / 2 ** 20} MiB; split it or put it on a path the workers can read.`,
  );
}

function shown(url: string): string {
  return quote(url, 300);
}

/**
 * Hub models without a file system (browsers, workers, other runtimes): the files are fetched into memory and
 * kept in the Cache API (cache `emotion2vec-tfjs`, keyed by URL) where the runtime has one, so a second page visit
 * loads with no network request for weights. The model reads the files as they are (parsing the cached
 * checkpoint on each load is the "conversion" here; it is cheap next to the download).
 */
import { CheckpointError } from '../errors.js';
import { modelFileBound } from '../io/model-file-bounds.js';
import { hubFileUrl, mirrorHint, type HubModel } from './models.js';
import { isOffline, type HubOptions } from './progress.js';
import { concatBytes } from '../io/bytes.js';
import { TransferClock, TransferTimeout, tooLarge, transferTimes } from './transfer.js';

/** Checks one complete file of a model before it is kept (the Cache API) or used; throws to refuse it. */
export type HubBytesCheck = (file: string, bytes: Uint8Array) => void | Promise<void>;

/** Name of the Cache API cache that holds hub files. */
export const BROWSER_CACHE_NAME = 'emotion2vec-tfjs';

/**
 * Every file of the model as bytes (file name -> contents, what the model reads as in-memory files), from the
 * Cache API when it has them, else from the hub (then cached).
 */
export async function fetchHubModelFiles(
  model: HubModel,
  options: HubOptions = {},
  check?: HubBytesCheck,
): Promise<Record<string, Uint8Array>> {
  const cache = await openCache();
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const times = transferTimes(options);
  const required = new Set(model.files);
  const files: Record<string, Uint8Array> = {};
  for (const file of [...model.files, ...model.optionalFiles]) {
    const url = hubFileUrl(model, file, options.endpoints);
    const cached = await cache?.match(url);
    if (cached) {
      options.progress?.({ status: 'cached', file });
      const bytes = new Uint8Array(await cached.arrayBuffer());
      try {
        await check?.(file, bytes);
      } catch (error) {
        // A bad file in the cache (put there by an older version, or changed): dropped, so the next load fetches it.
        await cache?.delete(url).catch(() => undefined);
        throw error;
      }
      files[file] = bytes;
      continue;
    }
    if (isOffline(options)) {
      if (!required.has(file)) continue;
      throw new CheckpointError(
        'MODEL_OFFLINE',
        `${model.repo} is not in this browser's cache (Cache API "${BROWSER_CACHE_NAME}") and downloads are off. Load it once online, or serve its files yourself and load that URL.`,
      );
    }
    const maxBytes = modelFileBound(file);
    const clock = new TransferClock(times, model.sizes[file] ?? maxBytes);
    const controller = new AbortController();
    let response: Response;
    try {
      response = await clock.within(fetchImpl(url, { signal: controller.signal }), () => controller.abort());
    } catch (error) {
      throw new CheckpointError(
        'MODEL_DOWNLOAD_FAILED',
        `Could not download ${url}: ${(error as Error)?.message ?? String(error)}. ${mirrorHint(model)}`,
        { cause: error },
      );
    }
    if (response.status === 404 && !required.has(file)) continue;
    if (!response.ok)
      throw new CheckpointError(
        response.status === 404 ? 'MODEL_NOT_FOUND' : 'MODEL_DOWNLOAD_FAILED',
        `Could not download ${url}: HTTP ${response.status}. ${mirrorHint(model)}`,
      );
    const bytes = await readWithProgress(response, url, file, { maxBytes, clock, controller }, (loaded, total) =>
      options.progress?.({ status: 'download', file, loaded, total }),
    );
    if (model.sizes[file] !== undefined && bytes.length !== model.sizes[file])
      throw new CheckpointError(
        'MODEL_INTEGRITY',
        `${url} gave ${bytes.length} bytes but weights/known-models.json lists ${model.sizes[file]}. Load again.`,
      );
    // Only checked files are kept: a page served in place of config.yaml never enters the cache.
    await check?.(file, bytes);
    // Only whole files enter the cache; a failed put (quota) just means a download next time.
    await cache
      ?.put(url, new Response(bytes, { headers: { 'content-length': String(bytes.length) } }))
      .catch(() => undefined);
    files[file] = bytes;
  }
  return files;
}

async function openCache(): Promise<Cache | null> {
  if (typeof caches === 'undefined') return null;
  // Opaque origins (file://, some sandboxed frames) throw here: work without a cache.
  return caches.open(BROWSER_CACHE_NAME).catch(() => null);
}

/**
 * The body, reporting bytes as they arrive, within the file's stall timeout and deadline and its byte bound (counted
 * after decoding), and checked against Content-Length when the server gave one.
 */
async function readWithProgress(
  response: Response,
  url: string,
  file: string,
  limits: { maxBytes: number; clock: TransferClock; controller: AbortController },
  onProgress: (loaded: number, total: number | null) => void,
): Promise<Uint8Array<ArrayBuffer>> {
  const header = response.headers.get('content-length');
  const total = header !== null && !response.headers.get('content-encoding') ? Number(header) : null;
  const reader = response.body?.getReader();
  const cancel = () => {
    limits.controller.abort();
    void reader?.cancel().catch(() => undefined);
  };
  if (total !== null && total > limits.maxBytes) {
    cancel();
    throw tooLarge(url, file, limits.maxBytes, total);
  }
  if (total !== null) limits.clock.sizeKnown(total);
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let loaded = 0;
  try {
    for (;;) {
      const chunk = reader
        ? await limits.clock.within(reader.read(), cancel)
        : { done: true as const, value: undefined };
      if (chunk.done) break;
      if (loaded + chunk.value.length > limits.maxBytes) {
        cancel();
        throw tooLarge(url, file, limits.maxBytes);
      }
      chunks.push(chunk.value);
      loaded += chunk.value.length;
      onProgress(loaded, total);
    }
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    const why =
      error instanceof TransferTimeout
        ? error.message
        : `the connection dropped (${(error as Error)?.message ?? String(error)})`;
    throw new CheckpointError(
      'MODEL_DOWNLOAD_FAILED',
      `Could not download ${url}: ${why} after ${loaded} bytes. Load again.`,
      { cause: error },
    );
  }
  if (total !== null && loaded !== total)
    throw new CheckpointError(
      'MODEL_INTEGRITY',
      `${url} gave ${loaded} bytes but the server announced ${total}. Load again.`,
    );
  return concatBytes(chunks, loaded);
}

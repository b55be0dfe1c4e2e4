/**
 * Models named by id: the hub resolves the id and fetches its files; what is then loaded depends on the runtime.
 * Where a hub model cache is installed (Node: the converted folder in the disk cache, hub-cache.ts, installed by
 * `installNodePlatform`), the cache answers; elsewhere the hub's files are fetched into memory (through the
 * browser's Cache API) and read as they are. Anything that is not an id (a folder, a URL, files) passes through
 * unchanged, and so does an id that names an existing local folder (a clone of the hub repository keeps working).
 */
import { fetchHubModelFiles } from '../hub/browser-cache.js';
import { looksLikeHubId, parseHubName, resolveHubModel, type HubModel } from '../hub/models.js';
import type { HubOptions } from '../hub/progress.js';
import { getPlatform } from '../platform.js';
import { checkHubFile } from './hub-checks.js';
import type { ModelSource } from './sources.js';

/** Fetches a hub model into a runtime's own cache and returns what to load (Node: the cache's converted folder). */
export type HubModelCache = (model: HubModel, options: HubOptions) => Promise<ModelSource>;

let installedCache: HubModelCache | undefined;

/** Installs the running platform's hub model cache; `undefined` removes it (hub files are then read from memory). */
export function installHubModelCache(cache: HubModelCache | undefined): void {
  installedCache = cache;
}

/** What `readModelContents` should read for `source`: a hub id becomes its cached folder or its files. */
export async function resolveModelSource(source: ModelSource, options: HubOptions = {}): Promise<ModelSource> {
  if (typeof source !== 'string' || !looksLikeHubId(source)) return source;
  const platform = getPlatform();
  if (platform.isDirectory) {
    const isLocal = await platform.isDirectory(source).then(
      () => true,
      () => false,
    );
    if (isLocal) return source;
  }
  const model = resolveHubModel(source, parseHubName(options.hub));
  return installedCache
    ? installedCache(model, options)
    : fetchHubModelFiles(model, options, (file, bytes) => checkHubFile(model, file, bytes));
}

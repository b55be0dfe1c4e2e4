/**
 * Turns a model id into something `readModelContents` reads: the Node cache's converted folder, or in-memory files
 * elsewhere. Anything that is not an id (a folder, a URL, files) passes through unchanged, and so does an id that
 * names an existing local folder (a clone of the hub repository keeps working).
 */
import { getPlatform } from '../platform.js';
import type { ModelSource } from '../model/sources.js';
import { fetchHubModelFiles } from './browser-cache.js';
import { looksLikeHubId, parseHubName, resolveHubModel } from './models.js';
import type { HubOptions } from './progress.js';

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
  return platform.fetchHubModel ? platform.fetchHubModel(model, options) : fetchHubModelFiles(model, options);
}

/**
 * Hub models on disk (Node): the hub downloads a model's files once into its cache folder (`raw/`, see
 * src/hub/node-cache.ts) and they are converted once beside them (`converted/`), so that every later load,
 * offline too, reads the converted folder. `installNodePlatform` installs {@link ensureCachedModel} as the hub
 * model cache that `Emotion2Vec.load` asks for a model named by id (hub-source.ts).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { modelCacheFolders, downloadModelFiles, withModelLock } from '../hub/node-cache.js';
import type { HubModel } from '../hub/models.js';
import type { HubOptions } from '../hub/progress.js';
import { convertModel } from './convert.js';
import { CONVERTED_MANIFEST } from './converted.js';

/**
 * The converted folder of a hub model, downloading and converting it first when the cache lacks it. The model's
 * cache lock is held while it does, so two processes starting together download and convert it once.
 *
 * @throws CheckpointError `MODEL_OFFLINE` (offline and not cached), `MODEL_DOWNLOAD_FAILED`, `MODEL_INTEGRITY`,
 *   `MODEL_NOT_FOUND` (the hub has no such file); each names the URLs and the folder to fetch into by hand.
 */
export async function ensureCachedModel(model: HubModel, options: HubOptions = {}): Promise<string> {
  const folders = modelCacheFolders(model, options);
  const converted = () =>
    stat(join(folders.converted, CONVERTED_MANIFEST)).then(
      () => true,
      () => false,
    );
  if (await converted()) {
    options.progress?.({ status: 'cached', file: CONVERTED_MANIFEST });
    return folders.converted;
  }
  return withModelLock(model, options, async () => {
    // Another process may have finished while this one waited for the lock.
    if (await converted()) return folders.converted;
    await downloadModelFiles(model, folders.raw, options);
    options.progress?.({ status: 'converting' });
    await convertModel(folders.raw, folders.converted);
    return folders.converted;
  });
}

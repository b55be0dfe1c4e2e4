/**
 * Hub models on disk (Node): the hub downloads a model's files once into its cache folder (`raw/`, see
 * src/hub/node-cache.ts) and they are converted once beside them (`converted/`), so that every later load,
 * offline too, reads the converted folder. `installNodePlatform` installs {@link ensureCachedModel} as the hub
 * model cache that `Emotion2Vec.load` asks for a model named by id (hub-source.ts).
 *
 * Nothing unchecked is kept: each downloaded file passes hub-checks.ts before it enters `raw/` (a page of HTML
 * served as config.yaml, another model under a known id), files found in `raw/` (put there by hand, or by an older
 * version) are checked before they are converted, and the converted folder records a checksum of every tensor,
 * checked as it loads (converted.ts). When something bad is in the cache anyway, the error names the file to delete.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, isEmotion2VecError } from '../errors.js';
import { FileRefusal } from '../platform.js';
import { MODEL_FILE_MAX_BYTES } from '../io/model-file-bounds.js';
import { openRegularFile, readRegularFile } from '../io/regular-file.js';
import { downloadModelFiles, modelCacheFolders, withModelLock } from '../hub/node-cache.js';
import { allFiles, type HubModel } from '../hub/models.js';
import type { HubOptions } from '../hub/progress.js';
import { convertModel } from './convert.js';
import { CONVERTED_MANIFEST } from './converted.js';
import { checkConvertedShape, checkHubFile, inCachedFile, WEIGHTS_HEAD_BYTES } from './hub-checks.js';

/**
 * The converted folder of a hub model, downloading and converting it first when the cache lacks it (or holds one
 * converted before tensors carried checksums). The model's cache lock is held while it does, so two processes
 * starting together download and convert it once.
 *
 * @throws CheckpointError `MODEL_OFFLINE` (offline and not cached), `MODEL_DOWNLOAD_FAILED`, `MODEL_INTEGRITY`,
 *   `MODEL_NOT_FOUND` (the hub has no such file), `FILE_TOO_LARGE`; each names the URLs and the folder to fetch into
 *   by hand, or the cached file to delete.
 */
export async function ensureCachedModel(model: HubModel, options: HubOptions = {}): Promise<string> {
  const folders = modelCacheFolders(model, options);
  const current = async (): Promise<'current' | 'unchecked' | 'absent'> => {
    const manifest = await readManifest(folders.converted);
    if (!manifest) return 'absent';
    if (model.expected && manifest.modelConf) {
      try {
        checkConvertedShape(model, manifest.modelConf, `its converted ${CONVERTED_MANIFEST}`);
      } catch (error) {
        throw inCachedFile(error, join(folders.converted, CONVERTED_MANIFEST), folders.root);
      }
    }
    return manifest.checksums ? 'current' : 'unchecked';
  };
  if ((await current()) === 'current') {
    options.progress?.({ status: 'cached', file: CONVERTED_MANIFEST });
    return folders.converted;
  }
  return withModelLock(model, options, async () => {
    // Another process may have finished while this one waited for the lock.
    const state = await current();
    if (state === 'current') return folders.converted;
    try {
      await downloadModelFiles(model, folders.raw, options, async (file, path) =>
        checkHubFile(model, file, await readHead(file, path)),
      );
    } catch (error) {
      // Offline, with a folder converted before checksums and no raw files to convert again: it still loads.
      if (state === 'unchecked' && isEmotion2VecError(error) && error.code === 'MODEL_OFFLINE')
        return folders.converted;
      throw error;
    }
    for (const file of allFiles(model)) {
      const path = join(folders.raw, file);
      if (!(await isFile(path))) continue;
      try {
        checkHubFile(model, file, await readHead(file, path));
      } catch (error) {
        throw inCachedFile(error, path, folders.root);
      }
    }
    options.progress?.({ status: 'converting' });
    try {
      await convertModel(folders.raw, folders.converted);
    } catch (error) {
      // The files passed their checks but do not make a model (a damaged model.pt...): say which folder to clear.
      throw inCachedFile(error, folders.raw, folders.root);
    }
    return folders.converted;
  });
}

/**
 * A converted folder's model.json, as far as this module needs it: its model_conf (null when unreadable) and whether
 * every tensor carries a checksum. Null when there is none, or it is not a regular file (then converted again).
 */
async function readManifest(
  folder: string,
): Promise<{ modelConf: Record<string, unknown> | null; checksums: boolean } | null> {
  let text: string;
  try {
    const bytes = await readRegularFile(join(folder, CONVERTED_MANIFEST), {
      maxBytes: MODEL_FILE_MAX_BYTES['model.json'],
    });
    text = new TextDecoder().decode(bytes);
  } catch {
    return null;
  }
  try {
    const manifest = JSON.parse(text) as {
      modelConf?: unknown;
      weightsManifest?: { weights?: { checksum?: unknown }[] }[];
    };
    const weights = (manifest.weightsManifest ?? []).flatMap((group) => group.weights ?? []);
    const modelConf = manifest.modelConf;
    return {
      modelConf: typeof modelConf === 'object' && modelConf !== null ? (modelConf as Record<string, unknown>) : null,
      checksums: weights.length > 0 && weights.every((weight) => typeof weight.checksum === 'string'),
    };
  } catch {
    // Damaged: converted again from the raw files.
    return { modelConf: null, checksums: false };
  }
}

/**
 * config.yaml and tokens.txt whole (within their bounds), a weights file's first bytes; a file that is not a
 * regular one, or too large, is refused with its typed error.
 */
async function readHead(file: string, path: string): Promise<Uint8Array> {
  try {
    if (file === 'config.yaml' || file === 'tokens.txt')
      return await readRegularFile(path, { maxBytes: MODEL_FILE_MAX_BYTES[file] });
    const opened = await openRegularFile(path);
    const head = new Uint8Array(Math.min(WEIGHTS_HEAD_BYTES, opened.size));
    return head.subarray(0, opened.readInto(0, head));
  } catch (error) {
    if (error instanceof FileRefusal)
      throw new CheckpointError(error.code, `${error.message} (${file})`, { cause: error, details: error.details });
    throw error;
  }
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isFile(),
    () => false,
  );
}

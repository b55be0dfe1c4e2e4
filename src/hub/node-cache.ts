/**
 * The Node cache of hub models. Each model named by id has one folder:
 *
 * ```
 * <cache>/<hub>/<owner>--<name>/raw/         the hub's files (config.yaml, model.pt, tokens.txt), downloaded here
 * <cache>/<hub>/<owner>--<name>/converted/   model.json + shards, which the model room converts the raw files into
 * ```
 *
 * (an id with `--` in its owner or name goes to `<cache>/<hub>/_/<owner>/<name>/`: models.ts `repoFolderName`).
 * A file enters `raw/` only whole and checked (download.ts): its bound, its pinned size and sha256, and the caller's
 * check of its content (the model room parses config.yaml and tokens.txt and compares a known model's shape).
 *
 * `<cache>` is `options.cacheDir`, else `$EMOTION2VEC_CACHE`, else `~/.cache/emotion2vec-tfjs`. A lock on the
 * model's folder ({@link withModelLock}) keeps two processes (queue workers starting together) from filling it at
 * once: from downloading into one `.part` file, or converting into one folder.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { CheckpointError, isEmotion2VecError } from '../errors.js';
import { modelFileBound } from '../io/model-file-bounds.js';
import { downloadFile } from './download.js';
import { hubFileUrl, mirrorHint, repoFolderName, type HubModel } from './models.js';
import { isOffline, type HubOptions } from './progress.js';
import { transferTimes } from './transfer.js';

/** Checks one complete file of a model (`file` its name, `path` where it lies) before it enters the cache. */
export type HubFileCheck = (file: string, path: string) => Promise<void>;

/** `options.cacheDir`, else `$EMOTION2VEC_CACHE`, else `~/.cache/emotion2vec-tfjs`. */
export function cacheRoot(options: Pick<HubOptions, 'cacheDir'> = {}): string {
  return resolve(options.cacheDir ?? process.env.EMOTION2VEC_CACHE ?? join(homedir(), '.cache', 'emotion2vec-tfjs'));
}

/** The cache folders of one model. */
export function modelCacheFolders(
  model: Pick<HubModel, 'hub' | 'repo'>,
  options: Pick<HubOptions, 'cacheDir'> = {},
): { root: string; raw: string; converted: string } {
  const root = join(cacheRoot(options), model.hub, ...repoFolderName(model.repo));
  return { root, raw: join(root, 'raw'), converted: join(root, 'converted') };
}

/**
 * Runs `task` holding the lock on the model's cache folder (waiting up to 12 minutes for another process's
 * download and conversion; a lock not refreshed for 30 s is taken over, its process having died). `task` should
 * first check whether what it would make is there already: the process that held the lock may have made it.
 */
export async function withModelLock<T>(
  model: Pick<HubModel, 'hub' | 'repo'>,
  options: Pick<HubOptions, 'cacheDir'>,
  task: () => Promise<T>,
): Promise<T> {
  const { root } = modelCacheFolders(model, options);
  await mkdir(root, { recursive: true });
  const release = await lockfile.lock(root, {
    stale: 30_000,
    update: 5_000,
    retries: { retries: 720, minTimeout: 1000, maxTimeout: 1000 },
    lockfilePath: `${root}.lock`,
  });
  try {
    return await task();
  } finally {
    await release();
  }
}

/**
 * Downloads every file of the model into `folder` (skipping whole files already there).
 *
 * @throws CheckpointError `MODEL_OFFLINE` (offline and not cached), `MODEL_DOWNLOAD_FAILED`, `MODEL_INTEGRITY`,
 *   `MODEL_NOT_FOUND` (the hub has no such file); each names the URLs and the folder to fetch into by hand.
 */
export async function downloadModelFiles(
  model: HubModel,
  folder: string,
  options: HubOptions = {},
  check?: HubFileCheck,
): Promise<void> {
  await mkdir(folder, { recursive: true });
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const times = transferTimes(options);
  const required = new Set(model.files);
  for (const file of [...model.files, ...model.optionalFiles]) {
    const destination = join(folder, file);
    if (await exists(destination)) {
      options.progress?.({ status: 'cached', file });
      continue;
    }
    if (await exists(`${destination}.absent`)) continue;
    if (isOffline(options)) {
      // Files put there by hand are enough; only a missing required one needs the network.
      if (required.has(file)) throw offlineError(model, folder, options);
      continue;
    }
    const url = hubFileUrl(model, file, options.endpoints);
    let outcome: 'done' | 'absent';
    try {
      outcome = await downloadFile(url, destination, {
        fetch: fetchImpl,
        expectedSize: model.sizes[file],
        sha256: model.sha256[file],
        maxBytes: modelFileBound(file),
        file,
        times,
        ...(check ? { check: (path: string) => check(file, path).catch((error) => refused(error, url, file)) } : {}),
        onProgress: (loaded, total) => options.progress?.({ status: 'download', file, loaded, total }),
      });
    } catch (error) {
      if (error instanceof CheckpointError) throw withManualFetchHint(error, model, folder, options);
      throw error;
    }
    if (outcome === 'absent') {
      if (required.has(file)) {
        throw new CheckpointError(
          'MODEL_NOT_FOUND',
          `${url} does not exist (HTTP 404): is ${model.repo} the right id on ${model.hub}? Known ids: emotion2vec/emotion2vec_plus_large, _plus_base, _plus_seed, emotion2vec_base (iic/... on ModelScope). ${mirrorHint(model)}`,
          {
            details: { url },
          },
        );
      }
      // Remember the absence so an offline load does not ask for it.
      await writeFile(`${destination}.absent`, '');
    }
  }
}

/** A check's error, saying which download it refused (the file is not kept). */
function refused(error: unknown, url: string, file: string): never {
  if (!isEmotion2VecError(error)) throw error;
  const Kind = error.constructor as new (...args: ConstructorParameters<typeof CheckpointError>) => CheckpointError;
  throw new Kind(error.code, `The ${file} that ${url} served was refused (it was not kept): ${error.message}`, {
    cause: error,
    details: error.details,
  });
}

function offlineError(model: HubModel, raw: string, options: HubOptions): CheckpointError {
  return new CheckpointError(
    'MODEL_OFFLINE',
    `${model.repo} is not in the cache (${modelCacheFolders(model, options).root}) and downloads are off (offline). ${manualFetchHint(model, raw, options)}`,
    { details: { repo: model.repo, folder: raw } },
  );
}

function withManualFetchHint(
  error: CheckpointError,
  model: HubModel,
  raw: string,
  options: HubOptions,
): CheckpointError {
  return new CheckpointError(error.code, `${error.message} ${manualFetchHint(model, raw, options)}`, {
    cause: error,
    details: error.details,
  });
}

/** How to get the files without this library: the URLs, and the folder to put them in. */
function manualFetchHint(model: HubModel, raw: string, options: HubOptions): string {
  const urls = [...model.files, ...model.optionalFiles].map((file) => hubFileUrl(model, file, options.endpoints));
  return `${mirrorHint(model)} To fetch it by hand, download ${urls.join(' , ')} into ${raw} (then load again, online or not), or pass that folder itself as the model.`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * The model files the web page downloads to run the model itself: always the converted layout (model.json +
 * 4 MiB shards), which browsers fetch and cache in pieces. A checkpoint is converted once (convertModel, with
 * its check against the network), into a temporary folder that lives as long as the server.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { convertModel } from '../model/convert.js';
import { CONVERTED_MANIFEST, type ConvertedManifest } from '../model/converted.js';

/** A converted model folder that the server may expose file by file. */
export interface PageModel {
  readonly folder: string;
  /** model.json and its shards: the only names served. */
  readonly files: readonly string[];
  /** sha256 of every file: the page keys its Cache API entry by it, so a new model is never mixed with old shards. */
  readonly fingerprint: string;
  /** Removes the folder when it was made for the server. */
  dispose(): Promise<void>;
}

async function hashFiles(folder: string, files: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const name of files) {
    hash.update(`${name}\0`);
    for await (const chunk of createReadStream(join(folder, name))) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

async function describeFolder(folder: string, dispose: () => Promise<void>): Promise<PageModel> {
  const manifest = JSON.parse(await readFile(join(folder, CONVERTED_MANIFEST), 'utf8')) as ConvertedManifest;
  const files = [CONVERTED_MANIFEST, ...manifest.weightsManifest.flatMap((group) => group.paths)];
  for (const name of files) {
    if (!/^[\w.-]+$/.test(name) || !(await stat(join(folder, name)).catch(() => null))?.isFile()) {
      throw new CheckpointError(
        'CHECKPOINT_FORMAT',
        `The converted model in ${folder} lists "${name.slice(0, 80)}", which is not a file beside model.json. Convert the model again with emotion2vec convert.`,
      );
    }
  }
  return { folder, files, fingerprint: await hashFiles(folder, files), dispose };
}

/**
 * The converted files of a model: the folder itself when it is already converted, else a conversion of the
 * checkpoint into a temporary folder (removed by `dispose`).
 */
export async function preparePageModel(source: string): Promise<PageModel> {
  if (existsSync(join(source, CONVERTED_MANIFEST))) return describeFolder(source, async () => undefined);
  const folder = await mkdtemp(join(tmpdir(), 'emotion2vec-page-model-'));
  try {
    await convertModel(source, folder);
    return await describeFolder(folder, () => rm(folder, { recursive: true, force: true }));
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
}

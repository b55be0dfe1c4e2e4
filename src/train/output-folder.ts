/**
 * The folders `train-head --out` and `evaluate --out` write into (Node), held to the rules result folders follow:
 * files are written atomically (results/atomic-write.ts: a fresh temp file renamed into place, so a link planted
 * where a file goes is replaced, never written through), the embedding cache folder in it must be a real folder,
 * and a folder holding anything but what the command itself writes is refused unless the caller says `force`. A
 * folder holding a model is never a head's folder: the head's tokens.txt would replace the model's.
 */
import { lstat, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { quote, UsageError } from '../errors.js';

/** The embedding cache's folder inside an output folder (train-head and evaluate both keep it there). */
export const CACHE_FOLDER = 'cache';

/** Files that make a folder a model (a checkpoint or a converted one). */
const MODEL_FILE = /^(config\.yaml|model\.json|.+\.(pt|pth|safetensors)|group\d+-shard\d+of\d+\.bin)$/;

export interface OutputFolderRules {
  /** The option that named the folder, for messages (`--out`). */
  readonly option: string;
  /** Whether a file name is one the command writes (a previous run's output is replaced). */
  readonly isOwnFile: (name: string) => boolean;
  /** Write into a folder that holds other files too. */
  readonly force?: boolean;
  /** Refuse a folder holding a model even with `force`. */
  readonly neverIntoModel?: boolean;
}

/**
 * Makes `dir` (with its parents) or checks the existing one against the rules.
 *
 * @throws UsageError `OUTPUT_UNSAFE_PATH` (a model's folder, other files without `force`, a cache folder that is a
 *   link), `OUTPUT_WRITE_FAILED` (a file, or a folder that cannot be made).
 */
export async function prepareOutputFolder(dir: string, rules: OutputFolderRules): Promise<void> {
  const info = await stat(dir).catch(() => null);
  if (info && !info.isDirectory())
    throw new UsageError(
      'OUTPUT_WRITE_FAILED',
      `${rules.option} ${quote(dir)} is a file; the output is written into a folder. Name a new or empty folder.`,
    );
  if (!info) {
    await mkdir(dir, { recursive: true }).catch((error: unknown) => {
      throw new UsageError(
        'OUTPUT_WRITE_FAILED',
        `Cannot create ${rules.option} ${quote(dir)}: ${quote((error as Error)?.message ?? String(error), 200)}.`,
        { cause: error },
      );
    });
    return;
  }
  const names = await readdir(dir);
  const model = names.filter((name) => MODEL_FILE.test(name));
  if (model.length > 0 && (rules.neverIntoModel || !rules.force))
    throw unsafe(
      `${rules.option} ${quote(dir)} holds a model (${listed(model)}); writing there would mix this output with the model's files${rules.neverIntoModel ? '' : ' (pass --force to write there anyway)'}. Name a folder of its own`,
    );
  const others = names.filter((name) => !rules.isOwnFile(name) && name !== CACHE_FOLDER && !MODEL_FILE.test(name));
  if (others.length > 0 && !rules.force)
    throw unsafe(
      `${rules.option} ${quote(dir)} holds other files (${listed(others)}). Name a new or empty folder, or pass --force to write there anyway`,
    );
  const cache = await lstat(join(dir, CACHE_FOLDER)).catch(() => null);
  if (cache && !cache.isDirectory())
    throw unsafe(
      `${quote(join(dir, CACHE_FOLDER))} is not a plain folder (a link or a file), so the embedding cache would be written elsewhere; move it away`,
    );
}

function listed(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((name) => quote(name, 60));
  return `${shown.join(', ')}${names.length > 5 ? `, ... ${names.length} in all` : ''}`;
}

function unsafe(what: string): UsageError {
  return new UsageError('OUTPUT_UNSAFE_PATH', `Refusing to write: ${what}.`);
}

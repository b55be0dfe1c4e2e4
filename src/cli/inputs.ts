/**
 * What `analyze` was asked to do, as a flat list of inputs with keys: audio files as given, folders searched
 * recursively for audio files, and list files — Kaldi `wav.scp` ("<key> <path>" a line) or one path a line.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { SEARCHED_AUDIO_EXTENSIONS } from '../audio/formats.js';
import { UsageError } from '../errors.js';
import { outputKey } from '../results/output-key.js';
import { printable } from '../results/safe-name.js';
import { isPipeCommand, keyedLines, listLines, readListFile } from '../io/list-file.js';
import { nonRegularKind } from '../io/regular-file.js';

/** One input: where its audio is, and the key that names its result. */
export interface InputItem {
  readonly path: string;
  /** The wav.scp key, else the file name without its extension. */
  readonly key: string;
  /** True for a wav.scp key (kept as the record's key); file-name keys become the unique folder name. */
  readonly listedKey?: boolean;
  /** Why this path is refused before reading it (a FIFO, a device...): reading those could block or never end. */
  readonly refused?: string;
}

/** A list file: `.scp` is Kaldi's "key path"; the others hold one path a line. */
const SCP_EXTENSIONS = new Set(['.scp']);
const LIST_EXTENSIONS = new Set(['.lst', '.list', '.txt']);

/**
 * Expands the command's arguments. A path that does not exist stays an input (it gets its own "file not found"
 * result, the others go on). Symbolic links inside folders are not followed (no loops, no escaping the folder).
 *
 * @throws UsageError `INVALID_ARGUMENT` for a list file that cannot be read or has a malformed line.
 */
export async function collectInputs(args: readonly string[]): Promise<InputItem[]> {
  const items: InputItem[] = [];
  for (const arg of args) {
    const info = await stat(arg).catch(() => null);
    const ext = extname(arg).toLowerCase();
    if (info?.isDirectory()) items.push(...(await audioFilesUnder(arg)).map(fileItem));
    else if (info?.isFile() && SCP_EXTENSIONS.has(ext)) items.push(...parseList(await readList(arg), arg, true));
    else if (info?.isFile() && LIST_EXTENSIONS.has(ext)) items.push(...parseList(await readList(arg), arg, false));
    else items.push(fileItem(arg));
  }
  return Promise.all(items.map(refuseIfNotRegular));
}

/** Marks a path that exists but is not a regular file (a FIFO, a device): reading it could block or never end. */
async function refuseIfNotRegular(item: InputItem): Promise<InputItem> {
  const kind = await nonRegularKind(item.path);
  return kind === null
    ? item
    : { ...item, refused: `${printable(item.path)} is not a regular file (${kind}); pass audio files.` };
}

/**
 * Audio files under `folder` (by the extensions of the format table's searched formats), recursively, in a stable
 * (sorted) order.
 */
export async function audioFilesUnder(folder: string): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(folder, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) found.push(...(await audioFilesUnder(path)));
    else if (entry.isFile() && SEARCHED_AUDIO_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(path);
  }
  return found;
}

/**
 * Lines of a list file. wav.scp: "<key> <path>", the path being the rest of the line (it may hold spaces); Kaldi
 * pipes ("... |") are refused. Plain lists: one path a line. Blank lines and `#` comments are skipped; relative
 * paths are relative to the current folder, as Kaldi reads them.
 */
export function parseList(text: string, listName: string, scp: boolean): InputItem[] {
  if (!scp) return listLines(text).map(({ text: path }) => fileItem(path));
  return keyedLines(text, listName, 'path', 'INVALID_ARGUMENT').map(({ key, value: path, line }) => {
    if (isPipeCommand(path)) {
      throw new UsageError(
        'INVALID_ARGUMENT',
        `${printable(listName)} line ${line}: Kaldi pipe commands ("... |") are not run; convert the audio to files first (e.g. with sox or ffmpeg) and list their paths.`,
      );
    }
    return { key, path, listedKey: true };
  });
}

function readList(path: string): Promise<string> {
  return readListFile(path, { code: 'INVALID_ARGUMENT' });
}

function fileItem(path: string): InputItem {
  return { path, key: outputKey(basename(path), { bareName: true }) };
}

/**
 * The one writer of a result folder, shared by the CLI, the server and the queue workers:
 *
 * ```
 * <output root>/<safe key>/result.json          the record (src/results/record.ts), written last
 *                          embedding.npy        when an embedding is given (float32, numpy.load reads it)
 *                          processed_audio.wav  the 16 kHz mono float waveform the model saw
 *                          <extra files>        e.g. timeline.json / .csv / .svg
 * <output root>/summary.csv                     one row per input of a run (see summary.ts)
 * ```
 *
 * Every file is written atomically and result.json comes last, so a folder with a readable result.json is complete
 * (what `--resume` checks) and a killed process never leaves half a result. Nothing is ever written outside the
 * root: the key is made one safe path segment, the resolved folder is checked to sit directly in the real root, and
 * a folder that is a symlink is refused.
 */
import { lstat, mkdir, readFile, realpath } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
// wavefile ships CommonJS without named ESM exports: take the class off its default export.
import wavefile from 'wavefile';
import { MODEL_SAMPLE_RATE } from '../audio/prepare.js';
import { UsageError } from '../errors.js';
import { encodeNpy } from '../io/npy.js';
import type { Embedding } from '../model/emotion2vec.js';
import { writeFileAtomic } from './atomic-write.js';
import type { ResultRecord } from './record.js';
import { safeOutputName } from './safe-name.js';

export { safeOutputName, uniqueOutputNames, printable, MAX_OUTPUT_NAME_BYTES } from './safe-name.js';
export { formatSummaryCsv, writeSummaryCsv, SUMMARY_FILE, type SummaryEntry } from './summary.js';

export const RESULT_FILE = 'result.json';
export const EMBEDDING_FILE = 'embedding.npy';
export const PROCESSED_AUDIO_FILE = 'processed_audio.wav';
const OWN_FILES = new Set([RESULT_FILE, EMBEDDING_FILE, PROCESSED_AUDIO_FILE]);

/** What goes into one result folder. */
export interface ResultFolderContents {
  /** The record; its `embedding` and `files` fields are filled in here from what is written. */
  readonly record: ResultRecord;
  /** Written as embedding.npy. */
  readonly embedding?: Embedding;
  /** 16 kHz mono samples (a prediction's `waveform`), written as a 32-bit float WAV. */
  readonly processedAudio?: Float32Array;
  /** More files by name (one plain, safe file name each): text is written as UTF-8. */
  readonly extraFiles?: Readonly<Record<string, string | Uint8Array>>;
}

/** Where a result folder went and what it holds. */
export interface WrittenResultFolder {
  /** Absolute path of the folder. */
  readonly path: string;
  /** Its name under the root (the safe key). */
  readonly name: string;
  /** The record as written to result.json. */
  readonly record: ResultRecord;
}

/**
 * Writes `<outputRoot>/<safeOutputName(key)>/` and its files. An existing folder of that name is reused and its
 * files replaced (callers pick unique names with `uniqueOutputNames`).
 *
 * @throws UsageError `OUTPUT_UNSAFE_PATH` when the folder would not sit inside the root (a symlinked folder) or an
 *   extra file name is not a plain safe name; file system errors (EACCES, ENOSPC...) as they come.
 */
export async function writeResultFolder(outputRoot: string, key: string, contents: ResultFolderContents): Promise<WrittenResultFolder> {
  const extraFiles = Object.entries(contents.extraFiles ?? {});
  for (const [name] of extraFiles) checkExtraFileName(name);
  const name = safeOutputName(key);
  const folder = await ensureFolderInside(outputRoot, name);

  const files: string[] = [];
  let record: ResultRecord = contents.record;
  if (contents.embedding) {
    const { data, shape, granularity } = contents.embedding;
    await writeFileAtomic(join(folder, EMBEDDING_FILE), encodeNpy(data, shape));
    record = { ...record, embedding: { shape: [...shape], granularity, file: EMBEDDING_FILE } };
    files.push(EMBEDDING_FILE);
  }
  if (contents.processedAudio) {
    await writeFileAtomic(join(folder, PROCESSED_AUDIO_FILE), encodeFloatWav(contents.processedAudio, MODEL_SAMPLE_RATE));
    files.push(PROCESSED_AUDIO_FILE);
  }
  for (const [fileName, data] of extraFiles) {
    await writeFileAtomic(join(folder, fileName), data);
    files.push(fileName);
  }
  record = { ...record, files };
  // Last: its presence marks the folder complete.
  await writeFileAtomic(join(folder, RESULT_FILE), `${JSON.stringify(record, null, 2)}\n`);
  return { path: folder, name, record };
}

/**
 * The record of a complete result folder, or null when `<outputRoot>/<safe key>/result.json` is missing,
 * unreadable, not a regular file, or not a result record (what `--resume` redoes).
 */
export async function readCompleteResult(outputRoot: string, key: string): Promise<ResultRecord | null> {
  const file = join(resolve(outputRoot), safeOutputName(key), RESULT_FILE);
  try {
    const info = await lstat(file);
    // A result.json is a few KiB; anything else is not ours.
    if (!info.isFile() || info.size > 4 * 2 ** 20) return null;
    const record = JSON.parse(await readFile(file, 'utf8')) as Partial<ResultRecord>;
    return typeof record === 'object' && record !== null && typeof record.key === 'string' && Array.isArray(record.scores) && typeof record.timestamp === 'string'
      ? (record as ResultRecord)
      : null;
  } catch {
    return null;
  }
}

/** A 32-bit float mono WAV (WAVE_FORMAT_IEEE_FLOAT): the samples exactly, readable by soundfile, torchaudio, browsers. */
export function encodeFloatWav(samples: Float32Array, sampleRate: number): Uint8Array {
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, sampleRate, '32f', samples);
  return wav.toBuffer();
}

/** Creates the root and `<root>/<name>` and proves the folder is a real directory directly inside the real root. */
async function ensureFolderInside(outputRoot: string, name: string): Promise<string> {
  const root = resolve(outputRoot);
  await mkdir(root, { recursive: true });
  const realRoot = await realpath(root);
  const folder = join(realRoot, name);
  const rel = relative(realRoot, folder);
  if (rel !== name || rel.includes(sep) || rel.startsWith('..')) throw unsafe(`the folder name ${JSON.stringify(name)} would leave ${realRoot}`);
  await mkdir(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const info = await lstat(folder);
  if (!info.isDirectory()) throw unsafe(`${folder} exists and is not a plain folder (a symlink or a file); move it away or pick another output folder`);
  return folder;
}

function checkExtraFileName(name: string): void {
  if (safeOutputName(name) !== name || OWN_FILES.has(name.toLowerCase())) {
    throw unsafe(`${JSON.stringify(name.slice(0, 80))} is not a plain file name for a result folder (or is one of ${[...OWN_FILES].join(', ')})`);
  }
}

function unsafe(what: string): UsageError {
  return new UsageError('OUTPUT_UNSAFE_PATH', `Refusing to write: ${what}.`);
}

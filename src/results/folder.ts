/**
 * The one writer of a result folder, shared by the CLI, the server and the queue workers:
 *
 * ```
 * <output root>/<safe key>/result.json          the record (src/results/record.ts), written last
 *                          embedding.npy        when an embedding is given (float32, numpy.load reads it); the
 *                                               frame embeddings of long recordings stream in window by window
 *                                               ({@link EmbeddingStreams}), never held whole
 *                          processed_audio.wav  the 16 kHz mono waveform the model saw (16-bit PCM, or float32)
 *                          <extra files>        e.g. timeline.json / .csv / .svg, frame_scores.json / .csv / .svg
 * <output root>/summary.csv                     one row per input of a run (see summary.ts)
 * ```
 *
 * Every file is written atomically and result.json comes last, so a folder with a readable result.json is complete
 * (what `--resume` checks) and a killed process never leaves half a result. Nothing is ever written outside the
 * root: the key is made one safe path segment, the resolved folder is checked to sit directly in the real root, and
 * a folder that is a symlink is refused.
 */
import { lstat, mkdir, readFile, realpath, rename, rmdir, unlink } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { MODEL_SAMPLE_RATE } from '../audio/frame-geometry.js';
import { floatWavParts, pcm16WavParts } from '../audio/wav.js';
import { isEmotion2VecError, UsageError } from '../errors.js';
import { encodeNpy } from '../io/npy.js';
import { NpyFileWriter } from '../io/npy-file.js';
import type { Embedding } from '../model/emotion2vec.js';
import type { FrameSink } from '../model/long-audio.js';
import { tempPathBeside, writeFileAtomic } from './atomic-write.js';
import type { ResultRecord } from './record.js';
import { printable, safeOutputName } from './safe-name.js';

export { safeOutputName, uniqueOutputNames, printable, MAX_OUTPUT_NAME_BYTES } from './safe-name.js';
export {
  formatSummaryCsv,
  writeSummaryCsv,
  RESERVED_OUTPUT_NAMES,
  SUMMARY_FILE,
  type SummaryEntry,
} from './summary.js';

export const RESULT_FILE = 'result.json';
export const EMBEDDING_FILE = 'embedding.npy';
export const PROCESSED_AUDIO_FILE = 'processed_audio.wav';
const OWN_FILES = new Set([RESULT_FILE, EMBEDDING_FILE, PROCESSED_AUDIO_FILE]);

/** What goes into one result folder. */
export interface ResultFolderContents {
  /** The record; its `embedding` and `files` fields are filled in here from what is written. */
  readonly record: ResultRecord;
  /** Written as embedding.npy: a whole array, or frame rows already streamed to the folder (put in place here). */
  readonly embedding?: Embedding | EmbeddingFileStream;
  /** 16 kHz mono samples (a prediction's `waveform`), written as processed_audio.wav. */
  readonly processedAudio?: Float32Array;
  /** How: 16-bit PCM (default, as the WebUI writes it) or 32-bit float (the samples exactly). */
  readonly processedAudioFormat?: 'pcm16' | 'float32';
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
export async function writeResultFolder(
  outputRoot: string,
  key: string,
  contents: ResultFolderContents,
): Promise<WrittenResultFolder> {
  const extraFiles = Object.entries(contents.extraFiles ?? {});
  for (const [name] of extraFiles) checkExtraFileName(name);
  const name = safeOutputName(key);
  const folder = await ensureFolderInside(outputRoot, name);

  const files: string[] = [];
  let record: ResultRecord = contents.record;
  if (contents.embedding instanceof EmbeddingFileStream) {
    const shape = await contents.embedding.publish(folder);
    record = { ...record, embedding: { shape, granularity: 'frame', file: EMBEDDING_FILE } };
    files.push(EMBEDDING_FILE);
  } else if (contents.embedding) {
    const { data, shape, granularity } = contents.embedding;
    await writeFileAtomic(join(folder, EMBEDDING_FILE), encodeNpy(data, shape));
    record = { ...record, embedding: { shape: [...shape], granularity, file: EMBEDDING_FILE } };
    files.push(EMBEDDING_FILE);
  }
  if (contents.processedAudio) {
    const encode = contents.processedAudioFormat === 'float32' ? floatWavParts : pcm16WavParts;
    await writeFileAtomic(join(folder, PROCESSED_AUDIO_FILE), encode(contents.processedAudio, MODEL_SAMPLE_RATE));
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
 * One input's (T, D) frame embeddings written to its result folder as they come, a window at a time: rows go to a
 * temp file beside where embedding.npy will be, and `writeResultFolder(root, key, { embedding: stream })` puts it
 * in place (atomically, before result.json). The bytes equal `encodeNpy` of the whole array.
 */
export class EmbeddingFileStream {
  /** The first write failure: later rows are dropped and `writeResultFolder` reports it. */
  private failure: unknown = null;
  private published = false;

  private constructor(
    private readonly writer: NpyFileWriter,
    private readonly temp: string,
    /** The real folder it sits in. */
    readonly folder: string,
    /** True when opening it made the folder (removed again by `discard` if left empty). */
    private readonly madeFolder: boolean,
  ) {}

  /** Opens the temp file in `<outputRoot>/<safe key>/` (made if missing, checked as `writeResultFolder` checks it). */
  static async open(outputRoot: string, key: string, columns: number): Promise<EmbeddingFileStream> {
    const name = safeOutputName(key);
    const existed = await lstat(join(resolve(outputRoot), name)).then(
      () => true,
      () => false,
    );
    const folder = await ensureFolderInside(outputRoot, name);
    const temp = tempPathBeside(join(folder, EMBEDDING_FILE));
    return new EmbeddingFileStream(
      await NpyFileWriter.create(temp, columns, { exclusive: true }),
      temp,
      folder,
      !existed,
    );
  }

  /** Rows written so far and the width. */
  get shape(): [number, number] {
    return [this.writer.rowCount, this.writer.columns];
  }

  /** Appends whole rows. A write error (disk full) is kept for `writeResultFolder`, not thrown into inference. */
  async append(rows: Float32Array): Promise<void> {
    if (this.failure !== null) return;
    try {
      await this.writer.append(rows);
    } catch (error) {
      this.failure = error;
    }
  }

  /** Closes the file and renames it to `<folder>/embedding.npy`; the shape written. */
  async publish(folder: string): Promise<number[]> {
    if (folder !== this.folder)
      throw unsafe(`an embedding streamed into ${this.folder} cannot be published in ${folder}`);
    try {
      if (this.failure !== null) throw this.failure;
      await this.writer.close();
      await rename(this.temp, join(folder, EMBEDDING_FILE));
      this.published = true;
    } catch (error) {
      await this.discard();
      throw error;
    }
    return this.shape;
  }

  /**
   * Drops what was written (the input failed; nothing after `publish`); removes the folder if opening made it and it is
   * empty.
   */
  async discard(): Promise<void> {
    if (this.published) return;
    await this.writer.close().catch(() => undefined);
    await unlink(this.temp).catch(() => undefined);
    // rmdir removes only an empty folder: anything else in it stays.
    if (this.madeFolder) await rmdir(this.folder).catch(() => undefined);
  }
}

/**
 * The `onFrames` sink of a batch whose frame embeddings go to result folders: input i's rows stream into the
 * folder named `keyOf(i)`, opened at its first rows. Memory holds the window being written, never a file's array.
 *
 * ```ts
 * const streams = new EmbeddingStreams(root, (i) => keys[i]!);
 * const results = await model.predictBatch(files, { granularity: 'frame', embedding: true, onFrames: streams.sink });
 * // per input: writeResultFolder(root, keys[i], { record, embedding: streams.take(i) }); then streams.discardRest()
 * ```
 */
export class EmbeddingStreams {
  private readonly open = new Map<number, Promise<EmbeddingFileStream>>();

  constructor(
    private readonly outputRoot: string,
    private readonly keyOf: (input: number) => string,
  ) {}

  /** Pass as `onFrames`. */
  readonly sink: FrameSink = async (rows, shape, input) => {
    let stream = this.open.get(input);
    if (!stream) {
      const key = this.keyOf(input);
      // A folder that cannot be made fails this input with an output error, not as an inference failure.
      stream = EmbeddingFileStream.open(this.outputRoot, key, shape[1]).catch((error: unknown) => {
        throw isEmotion2VecError(error)
          ? error
          : new UsageError(
              'OUTPUT_WRITE_FAILED',
              `Cannot write ${EMBEDDING_FILE} of ${printable(key)} to ${printable(this.outputRoot)}: ${printable((error as Error)?.message ?? String(error))}`,
            );
      });
      this.open.set(input, stream);
    }
    await (await stream).append(rows);
  };

  /**
   * Input i's stream (to hand to `writeResultFolder`), or undefined when no rows came; it is no longer tracked here.
   */
  async take(input: number): Promise<EmbeddingFileStream | undefined> {
    const stream = this.open.get(input);
    this.open.delete(input);
    return stream;
  }

  /** Discards every stream not taken (inputs that failed after their first rows). */
  async discardRest(): Promise<void> {
    const rest = [...this.open.values()];
    this.open.clear();
    for (const stream of rest) await (await stream.catch(() => null))?.discard();
  }
}

/**
 * The record of a complete result folder, or null when `<outputRoot>/<safe key>/result.json` is missing,
 * unreadable, not a regular file, or not a result record of this layout (what `--resume` redoes: a folder
 * written by version 0.1, whose `scores` were a list, is analysed again).
 */
export async function readCompleteResult(outputRoot: string, key: string): Promise<ResultRecord | null> {
  const file = join(resolve(outputRoot), safeOutputName(key), RESULT_FILE);
  try {
    const info = await lstat(file);
    // A result.json is a few KiB; anything else is not ours.
    if (!info.isFile() || info.size > 4 * 2 ** 20) return null;
    const record = JSON.parse(await readFile(file, 'utf8')) as Partial<ResultRecord>;
    return typeof record === 'object' &&
      record !== null &&
      typeof record.key === 'string' &&
      Array.isArray(record.labels) &&
      typeof record.scores === 'object' &&
      record.scores !== null &&
      !Array.isArray(record.scores) &&
      typeof record.timestamp_iso === 'string'
      ? (record as ResultRecord)
      : null;
  } catch {
    return null;
  }
}

/**
 * The name of a run folder made at `now`: `output_<YYYYMMDD_HHMMSS>` in local time, as the WebUI names its runs
 * (`analyze`'s default `outputs/output_<...>`, the server's `--save-outputs` folders).
 */
export function runFolderName(now: Date = new Date()): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const date = `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}`;
  return `output_${date}_${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
}

/** Creates the root and `<root>/<name>` and proves the folder is a real directory directly inside the real root. */
async function ensureFolderInside(outputRoot: string, name: string): Promise<string> {
  const root = resolve(outputRoot);
  await mkdir(root, { recursive: true });
  const realRoot = await realpath(root);
  const folder = join(realRoot, name);
  const rel = relative(realRoot, folder);
  if (rel !== name || rel.includes(sep) || rel.startsWith('..'))
    throw unsafe(`the folder name ${JSON.stringify(name)} would leave ${realRoot}`);
  await mkdir(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const info = await lstat(folder);
  if (!info.isDirectory())
    throw unsafe(
      `${folder} exists and is not a plain folder (a symlink or a file); move it away or pick another output folder`,
    );
  return folder;
}

function checkExtraFileName(name: string): void {
  if (safeOutputName(name) !== name || OWN_FILES.has(name.toLowerCase())) {
    throw unsafe(
      `${JSON.stringify(name.slice(0, 80))} is not a plain file name for a result folder (or is one of ${[...OWN_FILES].join(', ')})`,
    );
  }
}

function unsafe(what: string): UsageError {
  return new UsageError('OUTPUT_UNSAFE_PATH', `Refusing to write: ${what}.`);
}

/**
 * `emotion2vec analyze <audio | folder | list...>`: predict each input and write the seed's output layout,
 *
 * ```
 * outputs/output_<YYYYMMDD_HHMMSS>/<key>/result.json, processed_audio.wav, embedding.npy (--embedding)
 *                                  summary.csv
 * ```
 *
 * printing a table (or JSON Lines with --json) as results come. An input that fails gets its error and the others
 * go on (exit code 1 at the end); Ctrl-C stops after the inputs in flight, keeping every finished folder and the
 * summary of what is done (exit code 130); `--resume` skips inputs whose result.json is complete.
 */
import { AudioInputError } from '../errors.js';
import { Emotion2Vec, type BatchItemResult, type BatchPredictOptions, type Granularity } from '../model/emotion2vec.js';
import type { FrameSink } from '../model/long-audio.js';
import { timelineFiles } from '../results/timeline.js';
import { SUMMARY_FILE, writeSummaryCsv, type SummaryEntry } from '../results/summary.js';
import { EmbeddingFileStream, EmbeddingStreams, readCompleteResult, writeResultFolder } from '../results/folder.js';
import { toErrorRecord, toResultRecord, type ErrorRecord, type ResultRecord } from '../results/record.js';
import { printable, uniqueOutputNames } from '../results/safe-name.js';
import { parseHubName, type HubName } from '../hub/models.js';
import { collectInputs, type InputItem } from './inputs.js';
import { reportFatal } from './output.js';
import { loadProgressDisplay, runProgress } from './progress.js';
import { tableHeader, tableRow } from './table.js';

/** Batches decoded ahead per chunk (batch size > 1): enough to sort by length into even batches, few enough to stop soon on Ctrl-C. */
const INPUTS_PER_BATCH_CHUNK = 4;
/** The library's default batch size on GPU and native backends (1 on wasm/cpu). */
const DEFAULT_CHUNK_BATCH = 8;
/** Help of --timeline and --plot, shared by analyze and enqueue (the workers write the same files). */
export const TIMELINE_HELP = 'also write timeline.json and timeline.csv: speech and silence segments with their own scores (docs/long-audio.md)';
export const PLOT_HELP = 'also write timeline.svg, a chart of the scores over time (implies --timeline)';
/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

export interface AnalyzeOptions {
  readonly model: string;
  readonly hub?: string;
  readonly offline?: boolean;
  readonly cacheDir?: string;
  readonly granularity: Granularity;
  readonly embedding: boolean;
  readonly outputDir?: string;
  /** false with --no-output: print only, write nothing. */
  readonly output?: boolean;
  readonly resume?: boolean;
  readonly json: boolean;
  readonly backend: string;
  /** Undefined: the library's default for the backend. */
  readonly batchSize?: number;
  readonly trimSilence: boolean;
  readonly strict: boolean;
  /** A head written by train-head (`--head`). */
  readonly head?: string;
  /** --timeline: timeline.json and timeline.csv next to result.json (in the JSON line with --no-output). */
  readonly timeline?: boolean;
  /** --plot: timeline.svg too (implies --timeline). */
  readonly plot?: boolean;
}

export async function analyze(args: string[], options: AnalyzeOptions): Promise<number> {
  let items: InputItem[];
  let hub: HubName | undefined;
  try {
    hub = parseHubName(options.hub);
    items = await collectInputs(args);
  } catch (error) {
    reportFatal(error);
    return 2;
  }
  if (items.length === 0) {
    process.stderr.write(`emotion2vec: no audio files found in ${args.map(printable).join(', ')}.\n`);
    return 2;
  }
  const root = options.output === false ? null : (options.outputDir ?? defaultOutputDir());
  const folders = uniqueOutputNames(
    items.map((item) => item.key),
    [SUMMARY_FILE],
  );

  const display = loadProgressDisplay();
  let model: Emotion2Vec;
  try {
    model = await Emotion2Vec.load(options.model, { backend: options.backend, hub, offline: options.offline, cacheDir: options.cacheDir, progress: display.callback, head: options.head });
  } catch (error) {
    reportFatal(error);
    return 2;
  } finally {
    display.stop();
  }

  const entries: (SummaryEntry | undefined)[] = new Array(items.length);
  const todo = await pendingInputs(items, folders, root, options.resume === true, entries);
  if (todo.length < items.length) process.stderr.write(`skipping ${items.length - todo.length} input(s) already done in ${printable(root!)} (--resume)\n`);
  const interrupt = onInterrupt();
  const progress = runProgress(todo.length);
  let failures = 0;
  try {
    if (!options.json && todo.length > 0) progress.print(tableHeader());
    // One input at a time where batches are of one (wasm/cpu default): results, progress and Ctrl-C act per input.
    const batch = options.batchSize ?? (model.backend === 'wasm' || model.backend === 'cpu' ? 1 : DEFAULT_CHUNK_BATCH);
    const chunk = batch === 1 ? 1 : batch * INPUTS_PER_BATCH_CHUNK;
    for (let start = 0; start < todo.length && !interrupt.requested; start += chunk) {
      const slice = todo.slice(start, start + chunk);
      // Frame embeddings go straight to each input's folder, a window at a time (long files are never held whole).
      const streams = root && options.embedding && options.granularity === 'frame' ? new EmbeddingStreams(root, (offset) => folders[slice[offset]!]!) : null;
      try {
        const results = await predictSlice(
          model,
          slice.map((i) => items[i]!),
          { granularity: options.granularity, embedding: options.embedding, waveform: root !== null, batchSize: options.batchSize, trimSilence: options.trimSilence, strict: options.strict, timeline: wantsTimeline(options) },
          streams?.sink,
        );
        for (const [offset, index] of slice.entries()) {
          const result = results[offset]!;
          const entry = await finishInput(items[index]!, folders[index]!, result, root, options, result.ok ? await streams?.take(offset) : undefined);
          entries[index] = entry;
          if ('error' in entry.record) failures++;
          progress.print(options.json ? `${JSON.stringify(entry.record)}\n` : tableRow(entry.record));
          progress.tick();
        }
      } finally {
        await streams?.discardRest();
      }
      // Rewritten after every chunk, so a stop at any point leaves the summary of what is done.
      if (root) await writeSummaryCsv(root, entries.filter((e): e is SummaryEntry => e !== undefined));
    }
  } catch (error) {
    reportFatal(error);
    return 2;
  } finally {
    progress.stop();
    interrupt.dispose();
    model.dispose();
  }
  if (root && todo.length === 0) await writeSummaryCsv(root, entries.filter((e): e is SummaryEntry => e !== undefined));
  const done = entries.filter((e) => e !== undefined).length;
  if (root) process.stderr.write(`${done} of ${items.length} input(s) in ${printable(root)} (summary.csv)\n`);
  if (interrupt.requested) {
    process.stderr.write(`interrupted: ${items.length - done} input(s) not analysed; run the same command with --resume${options.outputDir ? '' : ` --output-dir ${printable(root ?? '')}`} to finish.\n`);
    return EXIT_INTERRUPTED;
  }
  return failures > 0 ? 1 : 0;
}

/**
 * Predicts the inputs that may be read; refused ones (FIFOs, devices) get their error without being opened.
 * `onFrames` gets each input's frame rows with its offset in `slice`.
 */
async function predictSlice(model: Emotion2Vec, slice: readonly InputItem[], options: BatchPredictOptions, onFrames?: FrameSink): Promise<BatchItemResult[]> {
  const readable = slice.filter((item) => item.refused === undefined);
  const predicted = await model.predictBatch(
    readable.map((item) => item.path),
    onFrames ? { ...options, onFrames: (rows, shape, input) => onFrames(rows, shape, slice.indexOf(readable[input]!)) } : options,
  );
  return slice.map((item) => (item.refused === undefined ? predicted[readable.indexOf(item)]! : { ok: false, error: new AudioInputError('FILE_NOT_REGULAR', item.refused) }));
}

/** Indexes of the inputs to analyse; with --resume, complete results already in `root` fill `entries` instead. */
async function pendingInputs(items: readonly InputItem[], folders: readonly string[], root: string | null, resume: boolean, entries: (SummaryEntry | undefined)[]): Promise<number[]> {
  const todo: number[] = [];
  for (const [index, folder] of folders.entries()) {
    const done = resume && root ? await readCompleteResult(root, folder) : null;
    if (done && done.input === items[index]!.path) entries[index] = { record: done, folder };
    else todo.push(index);
  }
  return todo;
}

/** The input's record, after writing its folder when there is an output root (`streamed`: its frame embeddings, already in it). */
async function finishInput(item: InputItem, folder: string, result: BatchItemResult, root: string | null, options: AnalyzeOptions, streamed?: EmbeddingFileStream): Promise<SummaryEntry> {
  const key = item.listedKey ? item.key : folder;
  if (!result.ok) return { record: toErrorRecord(result.error, { input: item.path, key }) };
  const { prediction } = result;
  const record = toResultRecord(prediction, { input: item.path, key, model: options.model, granularity: options.granularity });
  if (!root) {
    const embedding = prediction.embedding;
    const inline: ResultRecord = embedding ? { ...record, embedding: { shape: [...embedding.shape], granularity: embedding.granularity, data: Array.from(embedding.data) } } : record;
    return { record: prediction.timeline ? { ...inline, timeline: prediction.timeline } : inline };
  }
  try {
    const extraFiles = prediction.timeline ? timelineFiles(prediction.timeline, prediction.labels, item.path, options.plot === true) : undefined;
    const written = await writeResultFolder(root, folder, { record, embedding: streamed ?? prediction.embedding, processedAudio: prediction.waveform, ...(extraFiles ? { extraFiles } : {}) });
    return { record: written.record, folder: written.name };
  } catch (error) {
    await streamed?.discard();
    const failure: ErrorRecord = {
      input: item.path,
      key,
      error: { code: 'OUTPUT_WRITE_FAILED', message: `Cannot write the results of ${item.path} to ${root}: ${(error as Error)?.message ?? String(error)}` },
    };
    return { record: failure };
  }
}

function wantsTimeline(options: AnalyzeOptions): boolean {
  return options.timeline === true || options.plot === true;
}

/** `outputs/output_<YYYYMMDD_HHMMSS>` in local time, as the seed's WebUI names its runs. */
export function defaultOutputDir(now: Date = new Date()): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}_${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  return `outputs/output_${stamp}`;
}

/** First Ctrl-C: finish the inputs in flight, then stop. Second: quit now (finished folders are whole: atomic writes). */
function onInterrupt(): { readonly requested: boolean; dispose(): void } {
  const state = { requested: false };
  const handler = () => {
    if (state.requested) process.exit(EXIT_INTERRUPTED);
    state.requested = true;
    process.stderr.write('\nstopping after the inputs in progress (Ctrl-C again to quit now)...\n');
  };
  process.on('SIGINT', handler);
  return {
    get requested() {
      return state.requested;
    },
    dispose: () => void process.off('SIGINT', handler),
  };
}

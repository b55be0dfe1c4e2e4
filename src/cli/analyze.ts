/**
 * `emotion2vec analyze <audio | folder | list...>`: predict each input and write the seed's output layout,
 *
 * ```
 * outputs/output_<YYYYMMDD_HHMMSS>/<key>/result.json, processed_audio.wav, embedding.npy (--embedding),
 *                                        frame_scores.json / .csv (--granularity frame)
 *                                  summary.csv
 * ```
 *
 * printing a table (or JSON Lines with --json) as results come. An input that fails gets its error and the others
 * go on (exit code 1 at the end); Ctrl-C stops after the inputs in flight, keeping every finished folder and the
 * summary of what is done (exit code 130); `--resume` skips inputs whose result.json is complete.
 */
import { Option } from 'commander';
import { AudioInputError } from '../errors.js';
import { Emotion2Vec, type ComputePrecision, type Granularity } from '../model/emotion2vec.js';
import {
  PROCESSED_AUDIO_FORMATS,
  type AnalysisOptions,
  type ProcessedAudioFormat,
} from '../results/analysis-options.js';
import { REPLY_LANGUAGES, type ReplyLanguage } from '../results/fallback.js';
import { analyzeInputs, type AnalysisOutcome, type AnalysisRun } from '../results/analyze-inputs.js';
import { RESERVED_OUTPUT_NAMES, SUMMARY_FILE, writeSummaryCsv, type SummaryEntry } from '../results/summary.js';
import { readCompleteResult, runFolderName } from '../results/folder.js';
import { toErrorRecord, type ErrorRecord } from '../results/record.js';
import { printable, uniqueOutputNames } from '../results/safe-name.js';
import { parseHubName, type HubName } from '../hub/models.js';
import { collectInputs, type InputItem } from './inputs.js';
import { reportFatal } from './output.js';
import { loadProgressDisplay, runProgress } from './progress.js';
import { tableHeader, tableRow } from './table.js';

/**
 * Batches decoded ahead per chunk (batch size > 1): enough to sort by length into even batches, few enough to stop soon
 * on Ctrl-C.
 */
const INPUTS_PER_BATCH_CHUNK = 4;
/** The library's default batch size on GPU and native backends (1 on wasm/cpu). */
const DEFAULT_CHUNK_BATCH = 8;
/** Help of --timeline and --plot, shared by analyze and enqueue (the workers write the same files). */
export const TIMELINE_HELP =
  'also write timeline.json and timeline.csv: speech and silence segments with their own scores (docs/long-audio.md)';
export const PLOT_HELP =
  'also write timeline.svg, a chart of the scores over time (implies --timeline); with --granularity frame also frame_scores.svg, the emotion curve';

/** Options analyze and enqueue share beyond the timeline's: how processed_audio.wav is written, the reply language. */
export function sharedOutputOptions(): Option[] {
  return [
    new Option(
      '--processed-audio <format>',
      'processed_audio.wav (the 16 kHz mono signal the model saw): pcm16 (16-bit, as the WebUI writes it), float32 (the samples exactly) or none',
    )
      .choices([...PROCESSED_AUDIO_FORMATS])
      .default('pcm16'),
    new Option('--no-processed-audio', 'the same as --processed-audio none'),
    new Option(
      '--reply-language <lang>',
      "language of each record's suggested_response (the fallback reply): zh (Chinese) or en",
    )
      .choices([...REPLY_LANGUAGES])
      .default('zh'),
  ];
}

/** --processed-audio's value: --no-processed-audio gives false. */
export function processedAudioFormat(value: ProcessedAudioFormat | false | undefined): ProcessedAudioFormat {
  return value === false ? 'none' : (value ?? 'pcm16');
}
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
  /** --compute: undefined, the library's default (int8 for a --dtype int8 folder on wasm, else float32). */
  readonly compute?: ComputePrecision;
  /** Undefined: the library's default for the backend. */
  readonly batchSize?: number;
  readonly trimSilence: boolean;
  readonly strict: boolean;
  /** A head written by train-head (`--head`). */
  readonly head?: string;
  /** --timeline: timeline.json and timeline.csv next to result.json (in the JSON line with --no-output). */
  readonly timeline?: boolean;
  /** --plot: timeline.svg too (implies --timeline), and frame_scores.svg with frame granularity. */
  readonly plot?: boolean;
  /** --processed-audio (false: --no-processed-audio). */
  readonly processedAudio?: ProcessedAudioFormat | false;
  /** --reply-language. */
  readonly replyLanguage?: ReplyLanguage;
  /** --full-frame-series: the whole frame series in a --no-output JSON line. */
  readonly fullFrameSeries?: boolean;
  /** --max-duration: longest input in seconds, longer ones fail with AUDIO_TOO_LONG (default: no bound). */
  readonly maxDuration?: number;
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
    RESERVED_OUTPUT_NAMES,
  );

  const display = loadProgressDisplay();
  let model: Emotion2Vec;
  try {
    model = await Emotion2Vec.load(options.model, {
      backend: options.backend,
      hub,
      offline: options.offline,
      cacheDir: options.cacheDir,
      progress: display.callback,
      head: options.head,
      compute: options.compute,
    });
  } catch (error) {
    reportFatal(error);
    return 2;
  } finally {
    display.stop();
  }

  const entries: (SummaryEntry | undefined)[] = new Array(items.length);
  const todo = await pendingInputs(items, folders, root, options.resume === true, entries);
  if (todo.length < items.length)
    process.stderr.write(
      `skipping ${items.length - todo.length} input(s) already done in ${printable(root!)} (--resume)\n`,
    );
  const interrupt = onInterrupt();
  const progress = runProgress(todo.length);
  let failures = 0;
  try {
    if (!options.json && todo.length > 0) progress.print(tableHeader());
    // One input at a time where batches are of one (wasm/cpu default): results, progress and Ctrl-C act per input.
    const batch = options.batchSize ?? (model.backend === 'wasm' || model.backend === 'cpu' ? 1 : DEFAULT_CHUNK_BATCH);
    const chunk = batch === 1 ? 1 : batch * INPUTS_PER_BATCH_CHUNK;
    const run: AnalysisRun = {
      modelId: options.model,
      options: analysisOptions(options),
      outputDir: root,
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(options.maxDuration === undefined ? {} : { maxDurationSeconds: options.maxDuration }),
    };
    for (let start = 0; start < todo.length && !interrupt.requested; start += chunk) {
      const slice = todo.slice(start, start + chunk);
      // Inputs refused when listed (FIFOs, devices) get their error without being opened.
      const readable = slice.filter((index) => items[index]!.refused === undefined);
      const inputs = readable.map((index) => {
        const { path } = items[index]!;
        return { audio: path, input: path, key: recordKey(items[index]!, folders[index]!), folder: folders[index]! };
      });
      const outcomes = await analyzeInputs(model, inputs, run);
      for (const index of slice) {
        const item = items[index]!;
        const outcome: AnalysisOutcome =
          item.refused === undefined
            ? outcomes[readable.indexOf(index)]!
            : { ok: false, stage: 'predict', error: new AudioInputError('FILE_NOT_REGULAR', item.refused) };
        const entry = summaryEntry(item, recordKey(item, folders[index]!), outcome, root);
        entries[index] = entry;
        if ('error' in entry.record) failures++;
        progress.print(options.json ? `${JSON.stringify(entry.record)}\n` : tableRow(entry.record));
        progress.tick();
      }
      // Rewritten after every chunk, so a stop at any point leaves the summary of what is done.
      if (root)
        await writeSummaryCsv(
          root,
          entries.filter((e): e is SummaryEntry => e !== undefined),
        );
    }
  } catch (error) {
    reportFatal(error);
    return 2;
  } finally {
    progress.stop();
    interrupt.dispose();
    model.dispose();
  }
  if (root && todo.length === 0)
    await writeSummaryCsv(
      root,
      entries.filter((e): e is SummaryEntry => e !== undefined),
    );
  const finished = entries.filter((e): e is SummaryEntry => e !== undefined);
  const done = finished.length;
  const failed = finished.filter((entry) => 'error' in entry.record).length;
  const counts = `${done - failed} ok, ${failed} failed`;
  const tally =
    done === items.length
      ? `${items.length} input(s): ${counts}`
      : `${done} of ${items.length} input(s) done: ${counts}`;
  process.stderr.write(root ? `${tally}; results in ${printable(root)} (summary.csv)\n` : `${tally}\n`);
  if (interrupt.requested) {
    process.stderr.write(
      `interrupted: ${items.length - done} input(s) not analysed; run the same command with --resume${options.outputDir ? '' : ` --output-dir ${printable(root ?? '')}`} to finish.\n`,
    );
    return EXIT_INTERRUPTED;
  }
  return failures > 0 ? 1 : 0;
}

/** Indexes of the inputs to analyse; with --resume, complete results already in `root` fill `entries` instead. */
async function pendingInputs(
  items: readonly InputItem[],
  folders: readonly string[],
  root: string | null,
  resume: boolean,
  entries: (SummaryEntry | undefined)[],
): Promise<number[]> {
  const todo: number[] = [];
  for (const [index, folder] of folders.entries()) {
    const done = resume && root ? await readCompleteResult(root, folder) : null;
    if (done && done.input === items[index]!.path) entries[index] = { record: done, folder };
    else todo.push(index);
  }
  return todo;
}

/** The key a record carries: the wav.scp key when the input came from one, else its folder name. */
function recordKey(item: InputItem, folder: string): string {
  return item.listedKey ? item.key : folder;
}

/** The analysis options of analyze's flags. */
function analysisOptions(options: AnalyzeOptions): AnalysisOptions {
  const { granularity, embedding, trimSilence, strict } = options;
  return {
    granularity,
    embedding,
    trimSilence,
    strict,
    processedAudio: processedAudioFormat(options.processedAudio),
    timeline: options.timeline === true,
    plot: options.plot === true,
    replyLanguage: options.replyLanguage ?? 'zh',
    fullFrameSeries: options.fullFrameSeries === true,
  };
}

/** An input's summary entry: its record (and folder), or its error record; a failed write is OUTPUT_WRITE_FAILED. */
function summaryEntry(item: InputItem, key: string, outcome: AnalysisOutcome, root: string | null): SummaryEntry {
  if (outcome.ok)
    return { record: outcome.record, ...(outcome.folder === undefined ? {} : { folder: outcome.folder }) };
  if (outcome.stage === 'predict') return { record: toErrorRecord(outcome.error, { input: item.path, key }) };
  const reason = (outcome.error as Error)?.message ?? String(outcome.error);
  const failure: ErrorRecord = {
    input: item.path,
    key,
    error: { code: 'OUTPUT_WRITE_FAILED', message: `Cannot write the results of ${item.path} to ${root}: ${reason}` },
  };
  return { record: failure };
}

/** `outputs/output_<YYYYMMDD_HHMMSS>` in local time, as the seed's WebUI names its runs. */
export function defaultOutputDir(now: Date = new Date()): string {
  return `outputs/${runFolderName(now)}`;
}

/**
 * First Ctrl-C: finish the inputs in flight, then stop. Second: quit now (finished folders are whole: atomic writes).
 */
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

/**
 * `emotion2vec analyze <audio...> --model <dir>`: predict each file, print results, optionally write
 * `<output-dir>/<name>/result.json` and `embedding.npy`. A file that fails gets its error and the others go on;
 * the exit code is 1 when any failed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
// The Node entry installs file paths, ffmpeg and the native backend before anything runs.
import { Emotion2Vec, encodeNpy, type BatchItemResult, type EmotionPrediction, type Granularity } from '../node.js';
import { errorJson, reportFatal } from './output.js';

/** Batches decoded ahead per chunk: enough to sort by length into even batches, few enough to bound memory. */
const INPUTS_PER_BATCH_CHUNK = 4;
/** Batch size assumed for chunking when the backend picks its own. */
const DEFAULT_CHUNK_BATCH = 8;

export interface AnalyzeOptions {
  readonly model: string;
  readonly granularity: Granularity;
  readonly embedding: boolean;
  readonly outputDir?: string;
  readonly json: boolean;
  readonly backend: string;
  /** Undefined: the library's default for the backend. */
  readonly batchSize?: number;
  readonly trimSilence: boolean;
  readonly strict: boolean;
  /** A head written by train-head (`--head`). */
  readonly head?: string;
}

/** The JSON written per input (one line with --json, result.json with --output-dir). */
export interface AnalyzeRecord {
  readonly input: string;
  readonly labels?: string[];
  readonly scores?: number[];
  readonly top?: { label: string; score: number } | null;
  readonly frames?: number;
  readonly duration?: number;
  readonly quality?: EmotionPrediction['quality'];
  readonly embedding?: { shape: number[]; granularity: Granularity; file?: string; data?: number[] };
  readonly error?: { code: string; message: string };
}

export async function analyze(inputs: string[], options: AnalyzeOptions): Promise<number> {
  let model: Emotion2Vec;
  try {
    model = await Emotion2Vec.load(options.model, { backend: options.backend, head: options.head });
  } catch (error) {
    reportFatal(error);
    return 2;
  }
  try {
    const folders = outputFolders(inputs);
    let failures = 0;
    // Inputs are decoded a chunk at a time, so a long file list never holds all its audio in memory and results
    // appear as they are ready. Results do not depend on the chunking.
    const chunk = (options.batchSize ?? DEFAULT_CHUNK_BATCH) * INPUTS_PER_BATCH_CHUNK;
    for (let start = 0; start < inputs.length; start += chunk) {
      const slice = inputs.slice(start, start + chunk);
      const results = await model.predictBatch(slice, {
        granularity: options.granularity,
        embedding: options.embedding,
        batchSize: options.batchSize,
        trimSilence: options.trimSilence,
        strict: options.strict,
      });
      for (const [offset, input] of slice.entries()) {
        const record = await emit(input, results[offset]!, folders[start + offset]!, options).catch(
          (error: unknown): AnalyzeRecord => ({ input, error: { code: 'OUTPUT_WRITE_FAILED', message: `Cannot write the results of ${input}: ${(error as Error)?.message ?? String(error)}` } }),
        );
        if (record.error) failures++;
        process.stdout.write(options.json ? `${JSON.stringify(record)}\n` : humanReadable(record));
      }
    }
    return failures > 0 ? 1 : 0;
  } catch (error) {
    reportFatal(error);
    return 2;
  } finally {
    model.dispose();
  }
}

/** Builds an input's record and writes its files when --output-dir is set. */
async function emit(input: string, result: BatchItemResult, folder: string, options: AnalyzeOptions): Promise<AnalyzeRecord> {
  if (!result.ok) return { input, error: errorJson(result.error) };
  const { prediction } = result;
  const record: AnalyzeRecord = {
    input,
    labels: prediction.labels,
    scores: prediction.scores,
    top: prediction.top && { label: prediction.top.label, score: prediction.top.score },
    frames: prediction.frames,
    duration: prediction.durationSeconds,
    quality: prediction.quality,
  };
  const embedding = prediction.embedding;
  if (!options.outputDir) {
    return embedding ? { ...record, embedding: { shape: embedding.shape, granularity: embedding.granularity, data: Array.from(embedding.data) } } : record;
  }
  const dir = join(options.outputDir, folder);
  await mkdir(dir, { recursive: true });
  const written: AnalyzeRecord = embedding ? { ...record, embedding: { shape: embedding.shape, granularity: embedding.granularity, file: 'embedding.npy' } } : record;
  if (embedding) await writeFile(join(dir, 'embedding.npy'), encodeNpy(embedding.data, embedding.shape));
  await writeFile(join(dir, 'result.json'), `${JSON.stringify(written, null, 2)}\n`);
  return written;
}

/**
 * `<file name without extension>` per input; a name already taken gets the first free `-2`, `-3`... so no result
 * overwrites another. Names are compared ignoring case, as macOS and Windows file systems do.
 */
export function outputFolders(inputs: readonly string[]): string[] {
  const taken = new Set<string>();
  return inputs.map((input) => {
    const stem = basename(input, extname(input)) || 'input';
    let name = stem;
    for (let suffix = 2; taken.has(name.toLowerCase()); suffix++) name = `${stem}-${suffix}`;
    taken.add(name.toLowerCase());
    return name;
  });
}

function humanReadable(record: AnalyzeRecord): string {
  if (record.error) return `${record.input}: error ${record.error.code}: ${record.error.message}\n`;
  const lines = [`${record.input}: ${record.top ? `${record.top.label} (${record.top.score.toFixed(3)})` : 'embedding only'}, ${record.frames} frames, ${record.duration!.toFixed(2)} s`];
  record.labels!.forEach((label, i) => lines.push(`  ${label.padEnd(18)} ${record.scores![i]!.toFixed(4)}`));
  for (const warning of record.quality?.warnings ?? []) lines.push(`  warning ${warning.code}: ${warning.message}`);
  if (record.embedding) lines.push(`  embedding (${record.embedding.shape.join(' x ')})${record.embedding.file ? ` -> ${record.embedding.file}` : ''}`);
  return `${lines.join('\n')}\n`;
}

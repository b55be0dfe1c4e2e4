/**
 * What a job carries: one input (a path the workers can read, or an http(s) URL), its key (the output folder name)
 * and analyze's per-input options. Jobs come from Redis, which anyone on the network may write to, so a worker
 * validates every job before it touches the file system.
 */
import type { Granularity } from '../model/emotion2vec.js';
import { describeValue, UsageError } from '../errors.js';
import { safeOutputName } from '../results/folder.js';

/** Analyze's options that travel with each job (the model and backend belong to the worker). */
export interface JobOptions {
  readonly granularity: Granularity;
  readonly embedding: boolean;
  readonly trimSilence: boolean;
  readonly strict: boolean;
  /** Write processed_audio.wav (the 16 kHz signal the model saw) as analyze does; 64 KB per second of audio. */
  readonly processedAudio: boolean;
  /** Write timeline.json and timeline.csv (speech and silence segments with their scores) as `analyze --timeline`. */
  readonly timeline: boolean;
  /** Write timeline.svg too, as `analyze --plot` (implies `timeline`). */
  readonly plot: boolean;
}

/** The data of one analysis job. */
export interface AnalysisJob {
  /** Audio file path (as the workers see it) or http(s) URL. */
  readonly input: string;
  /** The output folder name (a safe, unique form of the wav.scp key or file name): results go to `<output-dir>/<key>/`. */
  readonly key: string;
  /** The wav.scp key when the input came from one: result.json records it as analyze does (else `key`). */
  readonly listedKey?: string;
  readonly options: JobOptions;
}

export const DEFAULT_JOB_OPTIONS: JobOptions = { granularity: 'utterance', embedding: false, trimSilence: false, strict: false, processedAudio: true, timeline: false, plot: false };

/** Longest input path or URL a job may carry. */
const MAX_INPUT_LENGTH = 4096;

/** The BullMQ job id of a key: the same key always gives the same id, so enqueueing twice adds one job. */
export function jobIdForKey(key: string): string {
  // BullMQ refuses ':' and all-digit ids; the prefix and the encoding rule out both.
  return `key-${encodeURIComponent(key)}`;
}

/**
 * Throws a JOB_INVALID error unless `key` is already a safe output folder name (`safeOutputName(key) === key`):
 * the producer makes keys safe and unique, so the folder a worker writes is exactly the key, on every attempt.
 */
export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || safeOutputName(key) !== key) {
    throw invalid(`"key" must be a safe folder name (as safeOutputName gives), got ${typeof key === 'string' ? JSON.stringify(key.slice(0, 80)) : describeValue(key)}`);
  }
  return key;
}

/** Validates a job's data as it comes out of Redis. */
export function parseAnalysisJob(data: unknown): AnalysisJob {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw invalid(`a job's data must be an object, got ${describeValue(data)}`);
  const { input, key, listedKey, options } = data as Record<string, unknown>;
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_INPUT_LENGTH || input.includes('\0')) {
    throw invalid(`"input" must be a file path or http(s) URL of 1 to ${MAX_INPUT_LENGTH} characters, got ${describeValue(input)}`);
  }
  if (listedKey !== undefined && (typeof listedKey !== 'string' || listedKey.length === 0 || listedKey.length > MAX_INPUT_LENGTH)) {
    throw invalid(`"listedKey" must be a non-empty string, got ${describeValue(listedKey)}`);
  }
  return { input, key: checkKey(key), ...(listedKey === undefined ? {} : { listedKey }), options: parseJobOptions(options ?? {}) };
}

/** Validates job options: known names only, each with its type; missing ones (jobs queued by older versions too) take analyze's defaults. */
export function parseJobOptions(options: unknown): JobOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalid(`"options" must be an object, got ${describeValue(options)}`);
  const known = Object.keys(DEFAULT_JOB_OPTIONS);
  const unknown = Object.keys(options).filter((name) => !known.includes(name));
  if (unknown.length > 0) throw invalid(`unknown option(s) ${unknown.slice(0, 5).join(', ')}; known: ${known.join(', ')}`);
  const merged = { ...DEFAULT_JOB_OPTIONS, ...(options as Partial<JobOptions>) };
  if (merged.granularity !== 'utterance' && merged.granularity !== 'frame') throw invalid(`"granularity" must be "utterance" or "frame", got ${describeValue(merged.granularity)}`);
  for (const flag of ['embedding', 'trimSilence', 'strict', 'processedAudio', 'timeline', 'plot'] as const) {
    if (typeof merged[flag] !== 'boolean') throw invalid(`"${flag}" must be true or false, got ${describeValue(merged[flag])}`);
  }
  return { granularity: merged.granularity, embedding: merged.embedding, trimSilence: merged.trimSilence, strict: merged.strict, processedAudio: merged.processedAudio, timeline: merged.timeline, plot: merged.plot };
}

function invalid(problem: string): UsageError {
  return new UsageError('JOB_INVALID', `Invalid job: ${problem}.`);
}

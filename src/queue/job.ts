/**
 * What a job carries: one input (a path the workers can read, or an http(s) URL), its key (the output folder name)
 * and analyze's per-input options. Jobs come from Redis, which anyone on the network may write to, so a worker
 * validates every job before it touches the file system.
 */
import { describeValue, quote, UsageError } from '../errors.js';
import {
  DEFAULT_ANALYSIS_OPTIONS,
  parseAnalysisOptions,
  type AnalysisOptions,
  type OptionSpelling,
} from '../results/analysis-options.js';
import { RESERVED_OUTPUT_NAMES, safeOutputName } from '../results/folder.js';

/**
 * Analyze's options that travel with each job (the model and backend belong to the worker). The size of an inline
 * frame series does not: workers write folders, which hold the whole series.
 */
export type JobOptions = Omit<AnalysisOptions, 'fullFrameSeries'>;

/** The data of one analysis job. */
export interface AnalysisJob {
  /** Audio file path (as the workers see it) or http(s) URL. */
  readonly input: string;
  /**
   * The output folder name (a safe, unique form of the wav.scp key or file name): results go to `<output-dir>/<key>/`.
   */
  readonly key: string;
  /** The wav.scp key when the input came from one: result.json records it as analyze does (else `key`). */
  readonly listedKey?: string;
  readonly options: JobOptions;
}

export const DEFAULT_JOB_OPTIONS: JobOptions = withoutInlineOptions(DEFAULT_ANALYSIS_OPTIONS);

/**
 * How a job spells the analysis options (src/results/analysis-options.ts): camelCase JSON, mistakes are JOB_INVALID.
 */
export const JOB_FIELDS: OptionSpelling = {
  names: {
    granularity: 'granularity',
    embedding: 'embedding',
    trimSilence: 'trimSilence',
    strict: 'strict',
    processedAudio: 'processedAudio',
    timeline: 'timeline',
    plot: 'plot',
    replyLanguage: 'replyLanguage',
  },
  values: 'json',
  unknownOptions: (names, known) =>
    invalid(`unknown option(s) ${names.slice(0, 5).join(', ')}; known: ${known.join(', ')}`),
  invalidValue: (name, expected, value) => invalid(`"${name}" must be ${expected}, got ${describeValue(value)}`),
};

/** Longest input path or URL a job may carry. */
export const MAX_INPUT_LENGTH = 4096;

/** The BullMQ job id of a key: the same key always gives the same id, so enqueueing twice adds one job. */
export function jobIdForKey(key: string): string {
  // BullMQ refuses ':' and all-digit ids; the prefix and the encoding rule out both.
  return `key-${encodeURIComponent(key)}`;
}

/**
 * Throws a JOB_INVALID error unless `key` is already a safe output folder name (`safeOutputName(key) === key`) and
 * not a name the run folder keeps for itself (`summary.csv`): the producer makes keys safe and unique, so the
 * folder a worker writes is exactly the key, on every attempt. The one check of a key, whichever way the job came
 * (enqueue, POST /jobs, a job read from Redis).
 */
export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || safeOutputName(key) !== key) {
    throw invalid(
      `"key" must be a safe folder name (as safeOutputName gives), got ${typeof key === 'string' ? quote(key, 80) : describeValue(key)}`,
    );
  }
  if (RESERVED_OUTPUT_NAMES.some((name) => name.toLowerCase() === key.toLowerCase()))
    throw invalid(`"key" ${quote(key)} is the name of the run's own ${key.toLowerCase()}; choose another key`);
  return key;
}

/** Validates a job's data as it comes out of Redis. */
export function parseAnalysisJob(data: unknown): AnalysisJob {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw invalid(`a job's data must be an object, got ${describeValue(data)}`);
  const { input, key, listedKey, options } = data as Record<string, unknown>;
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_INPUT_LENGTH || input.includes('\0')) {
    throw invalid(
      `"input" must be a file path or http(s) URL of 1 to ${MAX_INPUT_LENGTH} characters, got ${describeValue(input)}`,
    );
  }
  if (
    listedKey !== undefined &&
    (typeof listedKey !== 'string' || listedKey.length === 0 || listedKey.length > MAX_INPUT_LENGTH)
  ) {
    throw invalid(`"listedKey" must be a non-empty string, got ${describeValue(listedKey)}`);
  }
  return {
    input,
    key: checkKey(key),
    ...(listedKey === undefined ? {} : { listedKey }),
    options: parseJobOptions(options ?? {}),
  };
}

/**
 * Validates job options: known names only, each with its type; missing ones (jobs queued by older versions too) take
 * analyze's defaults.
 */
export function parseJobOptions(options: unknown): JobOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw invalid(`"options" must be an object, got ${describeValue(options)}`);
  return withoutInlineOptions(parseAnalysisOptions(options as Record<string, unknown>, JOB_FIELDS));
}

/** The analysis options less what only an answer without a folder uses. */
function withoutInlineOptions(options: AnalysisOptions): JobOptions {
  const { fullFrameSeries: _inlineOnly, ...job } = options;
  return job;
}

function invalid(problem: string): UsageError {
  return new UsageError('JOB_INVALID', `Invalid job: ${problem}.`);
}

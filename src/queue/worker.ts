/**
 * The worker: one warm model per process takes analysis jobs from the queue and writes each result folder.
 *
 * Exactly one result per job, even when a worker dies mid-job and the job runs again elsewhere: the folder is
 * named by the job's key (the same on every attempt), every file is written atomically with result.json last, and
 * an attempt that finds a complete result.json for the same input returns it instead of writing a second one.
 */
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { hostname } from 'node:os';
import { printable, quote } from '../errors.js';
import type { Emotion2Vec } from '../model/emotion2vec.js';
import { analyzeInputs } from '../results/analyze-inputs.js';
import { readCompleteResult, writeResultFolder, type ResultFolderContents } from '../results/folder.js';
import type { ResultRecord } from '../results/record.js';
import { checkQueueName } from './connection.js';
import { parseFailedReason, toJobError } from './dead-letter.js';
import type { DownloadOptions } from './download.js';
import { checkKey, parseAnalysisJob } from './job.js';
import { resolveInput } from './input.js';

/** The result-folder functions of src/results/folder.ts; tests pass others to make writes fail. */
export interface ResultFolders {
  writeResultFolder(
    outputRoot: string,
    key: string,
    contents: ResultFolderContents,
  ): Promise<{ name: string; record: ResultRecord }>;
  readCompleteResult(outputRoot: string, key: string): Promise<ResultRecord | null>;
}

/** The small record a finished job keeps in Redis (its BullMQ return value); the full result is in its folder. */
export interface JobResult {
  readonly key: string;
  readonly input: string;
  /** Folder name under the output folder. */
  readonly folder: string;
  readonly emotion: string | null;
  readonly confidence: number | null;
  readonly duration: number;
  /** True when an earlier attempt had already written the folder (a worker died after writing it). */
  readonly reused: boolean;
  /** `host:pid` of the worker that finished it. */
  readonly worker: string;
}

export interface ProcessorContext {
  readonly model: Emotion2Vec;
  /** Model id or folder, written into each result. */
  readonly modelId: string;
  readonly outputDir: string;
  /** Defaults to src/results/folder.ts. */
  readonly folders?: ResultFolders;
  /** Longest audio analysed; longer inputs are dead-lettered as AUDIO_TOO_LONG before they are decoded. */
  readonly maxDurationSeconds?: number;
  /** Bounds and host check of URL downloads (timeouts, hosts allowed at special addresses). */
  readonly download?: Partial<Omit<DownloadOptions, 'maxBytes'>>;
}

const RESULT_FOLDERS: ResultFolders = { writeResultFolder, readCompleteResult };

export const WORKER_NAME = `${hostname()}:${process.pid}`;

/** The job handler: validate, reuse a finished folder, else analyse the input into its folder (as analyze does). */
export function createProcessor(context: ProcessorContext): (job: Job) => Promise<JobResult> {
  const folders = context.folders ?? RESULT_FOLDERS;
  return async (job) => {
    try {
      const { input, key, listedKey, options } = parseAnalysisJob(job.data);
      const existing = await folders.readCompleteResult(context.outputDir, key);
      if (existing && existing.input === input) return jobResult(existing, key, true);
      const audio = await resolveInput(input, context.download);
      const [outcome] = await analyzeInputs(context.model, [{ audio, input, key: listedKey ?? key, folder: key }], {
        modelId: context.modelId,
        // A folder holds the whole frame series: the inline size does not apply.
        options: { ...options, fullFrameSeries: false },
        outputDir: context.outputDir,
        ...(context.maxDurationSeconds === undefined ? {} : { maxDurationSeconds: context.maxDurationSeconds }),
        writeFolder: (root, name, contents) => folders.writeResultFolder(root, name, contents),
      });
      if (!outcome!.ok) throw outcome!.error;
      return jobResult(outcome!.record, outcome!.folder!, false);
    } catch (error) {
      throw toJobError(error);
    }
  };
}

/** A job's key as a log line shows it: as is when it is a valid key, else quoted (escaped, at most 120 characters). */
function loggedKey(key: unknown): string {
  try {
    return checkKey(key);
  } catch {
    return quote(key);
  }
}

function jobResult(record: ResultRecord, folder: string, reused: boolean): JobResult {
  // record.key is the wav.scp key when there was one; the folder name is the job's key.
  return {
    key: record.key,
    input: record.input,
    folder,
    emotion: record.emotion,
    confidence: record.confidence,
    duration: record.duration,
    reused,
    worker: WORKER_NAME,
  };
}

export interface AnalysisWorkerOptions extends ProcessorContext {
  readonly connection: Redis;
  readonly queueName: string;
  /** Jobs this process runs at once (they share the one model). */
  readonly concurrency: number;
  /**
   * How long a job stays locked to its worker without a renewal. A worker that dies (SIGKILL, power loss) gives
   * its job back after this; it must exceed the longest single inference, because a long synchronous forward
   * pass cannot renew the lock while it runs.
   */
  readonly lockMs: number;
  /** Times a job may lose its worker before it is dead-lettered as JOB_STALLED (a file that kills workers). */
  readonly maxStalls: number;
  /** One line per event, for the worker's log. */
  readonly log: (line: string) => void;
}

export interface AnalysisWorker {
  readonly worker: Worker;
  /**
   * Stops taking jobs and lets the current ones finish. With `release`, the current jobs go back to the queue
   * at once (no attempt counted) for another worker, and their results from this process are dropped.
   */
  close(options?: { release?: boolean }): Promise<void>;
}

/** Starts a BullMQ worker on the queue. */
export function startAnalysisWorker(options: AnalysisWorkerOptions): AnalysisWorker {
  const processor = createProcessor(options);
  const active = new Map<string, { job: Job; token: string }>();
  const worker = new Worker(
    checkQueueName(options.queueName),
    async (job: Job, token?: string) => {
      active.set(job.id!, { job, token: token! });
      try {
        return await processor(job);
      } finally {
        active.delete(job.id!);
      }
    },
    {
      connection: options.connection,
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: Math.max(1_000, Math.round(options.lockMs / 2)),
      maxStalledCount: options.maxStalls,
      name: WORKER_NAME,
    },
  );
  // Job data comes from Redis, which anyone on its network may write: a key is logged as is only once it passed
  // the key check, else quoted (escaped, cut short), so no newline or terminal escape in it can forge a log line.
  worker.on('active', (job) => options.log(`start ${loggedKey(job.data?.key)} (attempt ${job.attemptsMade + 1})`));
  worker.on('completed', (job, result: JobResult) =>
    options.log(
      `done ${loggedKey(job.data?.key)} -> ${printable(String(result.emotion ?? 'embedding')).slice(0, 120)}${result.reused ? ' (already written by an earlier attempt)' : ''}`,
    ),
  );
  worker.on('failed', (job, error) => {
    if (!job) return;
    const { code } = parseFailedReason(error.message);
    const final =
      error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1) || code === 'JOB_STALLED';
    options.log(
      `${final ? 'dead-lettered' : 'will retry'} ${loggedKey(job.data?.key)}: ${code} (attempt ${job.attemptsMade}/${job.opts.attempts ?? 1})`,
    );
  });
  // While Redis is down BullMQ reports every reconnect attempt: one line per distinct error, again after Redis was back.
  let lastError = '';
  options.connection.on('ready', () => (lastError = ''));
  worker.on('error', (error) => {
    const line = `queue error: ${printable(String(error?.message ?? error)).slice(0, 300)}`;
    if (line !== lastError) options.log(line);
    lastError = line;
  });

  return {
    worker,
    async close({ release = false } = {}) {
      if (release) {
        // Hand the current jobs back before the connection closes; their processors' results are then ignored.
        await Promise.all([...active.values()].map(({ job, token }) => job.moveToWait(token).catch(() => undefined)));
        await worker.close(true);
      } else {
        await worker.close();
      }
    },
  };
}

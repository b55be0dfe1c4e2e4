/** Puts analysis jobs on the queue: one job per input, its id derived from its key so that enqueueing is idempotent. */
import type { JobsOptions, Queue } from 'bullmq';
import { checkKey, jobIdForKey, parseJobOptions, type AnalysisJob } from './job.js';

/** The BullMQ job name of an analysis (one kind of job per queue, named for dashboards). */
export const ANALYSIS_JOB_NAME = 'analyze';

/** Retry policy for transient failures (a poison input is never retried: see dead-letter.ts). */
export interface RetryPolicy {
  /** Tries in all, the first one included. */
  readonly attempts: number;
  /** First back-off in ms; each further retry waits twice as long. */
  readonly backoffMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 3, backoffMs: 2_000 };

/** Jobs sent to Redis per round trip. */
const ENQUEUE_CHUNK = 500;

/** The BullMQ options of every analysis job. */
export function jobOptions(key: string, retry: RetryPolicy = DEFAULT_RETRY_POLICY): JobsOptions {
  return {
    jobId: jobIdForKey(key),
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    // Completed jobs keep their small result record and failed ones their error: `status` and summary.csv read them.
    removeOnComplete: false,
    removeOnFail: false,
  };
}

/**
 * Adds the jobs (validated first, so a bad one stops the whole call before anything is queued). A key already on the
 * queue keeps its job: enqueueing the same list twice queues each input once.
 */
export async function enqueueJobs(queue: Queue, jobs: readonly AnalysisJob[], retry: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<number> {
  const checked = jobs.map((job) => ({ input: job.input, key: checkKey(job.key), options: parseJobOptions(job.options) }));
  for (let start = 0; start < checked.length; start += ENQUEUE_CHUNK) {
    const chunk = checked.slice(start, start + ENQUEUE_CHUNK);
    await queue.addBulk(chunk.map((data) => ({ name: ANALYSIS_JOB_NAME, data, opts: jobOptions(data.key, retry) })));
  }
  return checked.length;
}

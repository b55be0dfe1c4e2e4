/** Puts analysis jobs on the queue: one job per input, its id derived from its key so that enqueueing is idempotent. */
import type { JobsOptions, Queue } from 'bullmq';
import { jobIdForKey, parseAnalysisJob, type AnalysisJob } from './job.js';

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

/** What enqueueJobs did with each job. */
export interface EnqueueReport {
  /** New jobs. */
  readonly added: number;
  /** Keys already on the queue for the same input: left as they are (enqueueing twice queues once). */
  readonly alreadyQueued: number;
  /** Keys already on the queue for another input: not added, since their results would share one folder. */
  readonly conflicts: { key: string; input: string; queuedInput: string }[];
}

/**
 * Adds the jobs (all validated first, so a bad one stops the call before anything is queued). A key already on
 * the queue keeps its job: for the same input it counts as already queued, for another input as a conflict.
 */
export async function enqueueJobs(
  queue: Queue,
  jobs: readonly AnalysisJob[],
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<EnqueueReport> {
  const checked = jobs.map((job) => parseAnalysisJob(job));
  let added = 0;
  let alreadyQueued = 0;
  const conflicts: EnqueueReport['conflicts'] = [];
  for (let start = 0; start < checked.length; start += ENQUEUE_CHUNK) {
    const chunk = checked.slice(start, start + ENQUEUE_CHUNK);
    const existing = await Promise.all(chunk.map((data) => queue.getJob(jobIdForKey(data.key))));
    const fresh = chunk.filter((data, i) => {
      const queuedInput = (existing[i]?.data as AnalysisJob | undefined)?.input;
      if (queuedInput === undefined) return true;
      if (queuedInput === data.input) alreadyQueued++;
      else conflicts.push({ key: data.key, input: data.input, queuedInput: String(queuedInput) });
      return false;
    });
    // A job added by another producer between the check and here is still kept once: BullMQ ignores a repeated id.
    await queue.addBulk(fresh.map((data) => ({ name: ANALYSIS_JOB_NAME, data, opts: jobOptions(data.key, retry) })));
    added += fresh.length;
  }
  return { added, alreadyQueued, conflicts };
}

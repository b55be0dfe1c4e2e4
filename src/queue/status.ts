/**
 * Where a run stands: job counts, the dead-lettered keys with their error codes, and summary.csv once nothing is
 * left to run. Everything comes from Redis (counts, failed jobs) and the shared output folder (result.json).
 */
import type { Job, Queue } from 'bullmq';
import type { ErrorRecord } from '../results/record.js';
import { readCompleteResult, writeSummaryCsv, type SummaryEntry } from '../results/folder.js';
import { listDeadLetters, type DeadLetter } from './dead-letter.js';
import type { JobResult } from './worker.js';

/** What `emotion2vec status --json` prints. */
export interface QueueStatus {
  readonly queue: string;
  readonly waiting: number;
  readonly active: number;
  /** Waiting for a retry after a transient failure (exponential back-off). */
  readonly delayed: number;
  readonly completed: number;
  /** Dead-lettered: poison inputs and jobs whose attempts ran out. */
  readonly failed: number;
  /** True when nothing is waiting, running or due for a retry. */
  readonly done: boolean;
  /** Each dead-lettered job's key, input and error. */
  readonly failedKeys: { key: string; input: string; code: string; message: string; attempts: number }[];
}

/** Completed jobs read from Redis per round trip. */
const PAGE = 1_000;

/** Counts and dead letters of the queue. */
export async function readQueueStatus(queue: Queue): Promise<QueueStatus> {
  const counts = await queue.getJobCounts(
    'waiting',
    'prioritized',
    'waiting-children',
    'active',
    'delayed',
    'completed',
    'failed',
  );
  const letters = await listDeadLetters(queue);
  const waiting = counts.waiting! + counts.prioritized! + counts['waiting-children']!;
  return {
    queue: queue.name,
    waiting,
    active: counts.active!,
    delayed: counts.delayed!,
    completed: counts.completed!,
    failed: counts.failed!,
    done: waiting + counts.active! + counts.delayed! === 0,
    failedKeys: letters.map((letter) => ({
      key: letter.key,
      input: letter.input,
      code: letter.error.code,
      message: letter.error.message,
      attempts: letter.attempts,
    })),
  };
}

/** True when nothing is left to run: no job waiting, active or delayed for a retry. */
export async function isRunDone(queue: Queue): Promise<boolean> {
  const counts = await queue.getJobCounts('waiting', 'prioritized', 'waiting-children', 'active', 'delayed');
  return Object.values(counts).every((count) => count === 0);
}

/** What writeRunSummary wrote. */
export interface RunSummary {
  readonly path: string;
  readonly ok: number;
  readonly failed: number;
  /** Completed jobs whose result.json is not in this output folder (another --output-dir, or deleted). */
  readonly missing: string[];
}

/**
 * Writes `<outputDir>/summary.csv` for every finished job of the queue, sorted by key: completed ones from their
 * result.json, dead-lettered ones with their error code.
 */
export async function writeRunSummary(queue: Queue, outputDir: string): Promise<RunSummary> {
  const entries: { key: string; entry: SummaryEntry }[] = [];
  const missing: string[] = [];
  for (let start = 0; ; start += PAGE) {
    const jobs = (await queue.getCompleted(start, start + PAGE - 1)).filter(Boolean) as Job[];
    for (const job of jobs) {
      const { folder } = job.returnvalue as JobResult;
      const record = await readCompleteResult(outputDir, folder);
      if (record) entries.push({ key: record.key, entry: { record, folder } });
      else missing.push(folder);
    }
    if (jobs.length < PAGE) break;
  }
  const letters: DeadLetter[] = await listDeadLetters(queue);
  for (const letter of letters) {
    const record: ErrorRecord = { input: letter.input, key: letter.key, error: letter.error };
    entries.push({ key: letter.key, entry: { record } });
  }
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const path = await writeSummaryCsv(
    outputDir,
    entries.map(({ entry }) => entry),
  );
  return { path, ok: entries.length - letters.length, failed: letters.length, missing };
}

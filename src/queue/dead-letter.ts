/**
 * Which failures are retried and how a failure is recorded. A poison input (a typed audio error, an invalid job)
 * fails the same way every time, so it goes straight to the dead-letter set, BullMQ's failed set, with its error
 * code; anything else (a network or disk hiccup, an inference error) is retried with exponential back-off and
 * dead-lettered only when its attempts run out.
 */
import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import { AudioInputError, isEmotion2VecError, UsageError } from '../errors.js';
import { toErrorRecord, type ErrorRecord } from '../results/record.js';

/** Longest error message kept in Redis. */
const MAX_REASON_LENGTH = 1_000;
/** BullMQ's reason for a job whose worker died on it more often than maxStalledCount allows. */
const STALLED_REASON = 'job stalled more than allowable limit';
/** Failed jobs read from Redis per round trip. */
const PAGE = 1_000;

/** True for failures that would fail the same way on every retry. */
export function isPoison(error: unknown): boolean {
  return error instanceof AudioInputError || error instanceof UsageError;
}

/**
 * The error a processor throws for a failed job: `CODE: message`, so the code survives in BullMQ's failedReason.
 * Poison inputs become an UnrecoverableError, which BullMQ fails at once without using the remaining attempts.
 */
export function toJobError(error: unknown): Error {
  const { code, message } = isEmotion2VecError(error)
    ? error.toJSON()
    : { code: 'INTERNAL', message: (error as Error)?.message ?? String(error) };
  const reason = `${code}: ${message}`.slice(0, MAX_REASON_LENGTH);
  return isPoison(error) ? new UnrecoverableError(reason) : new Error(reason);
}

/** `{ code, message }` back from a failedReason written by toJobError (or by BullMQ itself). */
export function parseFailedReason(reason: string | undefined): { code: string; message: string } {
  if (!reason) return { code: 'INTERNAL', message: 'The job failed without a reason.' };
  if (reason === STALLED_REASON)
    return {
      code: 'JOB_STALLED',
      message:
        "The job's worker stopped (crashed or was killed) on it more often than allowed; it was not retried again.",
    };
  const match = /^([A-Z][A-Z0-9_]*): ([\s\S]*)$/.exec(reason);
  return match ? { code: match[1]!, message: match[2]! } : { code: 'INTERNAL', message: reason };
}

/** A dead-lettered job: the shared error record plus how many attempts it had. */
export interface DeadLetter extends ErrorRecord {
  readonly jobId: string;
  readonly attempts: number;
}

/** The dead-letter record of a failed job. */
export function toDeadLetter(job: Pick<Job, 'id' | 'data' | 'failedReason' | 'attemptsMade'>): DeadLetter {
  const data = (job.data ?? {}) as { input?: unknown; key?: unknown };
  const { code, message } = parseFailedReason(job.failedReason);
  const record = toErrorRecord(new Error(message), { input: String(data.input ?? ''), key: String(data.key ?? '') });
  return { ...record, error: { code, message }, jobId: String(job.id), attempts: job.attemptsMade };
}

/** Every dead-lettered job of the queue, oldest first, read a page at a time. */
export async function listDeadLetters(queue: Queue): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for (let start = 0; ; start += PAGE) {
    const jobs = await queue.getFailed(start, start + PAGE - 1);
    letters.push(...jobs.filter(Boolean).map((job) => toDeadLetter(job as Job)));
    if (jobs.length < PAGE) break;
  }
  return letters;
}

/**
 * A bounded FIFO that runs one task at a time. One model must never run two inferences at once: the tfjs
 * backends share one engine per process, so interleaved forward passes only compete for the same cores (and,
 * on GPU backends, the same memory). A few dozen lines here instead of a dependency, because we need three
 * things a general queue does not give together: a hard capacity, a place held before the work is known (a
 * request takes its place before its upload is read, so a full queue refuses before buffering anything), and an
 * estimate for `Retry-After`.
 */
import { UsageError } from '../errors.js';

/** A place in the queue, taken before the task is known: run it once, or release it. */
export interface QueueTicket {
  /** Runs `task` after every task queued before it; the place is given back when it ends. */
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Gives the place back without running anything (a no-op once `run` was called). */
  release(): void;
}

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private held = 0;
  private averageMs = 0;

  /** @param capacity Most tasks that may wait or run at once; the next one is refused with `SERVER_BUSY`. */
  constructor(readonly capacity: number) {}

  /** Places taken now: tasks waiting or running, and requests whose upload is still being read. */
  get size(): number {
    return this.held;
  }

  /** Seconds a client refused now should wait: the queue's expected drain time, at least 1. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.averageMs * this.held) / 1000));
  }

  /**
   * Takes a place in the queue.
   * @throws UsageError `SERVER_BUSY` when `capacity` places are already taken.
   */
  reserve(): QueueTicket {
    if (this.held >= this.capacity) {
      throw new UsageError(
        'SERVER_BUSY',
        `The server is busy: ${this.held} requests are queued (the limit is ${this.capacity}). Retry after ${this.retryAfterSeconds} s.`,
        { details: { retryAfterSeconds: this.retryAfterSeconds } },
      );
    }
    this.held++;
    let state: 'held' | 'running' | 'done' = 'held';
    const giveBack = () => {
      if (state !== 'done') this.held--;
      state = 'done';
    };
    return {
      run: <T>(task: () => Promise<T>): Promise<T> => {
        if (state !== 'held') return Promise.reject(new Error('A queue ticket runs one task, once.'));
        state = 'running';
        const started = this.tail.then(async () => {
          const start = performance.now();
          try {
            return await task();
          } finally {
            // Moving average of task time, for Retry-After.
            const elapsed = performance.now() - start;
            this.averageMs = this.averageMs === 0 ? elapsed : 0.8 * this.averageMs + 0.2 * elapsed;
            giveBack();
          }
        });
        // The chain must go on after a failed task; the caller still sees the failure through `started`.
        this.tail = started.catch(() => undefined);
        return started;
      },
      release: () => {
        if (state === 'held') giveBack();
      },
    };
  }

  /**
   * Runs `task` after every task queued before it.
   * @throws UsageError `SERVER_BUSY` (without running `task`) when `capacity` places are already taken.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    return this.reserve().run(task);
  }
}

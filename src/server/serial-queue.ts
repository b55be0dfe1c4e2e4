/**
 * A bounded FIFO that runs one task at a time. One model must never run two inferences at once: the tfjs
 * backends share one engine per process, so interleaved forward passes only compete for the same cores (and,
 * on GPU backends, the same memory). A dozen lines here instead of a dependency, because we need exactly two
 * things a general queue does not give in one call: a hard capacity and an estimate for `Retry-After`.
 */
import { UsageError } from '../errors.js';

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private averageMs = 0;

  /** @param capacity Most tasks that may wait or run at once; the next one is refused with `SERVER_BUSY`. */
  constructor(readonly capacity: number) {}

  /** Tasks waiting or running now. */
  get size(): number {
    return this.waiting;
  }

  /** Seconds a client refused now should wait: the queue's expected drain time, at least 1. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.averageMs * this.waiting) / 1000));
  }

  /**
   * Runs `task` after every task queued before it.
   * @throws UsageError `SERVER_BUSY` (without running `task`) when `capacity` tasks are already queued.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.waiting >= this.capacity) {
      throw new UsageError(
        'SERVER_BUSY',
        `The server is busy: ${this.waiting} requests are queued (the limit is ${this.capacity}). Retry after ${this.retryAfterSeconds} s.`,
        {
          details: { retryAfterSeconds: this.retryAfterSeconds },
        },
      );
    }
    this.waiting++;
    const started = this.tail.then(async () => {
      const start = performance.now();
      try {
        return await task();
      } finally {
        // Moving average of task time, for Retry-After.
        const elapsed = performance.now() - start;
        this.averageMs = this.averageMs === 0 ? elapsed : 0.8 * this.averageMs + 0.2 * elapsed;
        this.waiting--;
      }
    });
    // The chain must go on after a failed task; the caller still sees the failure through `started`.
    this.tail = started.catch(() => undefined);
    return started;
  }
}

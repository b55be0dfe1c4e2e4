/**
 * Time and size bounds of one hub download, the same in Node (download.ts, to disk) and browsers (browser-cache.ts,
 * to memory): a stall timeout (no byte for so long, the response headers included: a hub that answers and then
 * sends nothing), an overall deadline (a slow drip that never stalls), and a byte bound counted after any
 * content-encoding is decoded (a gzip bomb is cut at the bound, not at its compressed size).
 *
 * Every wait is raced against the clock and the request aborted when the clock wins, so no download outlives its
 * bounds even through a fetch that ignores its abort signal.
 */
import { CheckpointError } from '../errors.js';
import type { HubOptions } from './progress.js';

/** No byte for this long fails the attempt (it is retried, resuming where it stopped). */
export const DEFAULT_STALL_MS = 30_000;
/** Every file may take this long, plus the time its size takes at {@link DEADLINE_BYTES_PER_SECOND}. */
export const DEADLINE_BASE_MS = 10 * 60_000;
export const DEADLINE_BYTES_PER_SECOND = 64 * 1024;

/** The stall timeout and deadline of one file. */
export interface TransferTimes {
  readonly stallMs: number;
  /** Milliseconds for the whole file, every attempt together; default from its size (see deadlineFor). */
  readonly deadlineMs?: number;
}

/** 10 minutes plus the time `bytes` take at 64 KiB/s: a config.yaml gets about 10 min, a 2 GB model.pt 9 h. */
export function deadlineFor(bytes: number): number {
  return DEADLINE_BASE_MS + Math.ceil((bytes / DEADLINE_BYTES_PER_SECOND) * 1000);
}

/**
 * The options' times, else `EMOTION2VEC_STALL_TIMEOUT` / `EMOTION2VEC_DOWNLOAD_DEADLINE` (seconds), else the
 * defaults (the deadline then follows each file's size).
 */
export function transferTimes(options: Pick<HubOptions, 'stallTimeoutMs' | 'deadlineMs'> = {}): TransferTimes {
  const env = typeof process !== 'undefined' ? process.env : {};
  const seconds = (name: string): number | undefined => {
    const value = Number(env[name]);
    return env[name] !== undefined && Number.isFinite(value) && value > 0 ? value * 1000 : undefined;
  };
  const deadlineMs = options.deadlineMs ?? seconds('EMOTION2VEC_DOWNLOAD_DEADLINE');
  return {
    stallMs: options.stallTimeoutMs ?? seconds('EMOTION2VEC_STALL_TIMEOUT') ?? DEFAULT_STALL_MS,
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
  };
}

/** Why a transfer was cut: no byte for the stall timeout (worth retrying), or past the deadline (not). */
export class TransferTimeout extends Error {
  constructor(
    readonly kind: 'stall' | 'deadline',
    readonly afterMs: number,
  ) {
    super(
      kind === 'stall' ? `no data arrived for ${seconds(afterMs)}` : `it did not finish within ${seconds(afterMs)}`,
    );
    this.name = 'TransferTimeout';
  }
}

/** The clock of one file's download: every step of every attempt runs within it. */
export class TransferClock {
  private deadline: number;
  private readonly started = Date.now();

  constructor(
    private readonly times: TransferTimes,
    /** The file's size or bound, which sets the deadline when none is given. */
    size: number,
  ) {
    this.deadline = this.started + (times.deadlineMs ?? deadlineFor(size));
  }

  /** Tightens the deadline once the server has said how large the file is (a default deadline only). */
  sizeKnown(bytes: number): void {
    if (this.times.deadlineMs === undefined) this.deadline = Math.min(this.deadline, this.started + deadlineFor(bytes));
  }

  /**
   * `step`, unless the stall timeout or the deadline comes first: then `abort` runs (cancel the request) and a
   * TransferTimeout is thrown.
   */
  async within<T>(step: Promise<T>, abort: () => void): Promise<T> {
    const left = this.deadline - Date.now();
    const kind = left <= this.times.stallMs ? 'deadline' : 'stall';
    const wait = Math.max(0, Math.min(left, this.times.stallMs));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TransferTimeout(kind, kind === 'stall' ? wait : this.deadline - this.started)),
        wait,
      );
    });
    // The losing step may still settle later: nobody awaits it then.
    step.catch(() => undefined);
    try {
      return await Promise.race([step, timeout]);
    } catch (error) {
      if (error instanceof TransferTimeout) abort();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

function seconds(ms: number): string {
  return `${ms < 10_000 ? Number((ms / 1000).toFixed(1)) : Math.round(ms / 1000)} s`;
}

/** The error a file larger than its bound gets (FILE_TOO_LARGE), before or while it is read. */
export function tooLarge(url: string, file: string, maxBytes: number, announced?: number): CheckpointError {
  const size = announced === undefined ? 'sent more than' : `announced ${announced} bytes, more than`;
  return new CheckpointError(
    'FILE_TOO_LARGE',
    `${url} ${size} the ${maxBytes} bytes a ${file} may have (counted after any compression is undone); nothing of it was kept. The server is not serving the model's file: check the id and the hub.`,
    { details: { url, file, maxBytes, ...(announced === undefined ? {} : { announced }) } },
  );
}

/**
 * The int8 product on several threads over one shared memory (a prototype for tfjs' threaded build, whose heap is
 * a shared WebAssembly.Memory): each worker holds its own instance of the kernel module on the same memory, the
 * work is split between the threads, and they meet through Atomics on a small control block of their own (not on
 * the heap).
 *
 * Two splits: `matmul` splits the output columns by panels (the activations quantized beforehand, on one thread);
 * `product` splits the rows by blocks, and each thread quantizes its own rows and then multiplies them by every
 * column, so the quantization is shared too and no thread waits for another in between.
 *
 * The calling thread takes a share and then blocks in `Atomics.wait` until the workers are done. That is allowed
 * in Node and in browser workers but not on a browser's main thread; there, wherever the memory is not shared, and
 * where no way to start workers is given, the pool runs every product on the calling thread alone (`threads` is 1).
 * This module imports nothing of any platform: Node's workers are started by int8-threads-node.ts (a browser's
 * would be Web Workers running the same loop, not written yet).
 */
import { InferenceError, UsageError } from '../../../errors.js';
import { int8ModuleBytes, isSharedMemory, type Int8Kernels } from './int8-matmul.js';

export interface Int8ThreadPool {
  /** Threads that share a product, the calling one included (1: the calling thread alone). */
  readonly threads: number;
  /** Why the pool runs on fewer threads than asked for, if it does. */
  readonly fallback?: string;
  /** `Int8Kernels.matmul` over the whole output, its columns split between the threads. */
  matmul(quantized: number, packed: number, out: number, m: number, k: number, n: number): void;
  /**
   * `Int8Kernels.quantizeRows` then `matmul`, its rows split between the threads: every column, or those of
   * `part` (the rows of x `part.rowStride` floats apart, default k).
   */
  product(
    x: number,
    quantized: number,
    packed: number,
    out: number,
    m: number,
    k: number,
    n: number,
    part?: Int8ProductPart,
  ): void;
  /** Bytes of scratch memory `attention` needs: `Int8Kernels.attentionScratchBytes` per thread. */
  attentionScratchBytes(n: number, headDim: number): number;
  /** `Int8Kernels.attention` over every head, the heads split between the threads (each its own scratch). */
  attention(
    qkv: number,
    n: number,
    dim: number,
    headDim: number,
    bias: number,
    biasHeadStride: number,
    biasRowStride: number,
    out: number,
    scratch: number,
  ): void;
  /** Bytes of scratch memory `warmUp` needs: `Int8Kernels.warmUpBytes` per thread. */
  readonly warmUpBytes: number;
  /** `Int8Kernels.warmUp` on every thread's instance, each on its own part of the scratch memory. */
  warmUp(scratch: number): void;
  /** Stops the workers (the pool cannot be used afterwards). */
  close(): Promise<void>;
}

/** Which rows of x and columns of the output a product takes (see `Int8ThreadPool.product`). */
export interface Int8ProductPart {
  /** Floats from one row of x to the next (default k; less than k: overlapping rows). */
  readonly rowStride?: number;
  /** Output columns [colBegin, colEnd) (default all; colBegin a multiple of the panel width). */
  readonly colBegin?: number;
  readonly colEnd?: number;
}

// Each worker's slots in the control block: 16 int32 (64 bytes, a cache line of its own).
const SLOT_INTS = 16;
const REQUEST = 0; // the job number the caller posts
const DONE = 1; // the job number the worker finished
const FAILED = 2; // 1 when the worker's kernel threw
const OP = 3; // what to do: one of the OPS
const ARGS = 4; // the kernel's arguments
const OPS = { stop: 0, matmul: 1, product: 2, warmUp: 3, attention: 4 } as const;
/** A worker that takes longer than this to finish its share is taken as dead (a product takes milliseconds). */
const WAIT_LIMIT_MS = 60_000;

/** What a worker is handed: the shared memory, the kernel module's bytes, the control block and its slot in it. */
export interface Int8WorkerData {
  readonly memory: WebAssembly.Memory;
  readonly bytes: Uint8Array;
  readonly control: SharedArrayBuffer;
  readonly slot: number;
}

/**
 * The worker's loop, as the text of a function `(data: Int8WorkerData, ready: () => void) => void` that a platform's
 * starter wraps into its worker script: instantiates the kernels on the shared memory, says it is ready, then waits
 * for jobs on its slots until told to stop. product's arguments: x, quantized, packed, out, m, k, n, rowBegin, rowEnd,
 * rowStride, colBegin, colEnd.
 */
export const INT8_WORKER_LOOP = `function int8WorkerLoop(data, ready) {
  const kernels = new WebAssembly.Instance(new WebAssembly.Module(data.bytes), { env: { memory: data.memory } }).exports;
  const c = new Int32Array(data.control, data.slot * ${SLOT_INTS * 4}, ${SLOT_INTS});
  ready();
  let seen = 0;
  for (;;) {
    Atomics.wait(c, ${REQUEST}, seen);
    const request = Atomics.load(c, ${REQUEST});
    if (request === seen) continue;
    seen = request;
    const op = c[${OP}];
    if (op === ${OPS.stop}) break;
    let failed = 0;
    try {
      const a = ${ARGS};
      if (op === ${OPS.matmul}) {
        kernels.int8_matmul(c[a], c[a + 1], c[a + 2], c[a + 3], c[a + 4], c[a + 5], c[a + 6], c[a + 7], c[a + 8], c[a + 9]);
      } else if (op === ${OPS.warmUp}) {
        kernels.int8_warm_up(c[a]);
      } else if (op === ${OPS.attention}) {
        kernels.int8_attention(c[a], c[a + 1], c[a + 2], c[a + 3], c[a + 4], c[a + 5], c[a + 6], c[a + 7], c[a + 8], c[a + 9], c[a + 10]);
      } else {
        kernels.int8_quantize_rows(c[a], c[a + 4], c[a + 5], c[a + 1], c[a + 7], c[a + 8], c[a + 9]);
        kernels.int8_matmul(c[a + 1], c[a + 2], c[a + 3], c[a + 4], c[a + 5], c[a + 6], c[a + 7], c[a + 8], c[a + 10], c[a + 11]);
      }
    } catch {
      failed = 1;
    }
    Atomics.store(c, ${FAILED}, failed);
    Atomics.store(c, ${DONE}, seen);
    Atomics.notify(c, ${DONE});
  }
}`;

/** A started worker, as the pool sees it (int8-threads-node.ts makes them from Node's worker_threads). */
export interface Int8Worker {
  /** Resolves once the worker has its instance; rejects if it fails to start. */
  readonly ready: Promise<void>;
  /** The first error the worker reported after it started, if any. */
  failure(): string | undefined;
  /** Resolves once the worker has exited, after the pool told it to stop. */
  exited(): Promise<void>;
}

/** Starts a worker running INT8_WORKER_LOOP on `data`. */
export type Int8WorkerStarter = (data: Int8WorkerData) => Int8Worker;

/** Whether this thread may block in Atomics.wait (not on a browser's main thread). */
export function canBlockThisThread(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

function singleThread(kernels: Int8Kernels, fallback?: string): Int8ThreadPool {
  return {
    threads: 1,
    ...(fallback ? { fallback } : {}),
    matmul: (quantized, packed, out, m, k, n) => kernels.matmul(quantized, packed, out, m, k, n),
    product: (x, quantized, packed, out, m, k, n, part = {}) => {
      const { rowStride = k, colBegin = 0, colEnd = n } = part;
      kernels.quantizeRows(x, m, k, quantized, 0, m, rowStride);
      kernels.matmul(quantized, packed, out, m, k, n, { rowBegin: 0, rowEnd: m, colBegin, colEnd });
    },
    attentionScratchBytes: (n, headDim) => kernels.attentionScratchBytes(n, headDim),
    attention: (qkv, n, dim, headDim, bias, biasHeadStride, biasRowStride, out, scratch) =>
      kernels.attention(qkv, n, dim, headDim, 0, dim / headDim, bias, biasHeadStride, biasRowStride, out, scratch),
    warmUpBytes: kernels.warmUpBytes,
    warmUp: (scratch) => kernels.warmUp(scratch),
    close: async () => {},
  };
}

/** Where share `share` of `shares` starts when `total` is split evenly in units of `size` (blocks of rows, panels). */
function shareStart(share: number, shares: number, size: number, total: number): number {
  return Math.min(total, Math.floor((share * Math.ceil(total / size)) / shares) * size);
}

/**
 * A pool of `threads` threads (the caller's and threads - 1 workers started by `startWorker`) for products on
 * `kernels`' memory. Resolves once every worker has its instance.
 */
export async function createInt8ThreadPool(
  kernels: Int8Kernels,
  threads: number,
  startWorker?: Int8WorkerStarter,
): Promise<Int8ThreadPool> {
  if (!Number.isSafeInteger(threads) || threads < 1) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `An int8 thread pool needs a whole number of threads (1 or more), not ${threads}.`,
    );
  }
  if (threads === 1) return singleThread(kernels);
  if (!isSharedMemory(kernels.memory)) return singleThread(kernels, 'the memory is not shared');
  if (typeof SharedArrayBuffer === 'undefined') {
    return singleThread(kernels, 'no SharedArrayBuffer here (a page that is not cross-origin isolated)');
  }
  if (!canBlockThisThread()) return singleThread(kernels, 'this thread may not wait (a browser main thread)');
  if (!startWorker) return singleThread(kernels, 'no way to start workers was given');

  const control = new SharedArrayBuffer((threads - 1) * SLOT_INTS * 4);
  const bytes = int8ModuleBytes(kernels.variant, true);
  const workers = Array.from({ length: threads - 1 }, (_, slot) =>
    startWorker({ memory: kernels.memory, bytes, control, slot }),
  );
  await Promise.all(workers.map((worker) => worker.ready));
  const slots = workers.map((_, slot) => new Int32Array(control, slot * SLOT_INTS * 4, SLOT_INTS));
  let job = 0;
  let closed = false;

  const check = () => {
    if (closed) throw new UsageError('INVALID_ARGUMENT', 'This int8 thread pool is closed: create another.');
    const failure = workers.map((worker) => worker.failure()).find((f) => f !== undefined);
    if (failure) throw new InferenceError('INFERENCE_FAILED', `An int8 worker thread stopped: ${failure}`);
  };
  /** Posts each worker its job (op and arguments), runs `own` on this thread, then waits for the workers. */
  const run = (op: number, args: (share: number) => number[], own: () => void) => {
    job++;
    slots.forEach((slot, share) => {
      slot.set([op, ...args(share)], OP);
      Atomics.store(slot, REQUEST, job);
      Atomics.notify(slot, REQUEST);
    });
    own();
    const deadline = Date.now() + WAIT_LIMIT_MS;
    for (const slot of slots) {
      for (let done = Atomics.load(slot, DONE); done !== job; done = Atomics.load(slot, DONE)) {
        if (Date.now() > deadline) {
          throw new InferenceError(
            'INFERENCE_FAILED',
            'An int8 worker thread did not finish its share of a product within a minute.',
          );
        }
        Atomics.wait(slot, DONE, done, 1000);
      }
      if (Atomics.load(slot, FAILED) !== 0) {
        throw new InferenceError('INFERENCE_FAILED', 'An int8 worker thread failed in its share of a product.');
      }
    }
  };

  return {
    threads,
    warmUpBytes: threads * kernels.warmUpBytes,
    warmUp(scratch) {
      check();
      const end = scratch + threads * kernels.warmUpBytes;
      if (!Number.isSafeInteger(scratch) || scratch < 0 || end > kernels.memory.buffer.byteLength) {
        const bytes = threads * kernels.warmUpBytes;
        throw new UsageError(
          'INVALID_ARGUMENT',
          `int8 warm-up: ${bytes} bytes of scratch at ${scratch} end beyond the memory.`,
        );
      }
      const part = (share: number) => scratch + share * kernels.warmUpBytes;
      run(
        OPS.warmUp,
        (share) => [part(share)],
        () => kernels.warmUp(part(threads - 1)),
      );
    },
    attentionScratchBytes: (n, headDim) => threads * kernels.attentionScratchBytes(n, headDim),
    attention(qkv, n, dim, headDim, bias, biasHeadStride, biasRowStride, out, scratch) {
      check();
      const heads = dim / headDim;
      const bytes = kernels.attentionScratchBytes(n, headDim);
      const head = (share: number) => Math.floor((share * heads) / threads);
      const args = (share: number) => [
        qkv,
        n,
        dim,
        headDim,
        head(share),
        head(share + 1),
        bias,
        biasHeadStride,
        biasRowStride,
        out,
        scratch + share * bytes,
      ];
      // An empty range checks every buffer against the memory before any thread starts.
      kernels.attention(
        qkv,
        n,
        dim,
        headDim,
        0,
        0,
        bias,
        biasHeadStride,
        biasRowStride,
        out,
        scratch + (threads - 1) * bytes,
      );
      run(OPS.attention, args, () => kernels.attention(...(args(threads - 1) as Parameters<Int8Kernels['attention']>)));
    },
    matmul(quantized, packed, out, m, k, n) {
      check();
      // An empty range checks every buffer against the memory before any thread starts.
      kernels.matmul(quantized, packed, out, m, k, n, { rowBegin: 0, rowEnd: 0, colBegin: 0, colEnd: 0 });
      const column = (share: number) => shareStart(share, threads, kernels.panelWidth, n);
      run(
        OPS.matmul,
        (share) => [quantized, packed, out, m, k, n, 0, m, column(share), column(share + 1)],
        () =>
          kernels.matmul(quantized, packed, out, m, k, n, {
            rowBegin: 0,
            rowEnd: m,
            colBegin: column(threads - 1),
            colEnd: n,
          }),
      );
    },
    product(x, quantized, packed, out, m, k, n, part = {}) {
      check();
      const { rowStride = k, colBegin = 0, colEnd = n } = part;
      // Empty ranges check every buffer and the columns against the memory before any thread starts.
      kernels.quantizeRows(x, m, k, quantized, 0, 0, rowStride);
      kernels.matmul(quantized, packed, out, m, k, n, { rowBegin: 0, rowEnd: 0, colBegin, colEnd });
      const row = (share: number) => shareStart(share, threads, kernels.rowBlock, m);
      run(
        OPS.product,
        (share) => [x, quantized, packed, out, m, k, n, row(share), row(share + 1), rowStride, colBegin, colEnd],
        () => {
          kernels.quantizeRows(x, m, k, quantized, row(threads - 1), m, rowStride);
          kernels.matmul(quantized, packed, out, m, k, n, {
            rowBegin: row(threads - 1),
            rowEnd: m,
            colBegin,
            colEnd,
          });
        },
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      job++;
      for (const slot of slots) {
        Atomics.store(slot, OP, OPS.stop);
        Atomics.store(slot, REQUEST, job);
        Atomics.notify(slot, REQUEST);
      }
      await Promise.all(workers.map((worker) => worker.exited()));
    },
  };
}

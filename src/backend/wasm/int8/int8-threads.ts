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
 * in Node and in browser workers but not on a browser's main thread; there, and wherever the memory is not
 * shared, the pool runs every product on the calling thread alone (`threads` is 1). Workers are started with
 * Node's `worker_threads` (a browser pool would start Web Workers the same way; not written yet).
 */
import { InferenceError, UsageError } from '../../../errors.js';
import { int8ModuleBytes, type Int8Kernels } from './int8-matmul.js';

export interface Int8ThreadPool {
  /** Threads that share a product, the calling one included (1: the calling thread alone). */
  readonly threads: number;
  /** Why the pool runs on fewer threads than asked for, if it does. */
  readonly fallback?: string;
  /** `Int8Kernels.matmul` over the whole output, its columns split between the threads. */
  matmul(quantized: number, packed: number, out: number, m: number, k: number, n: number): void;
  /** `Int8Kernels.quantizeRows` then `matmul` over the whole output, its rows split between the threads. */
  product(x: number, quantized: number, packed: number, out: number, m: number, k: number, n: number): void;
  /** Bytes of scratch memory `warmUp` needs: `Int8Kernels.warmUpBytes` per thread. */
  readonly warmUpBytes: number;
  /** `Int8Kernels.warmUp` on every thread's instance, each on its own part of the scratch memory. */
  warmUp(scratch: number): void;
  /** Stops the workers (the pool cannot be used afterwards). */
  close(): Promise<void>;
}

// Each worker's slots in the control block: 16 int32 (64 bytes, a cache line of its own).
const SLOT_INTS = 16;
const REQUEST = 0; // the job number the caller posts
const DONE = 1; // the job number the worker finished
const FAILED = 2; // 1 when the worker's kernel threw
const OP = 3; // what to do: one of the OPS
const ARGS = 4; // the kernel's arguments
const OPS = { stop: 0, matmul: 1, product: 2, warmUp: 3 } as const;
/** A worker that takes longer than this to finish its share is taken as dead (a product takes milliseconds). */
const WAIT_LIMIT_MS = 60_000;

/**
 * The worker's script (CommonJS, run with `eval`): instantiates the kernels on the shared memory, then waits for
 * jobs on its slots. Plain JavaScript, so that the same text can serve a browser's Web Worker later.
 * product's arguments: x, quantized, packed, out, m, k, n, rowBegin, rowEnd.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { memory, bytes, control, slot } = workerData;
const kernels = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
const c = new Int32Array(control, slot * ${SLOT_INTS * 4}, ${SLOT_INTS});
parentPort.postMessage('ready');
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
    } else {
      kernels.int8_quantize_rows(c[a], c[a + 4], c[a + 5], c[a + 1], c[a + 7], c[a + 8]);
      kernels.int8_matmul(c[a + 1], c[a + 2], c[a + 3], c[a + 4], c[a + 5], c[a + 6], c[a + 7], c[a + 8], 0, c[a + 6]);
    }
  } catch {
    failed = 1;
  }
  Atomics.store(c, ${FAILED}, failed);
  Atomics.store(c, ${DONE}, seen);
  Atomics.notify(c, ${DONE});
}
`;

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
    product: (x, quantized, packed, out, m, k, n) => {
      kernels.quantizeRows(x, m, k, quantized);
      kernels.matmul(quantized, packed, out, m, k, n);
    },
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
 * A pool of `threads` threads (the caller's and threads - 1 workers) for products on `kernels`' memory. Resolves
 * once every worker has its instance.
 */
export async function createInt8ThreadPool(kernels: Int8Kernels, threads: number): Promise<Int8ThreadPool> {
  if (!Number.isSafeInteger(threads) || threads < 1) throw new UsageError('INVALID_ARGUMENT', `An int8 thread pool needs a whole number of threads (1 or more), not ${threads}.`);
  if (threads === 1) return singleThread(kernels);
  const shared = typeof SharedArrayBuffer !== 'undefined' && kernels.memory.buffer instanceof SharedArrayBuffer;
  if (!shared) return singleThread(kernels, 'the memory is not shared');
  if (!canBlockThisThread()) return singleThread(kernels, 'this thread may not wait (a browser main thread)');
  if (typeof process === 'undefined' || !process.versions?.node) return singleThread(kernels, 'workers are started in Node only so far');

  const { Worker } = await import('node:worker_threads');
  const control = new SharedArrayBuffer((threads - 1) * SLOT_INTS * 4);
  const bytes = int8ModuleBytes(kernels.variant, true);
  let failure: string | undefined;
  const workers = Array.from({ length: threads - 1 }, (_, slot) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { memory: kernels.memory, bytes, control, slot } });
    worker.on('error', (error: Error) => {
      failure ??= error.message.slice(0, 200);
    });
    return worker;
  });
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new InferenceError('INFERENCE_FAILED', `An int8 worker thread stopped while starting (exit code ${code}).`)));
        }),
    ),
  );
  // Waiting workers never keep the process alive.
  for (const worker of workers) worker.unref();
  const slots = workers.map((_, slot) => new Int32Array(control, slot * SLOT_INTS * 4, SLOT_INTS));
  let job = 0;
  let closed = false;

  const check = () => {
    if (closed) throw new UsageError('INVALID_ARGUMENT', 'This int8 thread pool is closed: create another.');
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
        if (Date.now() > deadline) throw new InferenceError('INFERENCE_FAILED', 'An int8 worker thread did not finish its share of a product within a minute.');
        Atomics.wait(slot, DONE, done, 1000);
      }
      if (Atomics.load(slot, FAILED) !== 0) throw new InferenceError('INFERENCE_FAILED', 'An int8 worker thread failed in its share of a product.');
    }
  };

  return {
    threads,
    warmUpBytes: threads * kernels.warmUpBytes,
    warmUp(scratch) {
      check();
      const end = scratch + threads * kernels.warmUpBytes;
      if (!Number.isSafeInteger(scratch) || scratch < 0 || end > kernels.memory.buffer.byteLength) {
        throw new UsageError('INVALID_ARGUMENT', `int8 warm-up: ${threads * kernels.warmUpBytes} bytes of scratch at ${scratch} end beyond the memory.`);
      }
      const part = (share: number) => scratch + share * kernels.warmUpBytes;
      run(OPS.warmUp, (share) => [part(share)], () => kernels.warmUp(part(threads - 1)));
    },
    matmul(quantized, packed, out, m, k, n) {
      check();
      // An empty range checks every buffer against the memory before any thread starts.
      kernels.matmul(quantized, packed, out, m, k, n, { rowBegin: 0, rowEnd: 0, colBegin: 0, colEnd: 0 });
      const column = (share: number) => shareStart(share, threads, kernels.panelWidth, n);
      run(
        OPS.matmul,
        (share) => [quantized, packed, out, m, k, n, 0, m, column(share), column(share + 1)],
        () => kernels.matmul(quantized, packed, out, m, k, n, { rowBegin: 0, rowEnd: m, colBegin: column(threads - 1), colEnd: n }),
      );
    },
    product(x, quantized, packed, out, m, k, n) {
      check();
      kernels.quantizeRows(x, m, k, quantized, 0, 0);
      kernels.matmul(quantized, packed, out, m, k, n, { rowBegin: 0, rowEnd: 0, colBegin: 0, colEnd: 0 });
      const row = (share: number) => shareStart(share, threads, kernels.rowBlock, m);
      run(
        OPS.product,
        (share) => [x, quantized, packed, out, m, k, n, row(share), row(share + 1)],
        () => {
          kernels.quantizeRows(x, m, k, quantized, row(threads - 1), m);
          kernels.matmul(quantized, packed, out, m, k, n, { rowBegin: row(threads - 1), rowEnd: m, colBegin: 0, colEnd: n });
        },
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      job++;
      await Promise.all(
        workers.map((worker, share) => {
          const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
          // Held until it has exited: an unreferenced worker's exit would not keep the process waiting for it.
          worker.ref();
          const slot = slots[share]!;
          Atomics.store(slot, OP, OPS.stop);
          Atomics.store(slot, REQUEST, job);
          Atomics.notify(slot, REQUEST);
          return exited;
        }),
      );
    },
  };
}

/**
 * Node's workers for the int8 thread pool (int8-threads.ts): a `worker_threads` Worker running the pool's worker
 * loop, handed the shared memory and the module's bytes as its workerData. Kept apart so that the pool itself
 * imports nothing of Node (a browser bundle would fail on `node:worker_threads`).
 */
import { Worker } from 'node:worker_threads';
import { InferenceError } from '../../../errors.js';
import { INT8_WORKER_LOOP, type Int8Worker, type Int8WorkerData, type Int8WorkerStarter } from './int8-threads.js';

const SCRIPT = `const { parentPort, workerData } = require('node:worker_threads');
(${INT8_WORKER_LOOP})(workerData, () => parentPort.postMessage('ready'));`;

/** Starts one worker; waiting for jobs, it never keeps the process alive. */
export const startNodeInt8Worker: Int8WorkerStarter = (data: Int8WorkerData): Int8Worker => {
  const worker = new Worker(SCRIPT, { eval: true, workerData: data });
  let failure: string | undefined;
  let hasExited = false;
  const exit = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      hasExited = true;
      resolve();
    }),
  );
  worker.on('error', (error: Error) => {
    failure ??= error.message.slice(0, 200);
  });
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', () => {
      worker.unref();
      resolve();
    });
    worker.once('error', reject);
    void exit.then(() =>
      reject(new InferenceError('INFERENCE_FAILED', 'An int8 worker thread stopped while starting.')),
    );
  });
  return {
    ready,
    failure: () => failure ?? (hasExited ? 'it exited' : undefined),
    exited: () => {
      // Held until it has exited: an unreferenced worker's exit would not keep the process waiting for it.
      if (!hasExited) worker.ref();
      return exit;
    },
  };
};

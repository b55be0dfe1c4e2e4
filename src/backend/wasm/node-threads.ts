/**
 * Both cores in Node for the wasm backend: tfjs ships a threaded wasm build but turns it off in Node
 * (WASM_HAS_MULTITHREAD_SUPPORT is false there), because its pthread workers are started from a `blob:` URL,
 * which `worker_threads` refuses. This module turns it on and supplies the `Worker` the threaded build asks
 * for: a `worker_threads` Worker running the build's own worker script, which already knows how to run in Node.
 * The main script the workers load arrives as a Blob too; the workers get the same script's file instead.
 *
 * Both need process-wide settings, but only while the backend starts: `startWasmWithThreads` makes them around
 * the start (tfjs' WASM_HAS_MULTITHREAD_SUPPORT flag, a global `Worker`, a wrapped `WebAssembly.instantiate`)
 * and restores all three when it is over. The threaded build creates every worker it uses during its start (a
 * pool of 8, more only if asked for more threads than that, while the thread pool is made), so nothing needs
 * them afterwards.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker as NodeWorker } from 'node:worker_threads';
import { quote } from '../../errors.js';

const require = createRequire(import.meta.url);
const WASM_OUT = '@tensorflow/tfjs-backend-wasm/wasm-out/';

/** A Web-Worker-shaped `worker_threads` Worker for tfjs' pthreads (the emscripten glue uses the Node API on it). */
function pthreadWorkerClass(workerScript: string, mainScriptPath: string): typeof NodeWorker {
  return class PthreadWorker extends NodeWorker {
    constructor(url: string | URL, _options?: unknown) {
      if (!String(url).startsWith('blob:'))
        throw new Error(`Unexpected worker script ${String(url)}: only tfjs' wasm pthread worker is supported.`);
      super(workerScript, { eval: true });
      // Workers alone never keep the process alive: a CLI or server exits when its own work is done, and a
      // wasm backend that failed to start (its files missing) does not leave the process hanging on them.
      this.unref();
      workersStarted++;
    }

    // Emscripten refs a worker while it runs a pthread; XNNPACK's pool threads run until the process ends, so
    // a ref would keep every CLI run alive after its work is done.
    override ref(): void {}

    override postMessage(message: unknown, transfer?: Parameters<NodeWorker['postMessage']>[1]): void {
      const load = message as { cmd?: string; urlOrBlob?: unknown } | null;
      // The threaded build hands its workers its own source as a Blob; a worker reads a file path instead.
      if (load?.cmd === 'load' && typeof load.urlOrBlob !== 'string') {
        super.postMessage({ ...load, urlOrBlob: mainScriptPath }, transfer);
        return;
      }
      super.postMessage(message, transfer);
    }
  };
}

/**
 * tfjs' wasm start-up caps XNNPACK's thread pool at half the logical cores it is told about (it assumes two
 * hyper-threads per core), so on a 2-core machine the threaded build ran one thread: the pool never used the
 * second core. While the threaded module is instantiated, its `emscripten_num_logical_cores` import is made to
 * report twice the cores Node sees, so that the cap becomes Node's `availableParallelism()` (tfjs' own cap of
 * 8 still applies); `setThreadsCount` picks fewer. Returns the wrapper, which puts `instantiate` back itself
 * once it has seen that import.
 */
function uncapThreadPool(instantiate: typeof WebAssembly.instantiate): typeof WebAssembly.instantiate {
  const patched = (source: BufferSource | WebAssembly.Module, imports?: WebAssembly.Imports): Promise<unknown> => {
    const env = imports?.['env'] as Record<string, unknown> | undefined;
    if (typeof env?.['emscripten_num_logical_cores'] === 'function') {
      env['emscripten_num_logical_cores'] = () => 2 * availableParallelism();
      if (WebAssembly.instantiate === patched) WebAssembly.instantiate = instantiate;
    }
    return instantiate(source as BufferSource, imports);
  };
  return patched as typeof WebAssembly.instantiate;
}

const THREADS_FLAG = 'WASM_HAS_MULTITHREAD_SUPPORT';

let workersStarted = 0;

/** How many pthread workers the wasm backend has started in this process (0: single-threaded). */
export function wasmThreadWorkers(): number {
  return workersStarted;
}

/**
 * Makes the settings the threaded build needs to start in Node, and returns what undoes them: each is put back
 * as it was, unless something else replaced it meanwhile.
 */
function allowThreadedStart(): () => void {
  const { wasmWorkerContents } = require(`${WASM_OUT}tfjs-backend-wasm-threaded-simd.worker.js`) as {
    wasmWorkerContents: string;
  };
  // Its string literals hold raw newlines ("\n" unescaped by the template it ships in): escape them back, as tfjs does.
  const workerScript = wasmWorkerContents.replace(/\n/g, '\\n');
  const mainScriptPath = require.resolve(`${WASM_OUT}tfjs-backend-wasm-threaded-simd.js`);
  const Worker = pthreadWorkerClass(workerScript, mainScriptPath);
  const getWorker = () => Worker;

  const workerBefore = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  // The threaded build assigns worker_threads' Worker to the global during start-up; the no-op setter keeps ours.
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: getWorker, set: () => {} });
  const flags = tf.env().getFlags();
  const flagBefore = THREADS_FLAG in flags ? { value: flags[THREADS_FLAG]! } : null;
  tf.env().set(THREADS_FLAG, true);
  const instantiate = WebAssembly.instantiate;
  const patched = uncapThreadPool(instantiate);
  WebAssembly.instantiate = patched;

  return () => {
    if (WebAssembly.instantiate === patched) WebAssembly.instantiate = instantiate;
    if (Object.getOwnPropertyDescriptor(globalThis, 'Worker')?.get === getWorker) {
      if (workerBefore) Object.defineProperty(globalThis, 'Worker', workerBefore);
      else delete (globalThis as { Worker?: unknown }).Worker;
    }
    // Unset, tfjs evaluates the flag again on a later start (false in Node): that start is single-threaded.
    if (flagBefore) tf.env().set(THREADS_FLAG, flagBefore.value);
    else delete tf.env().getFlags()[THREADS_FLAG];
  };
}

let warnedSetting = false;

/**
 * Reads the `EMOTION2VEC_WASM_THREADS` setting: unset or empty, threads on with one per core (tfjs' cap of 8);
 * `0`, tfjs' single-threaded build (null); a positive integer n, the threaded build with n threads. Anything
 * else is the default, with one warning (it comes from the environment, where throwing would stop every command).
 */
function threadSetting(setting: string | undefined): number | 'default' | null {
  if (setting === undefined || setting === '') return 'default';
  if (setting === '0') return null;
  const threads = /^[1-9]\d*$/.test(setting) ? Number(setting) : NaN;
  if (Number.isSafeInteger(threads)) return threads;
  if (!warnedSetting)
    process.emitWarning(
      `EMOTION2VEC_WASM_THREADS must be 0 or a positive integer, not ${quote(setting, 40)}: using the default.`,
    );
  warnedSetting = true;
  return 'default';
}

/**
 * Starts the wasm backend (`start`, which initialises it and resolves to whether that worked) with tfjs'
 * threaded build in Node, as `setting` (EMOTION2VEC_WASM_THREADS) asks, and restores every process-wide setting
 * it made once the start is over. Starts it as tfjs would (single-threaded) when the setting is `0`, the runtime
 * lacks SharedArrayBuffer or the backend already started.
 */
export function startWasmWithThreads(start: () => Promise<boolean>, setting: string | undefined): Promise<boolean> {
  // One start at a time: two models loaded at once must not nest the settings (the second would restore the
  // first's); the second then finds the backend started.
  const started = previousStart.then(() => startOnce(start, setting));
  previousStart = started.catch(() => undefined);
  return started;
}

let previousStart: Promise<unknown> = Promise.resolve();

async function startOnce(start: () => Promise<boolean>, setting: string | undefined): Promise<boolean> {
  const threads = threadSetting(setting);
  // Not tf.findBackend: it would start the backend it looks for.
  if (threads === null || typeof SharedArrayBuffer === 'undefined' || 'wasm' in tf.engine().registry) return start();
  if (threads !== 'default') setThreadsCount(threads);
  const restore = allowThreadedStart();
  try {
    return await start();
  } finally {
    restore();
  }
}

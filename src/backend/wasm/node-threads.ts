/**
 * Both cores in Node for the wasm backend: tfjs ships a threaded wasm build but turns it off in Node
 * (WASM_HAS_MULTITHREAD_SUPPORT is false there), because its pthread workers are started from a `blob:` URL,
 * which `worker_threads` refuses. This module turns it on and supplies the `Worker` the threaded build asks
 * for: a `worker_threads` Worker running the build's own worker script, which already knows how to run in Node.
 * The main script the workers load arrives as a Blob too; the workers get the same script's file instead.
 *
 * Call `enableWasmThreads()` before the wasm backend initialises (the first model load).
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
      if (!String(url).startsWith('blob:')) throw new Error(`Unexpected worker script ${String(url)}: only tfjs' wasm pthread worker is supported.`);
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
 * 8 still applies); `setThreadsCount` picks fewer. Only the first instantiation with that import is touched.
 */
function uncapThreadPool(): void {
  const instantiate = WebAssembly.instantiate;
  const patched = (source: BufferSource | WebAssembly.Module, imports?: WebAssembly.Imports): Promise<unknown> => {
    const env = imports?.['env'] as Record<string, unknown> | undefined;
    if (typeof env?.['emscripten_num_logical_cores'] === 'function') {
      env['emscripten_num_logical_cores'] = () => 2 * availableParallelism();
      WebAssembly.instantiate = instantiate;
    }
    return instantiate(source as BufferSource, imports);
  };
  WebAssembly.instantiate = patched as typeof WebAssembly.instantiate;
}

let enabled = false;
let workersStarted = 0;

/** How many pthread workers the wasm backend has started in this process (0: single-threaded). */
export function wasmThreadWorkers(): number {
  return workersStarted;
}

/**
 * Lets the wasm backend use its threaded build in Node (tfjs starts one worker per core; `setThreadsCount` from
 * @tensorflow/tfjs-backend-wasm, called before the first load, picks another count).
 * Returns false (and changes nothing) when the backend has already started or the runtime lacks
 * SharedArrayBuffer.
 */
export function enableWasmThreads(): boolean {
  if (enabled) return true;
  // Not tf.findBackend: it would start the backend it looks for.
  if (typeof SharedArrayBuffer === 'undefined' || 'wasm' in tf.engine().registry) return false;
  const { wasmWorkerContents } = require(`${WASM_OUT}tfjs-backend-wasm-threaded-simd.worker.js`) as { wasmWorkerContents: string };
  // Its string literals hold raw newlines ("\n" unescaped by the template it ships in): escape them back, as tfjs does.
  const workerScript = wasmWorkerContents.replace(/\n/g, '\\n');
  const mainScriptPath = require.resolve(`${WASM_OUT}tfjs-backend-wasm-threaded-simd.js`);
  const Worker = pthreadWorkerClass(workerScript, mainScriptPath);
  // The threaded build assigns worker_threads' Worker to the global during start-up; this keeps ours.
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => Worker, set: () => {} });
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  uncapThreadPool();
  enabled = true;
  return true;
}

/**
 * Applies the `EMOTION2VEC_WASM_THREADS` setting: unset, threads on with one per core (tfjs' cap of 8); `0`,
 * tfjs' single-threaded build; a positive integer n, the threaded build with n threads. Anything else is
 * ignored with a warning (it is read at start-up, where throwing would stop every command).
 */
export function configureWasmThreads(setting: string | undefined): void {
  if (setting === undefined || setting === '') {
    enableWasmThreads();
    return;
  }
  if (setting === '0') return;
  const threads = /^[1-9]\d*$/.test(setting) ? Number(setting) : NaN;
  if (!Number.isSafeInteger(threads)) {
    process.emitWarning(`EMOTION2VEC_WASM_THREADS must be 0 or a positive integer, not ${quote(setting, 40)}: using the default.`);
    enableWasmThreads();
    return;
  }
  if (enableWasmThreads()) setThreadsCount(threads);
}

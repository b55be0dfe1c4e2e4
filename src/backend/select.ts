/**
 * Choosing the TensorFlow.js backend. `'auto'` takes the fastest one this runtime has: in Node the native
 * 'tensorflow' backend when @tensorflow/tfjs-node(-gpu) is installed, else wasm, else the plain-JS cpu; in a
 * browser webgpu where there is an adapter, else webgl, else wasm, else cpu (`onBackendChosen` says which). Backends are process-wide in tfjs, so the
 * last model loaded decides which one runs.
 *
 * Importing this module only registers the cpu and wasm backends with tfjs (their packages' own import effect);
 * what wasm needs besides (this project's kernels, Node's worker threads) is set up here when wasm is selected.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { BackendError, InferenceError, quote } from '../errors.js';
import { registerWasmKernels } from './wasm/kernels.js';
import type { Int8WorkerStarter } from './wasm/int8/int8-threads.js';

/** A backend name, or 'auto' for the best available one. Any other registered tfjs backend name works too. */
export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu' | 'webgl' | 'webgpu' | (string & {});

export interface BackendOptions {
  /** Folder (URL or path, ending in '/') or per-file map of the wasm backend's .wasm files. */
  readonly wasmPaths?: string | Record<string, string>;
  /** Told which backend was chosen and why the ones before it were passed over (see {@link BackendChoice}). */
  readonly onBackendChosen?: (choice: BackendChoice) => void;
}

/** What {@link selectBackend} chose: the backend now in use, and each one tried before it with the reason it was passed over. */
export interface BackendChoice {
  /** The backend now in use ('webgpu', 'webgl', 'wasm', 'cpu', 'tensorflow'). */
  readonly backend: string;
  /** Each backend tried before it, in order, with the reason it was passed over. */
  readonly skipped: readonly { readonly backend: string; readonly reason: string }[];
}

/** What a runtime tells backend selection; installed by its entry point (src/node.ts, src/browser.ts). */
export interface BackendHooks {
  /** The runtime, for messages. */
  readonly runtime: 'node' | 'browser' | 'generic';
  /** Backends tried in order by `backend: 'auto'`. */
  readonly preferredBackends: readonly string[];
  /**
   * Registers the native TensorFlow backend ('tensorflow', from @tensorflow/tfjs-node-gpu or tfjs-node) when the
   * user installed one. Resolves to null on success, or to the reason it is unavailable.
   */
  registerNativeBackend?: () => Promise<string | null>;
  /**
   * Registers a backend that ships as its own package and is loaded only when asked for (the browser's
   * 'webgl'), so that apps get it without importing it. Resolves to null on success, or to why it cannot be.
   */
  registerLazyBackend?: (name: string) => Promise<string | null>;
  /** Where the wasm backend's .wasm files are when the caller gives no `wasmPaths`. */
  defaultWasmPaths?: () => string | undefined;
  /**
   * Starts the wasm backend: calls `start` (which initialises it and resolves to whether that worked) inside
   * whatever this runtime must set up for the start alone, and undoes that afterwards (Node: the worker threads
   * of tfjs' threaded build, src/backend/wasm/node-threads.ts). Absent: `start` runs as it is.
   */
  startWasm?: (start: () => Promise<boolean>) => Promise<boolean>;
  /**
   * Starts a worker thread for the int8 products on the wasm backend (Node: worker_threads,
   * src/backend/wasm/int8/int8-threads-node.ts). Absent: int8 products run on the calling thread alone.
   */
  startInt8Worker?: Int8WorkerStarter;
}

let hooks: BackendHooks = { runtime: 'generic', preferredBackends: ['wasm', 'cpu'] };

/** Installs the backend hooks of the running runtime. Called once by each entry point. */
export function installBackendHooks(next: BackendHooks): void {
  hooks = next;
}

/** The backend hooks of the running runtime. */
export function getBackendHooks(): BackendHooks {
  return hooks;
}

let wasmPathsSet = false;

/**
 * Activates a backend and resolves to the name of the one now in use.
 * Throws a BackendError when an explicitly requested backend cannot start, naming what to install.
 */
export async function selectBackend(requested: BackendName = 'auto', options: BackendOptions = {}): Promise<string> {
  const candidates = requested === 'auto' ? hooks.preferredBackends : [requested];
  const reasons: string[] = [];
  const skipped: { backend: string; reason: string }[] = [];
  const chosen = (name: string): string => {
    options.onBackendChosen?.({ backend: name, skipped });
    return activated(name);
  };
  for (const name of candidates) {
    const problem = await prepare(name, options);
    if (problem === null && isActive(name)) return chosen(name);
    if (problem === null && (await start(name))) {
      await tf.ready();
      if (requested === 'auto' && name === 'cpu' && reasons.length > 0) warnSlowCpuOnce(reasons);
      return chosen(name);
    }
    const reason = problem ?? initialisationHint(name);
    reasons.push(`${name}: ${reason}`);
    skipped.push({ backend: name, reason });
  }
  throw new BackendError(
    'BACKEND_UNAVAILABLE',
    requested === 'auto'
      ? `No TensorFlow.js backend could start (${reasons.join('; ')}).`
      : `Backend '${requested}' is unavailable: ${reasons.join('; ')}. ${installHint(requested)}`,
  );
}

/**
 * Whether `name` is the backend in use and it initialised. tf.getBackend() alone is not enough: it keeps the
 * name of a backend whose initialisation failed (e.g. a page started wasm without its .wasm files), and it
 * throws while none is active and the highest-priority one failed.
 */
function isActive(name: string): boolean {
  try {
    return tf.getBackend() === name && tf.engine().registry[name] !== undefined;
  } catch {
    return false;
  }
}

/** Makes `name` the active backend, starting it if it has not started yet; resolves to whether that worked. */
function start(name: string): Promise<boolean> {
  const setBackend = () => tf.setBackend(name).catch(() => false);
  return name === 'wasm' && hooks.startWasm ? hooks.startWasm(setBackend) : setBackend();
}

/** What a backend needs once it is the active one: on wasm, this project's kernels. */
function activated(name: string): string {
  if (name === 'wasm') registerWasmKernels(hooks.startInt8Worker);
  return name;
}

/** Makes a backend registrable; returns null when ready to try, else why it cannot be. */
async function prepare(name: string, options: BackendOptions): Promise<string | null> {
  if (name === 'tensorflow') {
    const register = hooks.registerNativeBackend;
    if (!register) return 'only available in Node';
    const problem = await register();
    if (problem) return problem;
  }
  if (name === 'wasm' && !wasmPathsSet) {
    const paths = options.wasmPaths ?? hooks.defaultWasmPaths?.();
    if (paths !== undefined) {
      // tfjs reads the paths only when the wasm backend first initialises, and throws when they come later
      // (the page's own code touched tfjs first): then the backend keeps whatever it started with.
      try {
        setWasmPaths(paths);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // Already initialised: whether that worked is decided by setBackend below. Anything else (a file map
        // missing a binary) is the caller's to fix.
        if (!/already initiali[sz]ed/i.test(message)) return `its wasmPaths were refused (${message})`;
      }
      wasmPathsSet = true;
    }
  }
  if (!tf.findBackendFactory(name)) {
    const register = hooks.registerLazyBackend;
    const problem = register ? await register(name) : 'not registered';
    if (problem !== null) return problem;
    if (!tf.findBackendFactory(name)) return 'not registered';
  }
  return null;
}

let warnedSlowCpu = false;

/**
 * 'auto' landing on the plain-JS cpu backend means a faster one failed: usually the wasm files were not found.
 * That is ~40x slower, so it is said once (not thrown: the results are still right).
 */
function warnSlowCpuOnce(reasons: readonly string[]): void {
  if (warnedSlowCpu) return;
  warnedSlowCpu = true;
  const fix =
    hooks.runtime === 'node'
      ? "install @tensorflow/tfjs-node, or keep @tensorflow/tfjs-backend-wasm's dist/*.wasm reachable (pass `wasmPaths` when the app is bundled)"
      : "serve @tensorflow/tfjs-backend-wasm's dist/*.wasm files and pass their folder as `wasmPaths`";
  console.warn(
    `emotion2vec-tfjs: backend 'auto' fell back to the plain-JS 'cpu' backend, about 40x slower (${reasons.join('; ')}). To fix it, ${fix}.`,
  );
}

function initialisationHint(name: string): string {
  return name === 'wasm'
    ? "failed to initialise (its .wasm files could not be loaded: pass `wasmPaths`, the URL of @tensorflow/tfjs-backend-wasm's dist/ folder, on the first load)"
    : 'failed to initialise';
}

function installHint(name: string): string {
  switch (name) {
    case 'tensorflow':
      return 'Install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA) at the same version as @tensorflow/tfjs-core, or use backend "wasm".';
    case 'webgl':
      return 'WebGL runs in browsers only (the browser entry loads @tensorflow/tfjs-backend-webgl itself); use backend "wasm" or "auto".';
    case 'webgpu':
      return 'WebGPU runs in browsers that offer an adapter (the browser entry loads @tensorflow/tfjs-backend-webgpu itself); use backend "webgl", "wasm" or "auto".';
    default:
      return 'Use one of: auto, tensorflow, wasm, cpu, webgl, webgpu.';
  }
}

/** The part of a WebGPU device asked here (typed loosely: the project builds without WebGPU's DOM types). */
interface GpuDeviceLike {
  readonly limits: { readonly maxBufferSize: number };
  pushErrorScope(filter: 'validation' | 'out-of-memory'): void;
  popErrorScope(): Promise<{ readonly message: string } | null>;
}

function activeWebgpuDevice(): GpuDeviceLike | null {
  if (!isActive('webgpu')) return null;
  return (tf.backend() as unknown as { device?: GpuDeviceLike }).device ?? null;
}

/**
 * Runs `work` and, on WebGPU, rejects with `INFERENCE_FAILED` when the GPU refused part of it meanwhile. WebGPU
 * answers a tensor larger than the device's `maxBufferSize` (or a GPU out of memory) with zeros and a console
 * warning, never an exception: without this check the result would be silently wrong. Elsewhere `work` runs as
 * it is (the other backends throw).
 */
export async function checkedOnGpu<T>(work: () => Promise<T>): Promise<T> {
  const device = activeWebgpuDevice();
  if (!device) return work();
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = await work();
  } finally {
    const validation = await device.popErrorScope();
    const memory = await device.popErrorScope();
    const refused = validation ?? memory;
    if (refused)
      throw new InferenceError(
        'INFERENCE_FAILED',
        `WebGPU refused part of the work (${quote(refused.message, 200)}), so its results would be wrong: a tensor ` +
          `was larger than this GPU allows (maxBufferSize ${device.limits.maxBufferSize} bytes) or the GPU ran out ` +
          "of memory. Use a smaller batchSize or maxFullPassSeconds, or backend 'webgl' or 'wasm'.",
      );
  }
  return result;
}

/**
 * The server's model in a worker thread, so that a long inference never blocks the event loop: `/health`, 503
 * refusals and uploads are answered while the model runs. It is the library's model-in-a-worker
 * (`Emotion2VecWorker` and `serveModelInWorker`, src/worker/), on a Node `worker_threads` thread instead of a Web
 * Worker: the main thread parses, sniffs and validates each request and hands the audio over (the bytes are
 * transferred, not copied); the thread decodes and predicts. Typed errors come back as the same classes.
 *
 * The thread's script is the caller's (the CLI's `inference-worker.ts`: it installs the Node platform, which the
 * server room may not import, then calls `serveModelInWorker(parentPort)`). tfjs' wasm backend runs there as anywhere
 * in Node, with its own pthread workers. A thread that dies (out of memory in wasm...) fails the requests it held
 * with INFERENCE_FAILED, and the next request starts a new one.
 */
import { Worker as NodeWorker } from 'node:worker_threads';
import type { BackendName } from '../backend/select.js';
import { UsageError } from '../errors.js';
import type { AudioInput } from '../audio/prepare.js';
import type { BatchPredictOptions, ComputePrecision, EmotionPrediction, PredictOptions } from '../model/emotion2vec.js';
import { warmUp } from '../model/warm-up.js';
import { Emotion2VecWorker } from '../worker/worker-model.js';
import type { ServerModel } from './server-model.js';

/** What the thread loads. */
export interface InferenceThreadOptions {
  /** The thread's script: a module that installs the runtime's platform and calls serveModelInWorker(parentPort). */
  readonly script: URL;
  /** A model folder (a hub id resolved to its cached folder first). */
  readonly source: string;
  readonly backend?: BackendName;
  /** What the encoder's matrices compute in (LoadOptions.compute; default: the library's). */
  readonly compute?: ComputePrecision;
}

/** The model in its thread, as the server uses it. */
export interface ThreadModel extends ServerModel {
  /** What the encoder's matrices compute in, in the thread. */
  readonly compute: ComputePrecision;
  /** ms the warm-up inference took in the thread. */
  readonly warmUpMs: number;
  /** Stops the thread. */
  close(): Promise<void>;
}

/** A loaded model and whether its thread is gone. */
interface Loaded {
  readonly model: Emotion2VecWorker;
  readonly exited: () => boolean;
  readonly warmUpMs: number;
}

/**
 * Starts the thread, loads and warms up the model there, and resolves once it answers.
 * @throws the load's typed error (a missing model, a bad checkpoint...).
 */
export async function startInferenceThread(options: InferenceThreadOptions): Promise<ThreadModel> {
  let loaded = await load(options);
  let closing = false;
  const live = async (): Promise<Emotion2VecWorker> => {
    if (closing) throw new UsageError('MODEL_DISPOSED', 'The server is shutting down.');
    // The last thread died (out of memory...): this request gets a fresh one.
    if (loaded.exited()) loaded = await load(options);
    return loaded.model;
  };
  return {
    get backend() {
      return loaded.model.backend;
    },
    get labels() {
      return loaded.model.labels;
    },
    get embeddingDim() {
      return loaded.model.embeddingDim;
    },
    get compute() {
      return loaded.model.compute;
    },
    get warmUpMs() {
      return loaded.warmUpMs;
    },
    async predict(audio: File, predictOptions: PredictOptions = {}): Promise<EmotionPrediction> {
      const model = await live();
      // Node's structured clone keeps a Blob's bytes but not a File's name: the bytes go, transferred.
      return model.predict(await transferable(audio), predictOptions);
    },
    async predictBatch(audios: readonly AudioInput[], batchOptions: BatchPredictOptions = {}) {
      const model = await live();
      return model.predictBatch(await Promise.all(audios.map(transferable)), batchOptions);
    },
    async close() {
      closing = true;
      loaded.model.dispose();
    },
  };
}

/** What crosses to the thread: a Blob's bytes (Node's structured clone drops a File's name); anything else as is. */
async function transferable(audio: AudioInput): Promise<AudioInput> {
  return typeof Blob !== 'undefined' && audio instanceof Blob ? new Uint8Array(await audio.arrayBuffer()) : audio;
}

async function load(options: InferenceThreadOptions): Promise<Loaded> {
  const thread = spawn(options.script);
  let exited = false;
  thread.once('exit', () => (exited = true));
  const model = await Emotion2VecWorker.load(asWebWorker(thread), options.source, {
    backend: options.backend,
    ...(options.compute ? { compute: options.compute } : {}),
  });
  try {
    return { model, exited: () => exited, warmUpMs: await warmUp(model) };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** A thread running `script`: through tsx when it is the TypeScript source (tests, a clone), as the CLI itself is. */
function spawn(script: URL): NodeWorker {
  if (!script.pathname.endsWith('.ts')) return new NodeWorker(script);
  const load = `import(${JSON.stringify(tsxApi())}).then(({ register }) => { register(); return import(${JSON.stringify(script.href)}); })`;
  return new NodeWorker(load, { eval: true });
}

/** tsx's ESM API (its register()), resolved from here; under a test runner without import.meta.resolve, by name. */
function tsxApi(): string {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return 'tsx/esm/api';
  }
}

/**
 * A Node thread in the shape `Emotion2VecWorker` drives (a Web Worker: `addEventListener`, `postMessage`,
 * `terminate`). A thread that exits is reported as an 'error' event, so the requests it held fail at once.
 */
function asWebWorker(thread: NodeWorker): Worker {
  const target = new EventTarget();
  const error = (message: string) =>
    target.dispatchEvent(Object.assign(new Event('error', { cancelable: true }), { message }));
  thread.on('message', (data: unknown) => target.dispatchEvent(new MessageEvent('message', { data })));
  thread.on('messageerror', () => target.dispatchEvent(new Event('messageerror')));
  thread.on('error', (cause: Error) => error(String(cause?.message ?? cause).slice(0, 200)));
  thread.on('exit', (code: number) => error(`the inference thread exited with code ${code}`));
  return Object.assign(target, {
    postMessage: (message: unknown, transfer: Transferable[] = []) =>
      thread.postMessage(message, transfer as unknown as readonly ArrayBuffer[]),
    terminate: () => void thread.terminate(),
  }) as unknown as Worker;
}

/**
 * The server's model in a worker thread, so that a long inference never blocks the event loop: `/health`, 503
 * refusals and uploads are answered while the model runs. The main thread parses, sniffs and validates each
 * request and hands the audio's bytes over (transferred, not copied); the thread decodes and predicts, and hands
 * the prediction back the same way. Typed errors cross as `{ name, code, message, details }` and are rebuilt as
 * the same classes, so the server maps them to the same statuses.
 *
 * The thread's script is the caller's (the CLI's `inference-worker.ts`: it installs the Node platform, which the
 * server room may not import, then calls {@link runInferenceThread}). tfjs' wasm backend runs there as anywhere
 * in Node, with its own pthread workers. A thread that dies (out of memory in wasm...) fails the requests it held
 * with INFERENCE_FAILED and is started again for the next one.
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import {
  AudioInputError,
  BackendError,
  CheckpointError,
  ConfigError,
  Emotion2VecError,
  InferenceError,
  UsageError,
  isEmotion2VecError,
} from '../errors.js';
import type { BackendName } from '../backend/select.js';
import { Emotion2Vec, type EmotionPrediction, type PredictOptions } from '../model/emotion2vec.js';
import { warmUp } from '../model/warm-up.js';
import type { ServerModel } from './server-model.js';

/** What the thread loads. */
export interface InferenceThreadOptions {
  /** The thread's script: a file that installs the runtime's platform and calls runInferenceThread(). */
  readonly script: URL;
  /** A model folder (a hub id resolved to its cached folder first). */
  readonly source: string;
  readonly backend?: BackendName;
}

/** The model in its thread, as the server uses it. */
export interface ThreadModel extends ServerModel {
  /** ms the warm-up inference took in the thread. */
  readonly warmUpMs: number;
  /** Stops the thread. */
  close(): Promise<void>;
}

interface LoadedFacts {
  readonly backend: string;
  readonly labels: string[];
  readonly embeddingDim: number;
  readonly warmUpMs: number;
}

type ToThread = { type: 'predict'; id: number; bytes: ArrayBuffer; fileName: string; options: PredictOptions };
type FromThread =
  | ({ type: 'ready' } & LoadedFacts)
  | { type: 'failed'; error: SentError }
  | { type: 'result'; id: number; prediction: EmotionPrediction }
  | { type: 'error'; id: number; error: SentError };

interface SentError {
  readonly name: string;
  readonly code?: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

const ERROR_CLASSES: Record<string, typeof Emotion2VecError> = {
  Emotion2VecError,
  ConfigError,
  CheckpointError,
  AudioInputError,
  BackendError,
  InferenceError,
  UsageError,
};

function sendError(error: unknown): SentError {
  const name = (error as Error)?.name ?? 'Error';
  const message = String((error as Error)?.message ?? error);
  if (!isEmotion2VecError(error)) return { name: 'Error', message };
  // Details are plain facts, but one that does not clone (a function, a class instance) must not lose the error.
  let details: Record<string, unknown> | undefined;
  try {
    details = error.details && (JSON.parse(JSON.stringify(error.details)) as Record<string, unknown>);
  } catch {
    details = undefined;
  }
  return { name, code: error.code, message, ...(details ? { details } : {}) };
}

function receiveError(sent: SentError): Error {
  const Class = ERROR_CLASSES[sent.name];
  if (Class && sent.code)
    return new Class(sent.code as Emotion2VecError['code'], sent.message, { details: sent.details });
  return new Error(sent.message);
}

/** The buffers of the prediction's sample arrays, to transfer rather than copy (each once). */
function buffersOf(prediction: EmotionPrediction): ArrayBuffer[] {
  const arrays = [prediction.embedding?.data, prediction.waveform, prediction.frameScores?.data];
  const buffers = new Set<ArrayBuffer>();
  for (const array of arrays) if (array && array.buffer instanceof ArrayBuffer) buffers.add(array.buffer);
  return [...buffers];
}

/** The options a thread can be sent: the plain values of PredictOptions (no callbacks). */
function sendableOptions(options: PredictOptions): PredictOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => typeof value !== 'function'));
}

/**
 * Starts the thread, loads and warms up the model there, and resolves once it answers.
 * @throws the load's typed error (a missing model, a bad checkpoint...).
 */
export async function startInferenceThread(options: InferenceThreadOptions): Promise<ThreadModel> {
  let thread = spawn(options);
  let facts = await thread.ready;
  let closing = false;
  let nextId = 0;
  return {
    get backend() {
      return facts.backend;
    },
    get labels() {
      return facts.labels;
    },
    get embeddingDim() {
      return facts.embeddingDim;
    },
    get warmUpMs() {
      return facts.warmUpMs;
    },
    async predict(audio: File, predictOptions: PredictOptions = {}): Promise<EmotionPrediction> {
      if (closing) throw new UsageError('MODEL_DISPOSED', 'The server is shutting down.');
      if (thread.dead) {
        // The last thread died (out of memory...): this request gets a fresh one.
        thread = spawn(options);
        facts = await thread.ready;
      }
      const bytes = await audio.arrayBuffer();
      return thread.predict({
        type: 'predict',
        id: nextId++,
        bytes,
        fileName: audio.name,
        options: sendableOptions(predictOptions),
      });
    },
    async close() {
      closing = true;
      await thread.worker.terminate();
    },
  };
}

interface Spawned {
  readonly worker: Worker;
  readonly ready: Promise<LoadedFacts>;
  readonly dead: boolean;
  predict(message: ToThread): Promise<EmotionPrediction>;
}

function spawn(options: InferenceThreadOptions): Spawned {
  const data = { source: options.source, backend: options.backend ?? 'auto' };
  const worker = options.script.pathname.endsWith('.ts')
    ? // Run from the TypeScript sources (tests, a clone): the thread loads its script through tsx, as the CLI was.
      new Worker(
        `import(${JSON.stringify(tsxApi())}).then(({ register }) => { register(); return import(${JSON.stringify(options.script.href)}); })`,
        { eval: true, workerData: data },
      )
    : new Worker(options.script, { workerData: data });
  const pending = new Map<number, { resolve: (p: EmotionPrediction) => void; reject: (e: unknown) => void }>();
  let dead = false;
  let loaded: (facts: LoadedFacts) => void;
  let failed: (error: unknown) => void;
  const ready = new Promise<LoadedFacts>((resolve, reject) => {
    loaded = resolve;
    failed = reject;
  });
  const die = (why: string) => {
    dead = true;
    const error = new InferenceError(
      'INFERENCE_FAILED',
      `The inference thread stopped (${why}); the next request starts a new one.`,
    );
    failed(error);
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  worker.on('message', (message: FromThread) => {
    if (message.type === 'ready') loaded(message);
    else if (message.type === 'failed') {
      dead = true;
      failed(receiveError(message.error));
      void worker.terminate();
    } else {
      const waiting = pending.get(message.id);
      pending.delete(message.id);
      if (message.type === 'result') waiting?.resolve(message.prediction);
      else waiting?.reject(receiveError(message.error));
    }
  });
  worker.on('error', (error) => die(String(error?.message ?? error).slice(0, 200)));
  worker.on('exit', (code) => die(`exit code ${code}`));
  return {
    worker,
    ready,
    get dead() {
      return dead;
    },
    predict(message) {
      return new Promise((resolve, reject) => {
        pending.set(message.id, { resolve, reject });
        worker.postMessage(message, [message.bytes]);
      });
    },
  };
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
 * The thread's side: loads the model named by the thread's data, warms it up, says so, then answers predictions
 * one message at a time. Called by the thread's script once the platform is installed.
 */
export async function runInferenceThread(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('runInferenceThread runs in a worker thread.');
  const { source, backend } = workerData as { source: string; backend: BackendName };
  let model: Emotion2Vec;
  try {
    model = await Emotion2Vec.load(source, { backend });
    const warmUpMs = await warmUp(model);
    const ready: FromThread = {
      type: 'ready',
      backend: model.backend,
      labels: model.labels,
      embeddingDim: model.embeddingDim,
      warmUpMs,
    };
    port.postMessage(ready);
  } catch (error) {
    port.postMessage({ type: 'failed', error: sendError(error) } satisfies FromThread);
    return;
  }
  // One at a time: the server's queue sends one, but a message that comes early still waits its turn.
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (message: ToThread) => {
    chain = chain.then(async () => {
      try {
        const file = new File([message.bytes], message.fileName);
        const prediction = await model.predict(file, message.options);
        port.postMessage({ type: 'result', id: message.id, prediction } satisfies FromThread, buffersOf(prediction));
      } catch (error) {
        port.postMessage({ type: 'error', id: message.id, error: sendError(error) } satisfies FromThread);
      }
    });
  });
}

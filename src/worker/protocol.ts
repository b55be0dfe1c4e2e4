/**
 * The messages between a page's {@link Emotion2VecWorker} and the worker's `serveModelInWorker`, and what both sides
 * need to move values across: typed errors as plain records (the structured clone keeps no class), and the
 * buffers a value holds, to transfer rather than copy.
 */
import {
  AudioInputError,
  BackendError,
  CheckpointError,
  ConfigError,
  Emotion2VecError,
  InferenceError,
  UsageError,
  isEmotion2VecError,
  type ErrorCode,
} from '../errors.js';
import type { LoadProgress } from '../hub/progress.js';
import type { TimelineEntry } from '../model/segment-runner.js';

/** A typed error as the structured clone can carry it. */
export interface ErrorRecord {
  readonly name: string;
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** Page to worker. `id` numbers a request; its answer carries the same id. */
export type ToWorker =
  | { readonly type: 'load'; readonly id: number; readonly source: unknown; readonly options: object }
  | {
      readonly type: 'predict';
      readonly id: number;
      readonly audios: readonly unknown[];
      readonly options: object;
      /** The page gave an onFrames sink: rows come back as 'frames' events, each acknowledged. */
      readonly sinkFrames: boolean;
    }
  | { readonly type: 'frames-taken'; readonly seq: number; readonly error?: ErrorRecord }
  | {
      readonly type: 'stream-open';
      readonly id: number;
      readonly stream: number;
      readonly options: object;
      /** The page gave onSamples: the 16 kHz samples come back as 'samples' events. */
      readonly sendSamples: boolean;
    }
  | {
      readonly type: 'stream-push';
      readonly id: number;
      readonly stream: number;
      readonly chunk: Float32Array;
      /** From a MediaStream: failures are 'stream-error' events instead of a rejected answer. */
      readonly live: boolean;
    }
  | { readonly type: 'stream-end'; readonly id: number; readonly stream: number }
  | { readonly type: 'dispose'; readonly id: number };

/** Worker to page: answers and events. */
export type FromWorker =
  | { readonly type: 'done'; readonly id: number; readonly value: unknown }
  | { readonly type: 'failed'; readonly id: number; readonly error: ErrorRecord }
  | { readonly type: 'progress'; readonly id: number; readonly event: LoadProgress }
  | {
      readonly type: 'frames';
      readonly id: number;
      readonly seq: number;
      readonly rows: Float32Array;
      readonly shape: [number, number];
      readonly input: number;
    }
  | { readonly type: 'segment'; readonly stream: number; readonly entry: TimelineEntry }
  | { readonly type: 'samples'; readonly stream: number; readonly samples: Float32Array }
  | { readonly type: 'stream-error'; readonly stream: number; readonly error: ErrorRecord };

/** What a 'load' answers: the model's facts the page-side object mirrors. */
export interface LoadedFacts {
  readonly labels: string[];
  readonly config: unknown;
  readonly embeddingDim: number;
  readonly minimumSamples: number;
  readonly backend: string;
  readonly backendChoice: unknown;
  readonly compute: string;
  readonly loadReport: unknown;
}

/** Any error as a record: ours keep class, code and message; anything else becomes INFERENCE_FAILED. */
export function toErrorRecord(error: unknown): ErrorRecord {
  if (isEmotion2VecError(error))
    return {
      name: error.name,
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
    };
  const message = error instanceof Error ? error.message : String(error);
  return { name: 'InferenceError', code: 'INFERENCE_FAILED', message: `The model worker failed: ${message}` };
}

const ERROR_CLASSES: Record<string, typeof Emotion2VecError> = {
  ConfigError,
  CheckpointError,
  AudioInputError,
  BackendError,
  InferenceError,
  UsageError,
};

/** The typed error a record describes, of the same class as in the worker. */
export function fromErrorRecord(record: ErrorRecord): Emotion2VecError {
  const ErrorClass = ERROR_CLASSES[record.name] ?? Emotion2VecError;
  return new ErrorClass(record.code, record.message, record.details ? { details: record.details } : undefined);
}

/**
 * The buffers of the typed arrays and ArrayBuffers in `value` (plain objects and arrays, a few levels deep), each
 * once: what postMessage may transfer. Shared memory cannot be transferred and is left out.
 */
export function transferablesOf(value: unknown, depth = 4, found = new Set<ArrayBuffer>()): ArrayBuffer[] {
  if (value instanceof ArrayBuffer) found.add(value);
  else if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) found.add(value.buffer);
  } else if (depth > 0 && value !== null && typeof value === 'object' && !(value instanceof Blob)) {
    for (const item of Array.isArray(value) ? value : Object.values(value)) transferablesOf(item, depth - 1, found);
  }
  return [...found];
}

/** Posts `message` transferring its buffers; buffers that cannot move (a wasm memory's) are copied instead. */
export function postTransferring(
  target: { postMessage(message: unknown, transfer: Transferable[]): void },
  message: unknown,
  of: unknown,
): void {
  try {
    target.postMessage(message, transferablesOf(of));
  } catch (error) {
    if ((error as { name?: string })?.name !== 'DataCloneError') throw error;
    target.postMessage(message, []);
  }
}

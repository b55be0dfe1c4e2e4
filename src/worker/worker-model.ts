/**
 * `Emotion2VecWorker`: the model in a module Web Worker, driven from the page with the API of `Emotion2Vec` (the
 * same options, the same results), so a long prediction never freezes the page. The worker runs
 * `serveModelInWorker()` (src/worker/serve.ts) with its own tfjs and backend; audio goes there by transfer, not copy.
 *
 * How the worker's script is found is the app's bundler's business, so the app makes the Worker from a two-line
 * module of its own (docs/packaging.md, "Inference in a Web Worker"):
 *
 * ```ts
 * // emotion-worker.ts
 * import { serveModelInWorker } from 'emotion2vec-tfjs';
 * serveModelInWorker();
 *
 * // the page (Vite, webpack, Parcel and Rollup bundle the worker from this line)
 * const worker = new Worker(new URL('./emotion-worker.ts', import.meta.url), { type: 'module' });
 * const model = await Emotion2VecWorker.load(worker, 'emotion2vec/emotion2vec_plus_base');
 * const { top } = await model.predict(file);
 * ```
 */
import { MODEL_SAMPLE_RATE } from '../audio/frame-geometry.js';
import { connectMediaStream } from '../audio/media-stream.js';
import type { AudioInput } from '../audio/prepare.js';
import type { BackendChoice } from '../backend/select.js';
import { Emotion2VecError, InferenceError, UsageError, type ErrorCode } from '../errors.js';
import type { LoadReport } from '../layers/parameters.js';
import type { Emotion2VecConfig } from '../model/config.js';
import type {
  BatchItemResult,
  BatchPredictOptions,
  ComputePrecision,
  EmotionPrediction,
  LoadOptions,
  PredictOptions,
} from '../model/emotion2vec.js';
import type { FrameSink } from '../model/long-audio.js';
import type { TimelineEntry } from '../model/segment-runner.js';
import type { ModelSource } from '../model/sources.js';
import type { StreamOptions } from '../model/stream.js';
import {
  fromErrorRecord,
  postTransferring,
  toErrorRecord,
  type ErrorRecord,
  type FromWorker,
  type LoadedFacts,
  type ToWorker,
} from './protocol.js';

/** `LoadOptions` as they reach a worker: everything but `fetch`, which cannot be sent there. */
export type WorkerLoadOptions = Omit<LoadOptions, 'fetch'>;

type ItemRecord =
  { readonly ok: true; readonly prediction: EmotionPrediction } | { readonly ok: false; readonly error: ErrorRecord };

/** A request as the caller writes it: the link numbers it. */
type Request = ToWorker extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Emotion2VecError): void;
  onProgress?: LoadOptions['progress'];
  onFrames?: FrameSink;
}

/** Requests to one worker and their answers; the worker's events go to the object that asked for them. */
class WorkerLink {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  readonly streams = new Map<number, WorkerSpeechStream>();
  private failure: Emotion2VecError | null = null;

  constructor(readonly worker: Worker) {
    worker.addEventListener('message', (event: MessageEvent<FromWorker>) => this.receive(event.data));
    worker.addEventListener('error', (event: ErrorEvent) => {
      event.preventDefault();
      this.fail(`the worker stopped (${event.message ?? 'its script failed to load or threw'})`);
    });
    worker.addEventListener('messageerror', () => this.fail('a message from the worker could not be read'));
  }

  /** Sends a request (transferring the buffers of `transferFrom`) and resolves with its answer. */
  request<T>(message: Request, transferFrom?: unknown, extra: Partial<Pending> = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const id = ++this.nextId;
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, ...extra });
      try {
        postTransferring(this.worker, { ...message, id }, transferFrom);
      } catch (error) {
        this.pending.delete(id);
        reject(
          new UsageError(
            'INVALID_ARGUMENT',
            `This cannot be sent to the model worker (${error instanceof Error ? error.message : String(error)}): pass audio, files, URLs and plain options; functions other than the documented callbacks stay on the page.`,
          ),
        );
      }
    });
  }

  /** Sends a message that gets no answer. */
  send(message: ToWorker, transferFrom?: unknown): void {
    if (!this.failure) postTransferring(this.worker, message, transferFrom);
  }

  terminate(): void {
    this.worker.terminate();
    this.fail('the worker was terminated (dispose)', 'MODEL_DISPOSED');
  }

  private fail(why: string, code: ErrorCode = 'INFERENCE_FAILED'): void {
    if (this.failure) return;
    this.failure =
      code === 'MODEL_DISPOSED'
        ? new UsageError(code, 'This model was disposed: load it again.')
        : new InferenceError(
            code,
            `The model worker failed: ${why}. Check that the worker's script loads (its URL, { type: 'module' }) and calls serveModelInWorker().`,
          );
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
  }

  private receive(message: FromWorker): void {
    switch (message.type) {
      case 'done':
      case 'failed': {
        const pending = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.type === 'done') pending?.resolve(message.value);
        else pending?.reject(fromErrorRecord(message.error));
        return;
      }
      case 'progress':
        this.pending.get(message.id)?.onProgress?.(message.event);
        return;
      case 'frames': {
        const sink = this.pending.get(message.id)?.onFrames;
        const taken = (error?: unknown) =>
          this.send({ type: 'frames-taken', seq: message.seq, ...(error ? { error: toErrorRecord(error) } : {}) });
        Promise.resolve()
          .then(() => sink?.(message.rows, message.shape, message.input))
          .then(() => taken(), taken);
        return;
      }
      case 'segment':
      case 'samples':
      case 'stream-error':
        this.streams.get(message.stream)?.receive(message);
        return;
    }
  }
}

/** Callbacks and the MediaStream stay on the page; the rest of the options go to the worker. */
function withoutCallbacks<T extends object>(options: T, callbacks: readonly string[]): object {
  return Object.fromEntries(Object.entries(options).filter(([key]) => !callbacks.includes(key)));
}

export class Emotion2VecWorker {
  /** The labels results use, in order. */
  readonly labels: string[];
  /** The validated model configuration. */
  readonly config: Emotion2VecConfig;
  /** Embedding width D. */
  readonly embeddingDim: number;
  /** Fewest 16 kHz samples that give one frame. */
  readonly minimumSamples: number;
  /** The tfjs backend in the worker (each worker has its own tfjs: it does not move with the page's). */
  readonly backend: string;
  /** What `load` chose in the worker and why it passed the others over (as `Emotion2Vec.backendChoice`). */
  readonly backendChoice: BackendChoice;
  /** What the encoder's matrices compute in, in the worker (as `Emotion2Vec.compute`). */
  readonly compute: ComputePrecision;
  /** What loading found (as `Emotion2Vec.loadReport`). */
  readonly loadReport: LoadReport & { readonly location: string; readonly layout: string; readonly notes: string[] };
  private streamCount = 0;

  private constructor(
    private readonly link: WorkerLink,
    facts: LoadedFacts,
  ) {
    this.labels = facts.labels;
    this.config = facts.config as Emotion2VecConfig;
    this.embeddingDim = facts.embeddingDim;
    this.minimumSamples = facts.minimumSamples;
    this.backend = facts.backend;
    this.backendChoice = facts.backendChoice as BackendChoice;
    this.compute = facts.compute as ComputePrecision;
    this.loadReport = facts.loadReport as Emotion2VecWorker['loadReport'];
  }

  /**
   * Loads a model in `worker` (a module Worker whose script calls `serveModelInWorker()`, or that script's URL) as
   * `Emotion2Vec.load(source, options)` would on the page: hub ids through the Cache API, `progress` events relayed.
   * Relative URLs resolve against the worker's script, so pass absolute ones. The model owns the worker:
   * `dispose()` terminates it.
   */
  static async load(
    worker: Worker | string | URL,
    source: ModelSource,
    options: WorkerLoadOptions = {},
  ): Promise<Emotion2VecWorker> {
    if ((options as LoadOptions).fetch !== undefined)
      throw new UsageError(
        'INVALID_ARGUMENT',
        'fetch cannot be sent to a worker: load in the worker with its own fetch, or load on the page with Emotion2Vec.',
      );
    const target =
      typeof worker === 'string' || worker instanceof URL ? new Worker(worker, { type: 'module' }) : worker;
    const link = new WorkerLink(target);
    try {
      const facts = await link.request<LoadedFacts>(
        { type: 'load', source, options: withoutCallbacks(options, ['progress']) },
        undefined,
        { onProgress: options.progress },
      );
      return new Emotion2VecWorker(link, facts);
    } catch (error) {
      target.terminate();
      throw error;
    }
  }

  /**
   * Predicts the emotion of one recording in the worker: the same options and result as `Emotion2Vec.predict`.
   * Typed arrays and ArrayBuffers in `audio` are transferred, not copied: on the page they are empty afterwards
   * (pass `samples.slice()` to keep a copy).
   */
  async predict(audio: AudioInput, options: PredictOptions = {}): Promise<EmotionPrediction> {
    const [result] = await this.predictBatch([audio], { ...options, batchSize: 1 });
    if (!result!.ok) throw result!.error;
    return result!.prediction;
  }

  /** `Emotion2Vec.predictBatch` in the worker; the audio is transferred as in {@link predict}. */
  async predictBatch(audios: readonly AudioInput[], options: BatchPredictOptions = {}): Promise<BatchItemResult[]> {
    const onFrames = options.onFrames;
    if (onFrames !== undefined && typeof onFrames !== 'function')
      throw new UsageError('INVALID_ARGUMENT', 'onFrames must be a function (rows, shape, input) => void.');
    const items = await this.link.request<ItemRecord[]>(
      {
        type: 'predict',
        audios,
        options: withoutCallbacks(options, ['onFrames']),
        sinkFrames: onFrames !== undefined,
      },
      audios,
      { onFrames },
    );
    return items.map((item) => (item.ok ? item : { ok: false, error: fromErrorRecord(item.error) }));
  }

  /**
   * Live input, as `Emotion2Vec.stream`: the segmenter and the model run in the worker; a `mediaStream` is captured on
   * the page (an AudioWorklet) and its chunks sent there. Callbacks run on the page.
   */
  stream(options: StreamOptions = {}): WorkerSpeechStream {
    const id = ++this.streamCount;
    const stream = new WorkerSpeechStream(this.link, id, options);
    this.link.streams.set(id, stream);
    return stream;
  }

  /** Frees the model and terminates the worker. */
  dispose(): void {
    this.link.terminate();
  }
}

/** {@link Emotion2VecWorker.stream}: `SpeechStream`'s API, the work done in the worker. */
export class WorkerSpeechStream {
  private heardSeconds = 0;
  private ended = false;
  private readonly opened: Promise<unknown>;
  private disconnect: (() => void) | null = null;

  constructor(
    private readonly link: WorkerLink,
    private readonly id: number,
    private readonly options: StreamOptions,
  ) {
    this.opened = link.request({
      type: 'stream-open',
      stream: id,
      options: withoutCallbacks(options, ['onSegment', 'onError', 'onSamples', 'mediaStream']),
      sendSamples: options.onSamples !== undefined,
    });
    this.opened.catch((error: unknown) => options.onError?.(error));
    if (options.mediaStream) {
      this.disconnect = connectMediaStream(
        options.mediaStream,
        (chunk, sampleRate) => this.pushLive(chunk, sampleRate),
        options.sampleRate,
        (error) => options.onError?.(error),
      );
    }
  }

  /** Seconds of audio handed to the worker's stream so far. */
  get receivedSeconds(): number {
    return this.heardSeconds;
  }

  /** Adds samples (mono, at `sampleRate`) and resolves with the segments they finished. The chunk is copied. */
  async push(chunk: Float32Array): Promise<TimelineEntry[]> {
    if (this.ended)
      throw new UsageError('INVALID_ARGUMENT', 'push() after end(): start a new stream with model.stream().');
    // Copied, as SpeechStream.push does: audio callbacks reuse their buffers, and this one is transferred.
    const copy = chunk instanceof Float32Array ? chunk.slice() : chunk;
    if (copy instanceof Float32Array) this.heardSeconds += copy.length / (this.options.sampleRate ?? MODEL_SAMPLE_RATE);
    const segments = this.link.request<TimelineEntry[]>(
      { type: 'stream-push', stream: this.id, chunk: copy, live: false },
      copy,
    );
    return segments;
  }

  /** Ends the stream (and stops listening to a MediaStream); resolves with the last segments. */
  async end(): Promise<TimelineEntry[]> {
    this.ended = true;
    this.disconnect?.();
    this.disconnect = null;
    const segments = await this.link.request<TimelineEntry[]>({ type: 'stream-end', stream: this.id });
    this.link.streams.delete(this.id);
    return segments;
  }

  /** Events of this stream from the worker. */
  receive(message: Extract<FromWorker, { stream: number }>): void {
    if (message.type === 'segment') this.options.onSegment?.(message.entry);
    else if (message.type === 'samples') this.options.onSamples?.(message.samples);
    else this.options.onError?.(fromErrorRecord(message.error));
  }

  private pushLive(chunk: Float32Array, sampleRate: number): void {
    const expected = this.options.sampleRate ?? sampleRate;
    if (sampleRate !== expected) {
      this.options.onError?.(
        new UsageError(
          'INVALID_ARGUMENT',
          `The MediaStream runs at ${sampleRate} Hz; create the stream with sampleRate: ${sampleRate}.`,
        ),
      );
      return;
    }
    this.heardSeconds += chunk.length / sampleRate; // before the send, which empties the chunk
    this.link.send({ type: 'stream-push', id: 0, stream: this.id, chunk, live: true }, chunk);
  }
}

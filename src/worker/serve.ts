/**
 * The worker side of {@link Emotion2VecWorker}: `serveModelInWorker()` answers the page's messages with one
 * `Emotion2Vec` that lives in this worker (its own tfjs and backend, weights from the Cache API for hub ids, as the
 * page would load them). Call it from the app's worker module, which imports it from the package (the browser entry):
 *
 * ```ts
 * // emotion-worker.ts
 * import { serveModelInWorker } from 'emotion2vec-tfjs';
 * serveModelInWorker();
 * ```
 */
import { UsageError } from '../errors.js';
import { Emotion2Vec, type BatchPredictOptions, type LoadOptions } from '../model/emotion2vec.js';
import type { ModelSource } from '../model/sources.js';
import type { AudioInput } from '../audio/prepare.js';
import type { SpeechStream, StreamOptions } from '../model/stream.js';
import {
  fromErrorRecord,
  postTransferring,
  toErrorRecord,
  type FromWorker,
  type LoadedFacts,
  type ToWorker,
} from './protocol.js';

/** The part of a worker's global scope used here. */
export interface WorkerScopeLike {
  addEventListener(type: 'message', listener: (event: { data: ToWorker }) => void): void;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

/**
 * Serves one model to the page that made this worker (see {@link Emotion2VecWorker}). Call it once, in a module
 * worker; it changes nothing else in the worker.
 */
export function serveModelInWorker(scope: WorkerScopeLike = globalThis as unknown as WorkerScopeLike): void {
  let model: Emotion2Vec | null = null;
  const streams = new Map<number, SpeechStream>();
  /** onFrames rows waiting for the page's sink, by sequence number. */
  const framesPending = new Map<number, { resolve: () => void; reject: (error: unknown) => void }>();
  let framesSeq = 0;

  const post = (message: FromWorker, transferFrom?: unknown) => postTransferring(scope, message, transferFrom);
  const live = (): Emotion2Vec => {
    if (!model) throw new UsageError('MODEL_DISPOSED', 'No model in this worker: load one first.');
    return model;
  };

  async function answer(id: number, work: () => Promise<unknown>): Promise<void> {
    try {
      const value = await work();
      post({ type: 'done', id, value }, value);
    } catch (error) {
      post({ type: 'failed', id, error: toErrorRecord(error) });
    }
  }

  function sinkFrames(id: number): BatchPredictOptions['onFrames'] {
    return (rows, shape, input) =>
      new Promise<void>((resolve, reject) => {
        const seq = ++framesSeq;
        framesPending.set(seq, { resolve, reject });
        // Copied: the rows may be a view of the model's own buffer.
        const copy = rows.slice();
        post({ type: 'frames', id, seq, rows: copy, shape, input }, copy);
      });
  }

  function openStream(stream: number, options: StreamOptions, sendSamples: boolean): void {
    streams.set(
      stream,
      live().stream({
        ...options,
        onSegment: (entry) => post({ type: 'segment', stream, entry }),
        onSamples: sendSamples
          ? (samples) => {
              const copy = samples.slice();
              post({ type: 'samples', stream, samples: copy }, copy);
            }
          : undefined,
      }),
    );
  }

  function handle(message: ToWorker): void {
    switch (message.type) {
      case 'load':
        void answer(message.id, async () => {
          if (model) throw new UsageError('INVALID_ARGUMENT', 'This worker already holds a model: make a new worker.');
          const options: LoadOptions = {
            ...(message.options as LoadOptions),
            progress: (event) => post({ type: 'progress', id: message.id, event }),
          };
          model = await Emotion2Vec.load(message.source as ModelSource, options);
          const facts: LoadedFacts = {
            labels: model.labels,
            config: model.config,
            embeddingDim: model.embeddingDim,
            minimumSamples: model.minimumSamples,
            backend: model.backend,
            backendChoice: model.backendChoice,
            compute: model.compute,
            loadReport: model.loadReport,
          };
          return facts;
        });
        return;
      case 'predict':
        void answer(message.id, async () => {
          const items = await live().predictBatch(message.audios as AudioInput[], {
            ...(message.options as BatchPredictOptions),
            ...(message.sinkFrames ? { onFrames: sinkFrames(message.id) } : {}),
          });
          // The structured clone keeps no error class or code: failed items go as records.
          return items.map((item) => (item.ok ? item : { ok: false, error: toErrorRecord(item.error) }));
        });
        return;
      case 'frames-taken': {
        const pending = framesPending.get(message.seq);
        framesPending.delete(message.seq);
        if (message.error) pending?.reject(fromErrorRecord(message.error));
        else pending?.resolve();
        return;
      }
      case 'stream-open':
        void answer(message.id, async () =>
          openStream(message.stream, message.options as StreamOptions, message.sendSamples),
        );
        return;
      case 'stream-push': {
        const speech = streams.get(message.stream);
        if (message.live) {
          speech
            ?.push(message.chunk)
            .catch((error: unknown) =>
              post({ type: 'stream-error', stream: message.stream, error: toErrorRecord(error) }),
            );
          return;
        }
        void answer(message.id, async () => {
          if (!speech) throw new UsageError('INVALID_ARGUMENT', 'push() on a stream this worker does not know.');
          return speech.push(message.chunk);
        });
        return;
      }
      case 'stream-end':
        void answer(message.id, async () => {
          const speech = streams.get(message.stream);
          streams.delete(message.stream);
          return speech ? speech.end() : [];
        });
        return;
      case 'dispose':
        void answer(message.id, async () => {
          model?.dispose();
          model = null;
          streams.clear();
        });
        return;
    }
  }

  scope.addEventListener('message', (event) => handle(event.data));
}

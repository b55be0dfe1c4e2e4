/**
 * Live input: chunks of samples in, a result per finished segment out. The same {@link SegmentRunner} as files,
 * so a stream gives the same segments and scores as `predict(audio, { timeline: true })` for the same audio.
 *
 * Bounds: a speech segment is reported `hangoverSeconds` (0.3 s) after it ends, or when it reaches
 * `maxSegmentSeconds` (10 s) plus half the overlap; memory holds at most one segment of audio and context,
 * whatever the length of the stream.
 */
import { MODEL_SAMPLE_RATE } from '../audio/frame-geometry.js';
import { StreamingResampler } from '../audio/resample.js';
import type { SegmentOptions } from '../audio/vad.js';
import { connectMediaStream, type MediaStreamLike } from '../audio/media-stream.js';
import { AudioInputError, UsageError, describeValue, typeTag } from '../errors.js';
import type { ScoringNetwork } from './network.js';
import { SegmentRunner, type TimelineEntry } from './segment-runner.js';

export interface StreamOptions {
  /** Rate of the pushed samples (default 16000); other rates are resampled as files are (torchaudio's filter). */
  readonly sampleRate?: number;
  /** How the audio is cut into segments (the same options as `predict`). */
  readonly segmentation?: SegmentOptions;
  /** Also report non-speech segments (default false: speech only). */
  readonly includeNonSpeech?: boolean;
  /** Called with each finished segment, in order. */
  readonly onSegment?: (entry: TimelineEntry) => void;
  /** Called when a segment could not be processed (live sources only; `push` rejects instead). */
  readonly onError?: (error: unknown) => void;
  /** Browsers: a microphone or other `MediaStream` to listen to; its audio is pushed as it arrives. */
  readonly mediaStream?: MediaStreamLike;
  /**
   * Called with the 16 kHz samples exactly as the segmenter receives them, in order (read them, do not modify
   * them): to keep a recording of a live session, or to check what a `MediaStream` delivered.
   */
  readonly onSamples?: (samples16k: Float32Array) => void;
}

export class SpeechStream {
  private readonly runner: SegmentRunner;
  private readonly resampler: StreamingResampler;
  private finished: TimelineEntry[] = [];
  /** Pushes run one after another even when callers do not await them. */
  private chain: Promise<unknown> = Promise.resolve();
  private ended = false;
  private disconnect: (() => void) | null = null;

  /** @internal Made by `Emotion2Vec.stream()`. */
  constructor(
    network: ScoringNetwork,
    private readonly options: StreamOptions = {},
  ) {
    const rate = options.sampleRate ?? MODEL_SAMPLE_RATE;
    this.resampler = new StreamingResampler(rate, MODEL_SAMPLE_RATE);
    this.runner = new SegmentRunner(network, {
      segmentation: options.segmentation,
      onSegment: ({ entry }) => {
        if (!entry.speech && options.includeNonSpeech !== true) return;
        this.finished.push(entry);
        options.onSegment?.(entry);
      },
    });
    if (options.mediaStream)
      this.disconnect = connectMediaStream(
        options.mediaStream,
        (chunk, sampleRate) => this.pushLive(chunk, sampleRate),
        rate,
        (error) => options.onError?.(error),
      );
  }

  /** Seconds of audio received so far (at 16 kHz). */
  get receivedSeconds(): number {
    return this.runner.sampleCount / MODEL_SAMPLE_RATE;
  }

  /** Adds samples (mono, at `sampleRate`) and resolves with the segments they finished. */
  push(chunk: Float32Array): Promise<TimelineEntry[]> {
    if (this.ended)
      return Promise.reject(
        new UsageError('INVALID_ARGUMENT', 'push() after end(): start a new stream with model.stream().'),
      );
    checkChunk(chunk);
    // The runner keeps chunks by reference: copy, since callers (audio callbacks) reuse their buffers.
    const copy = chunk.slice();
    return this.enqueue(() => this.runner.push(this.heard(this.resampler.push(copy))));
  }

  /** Ends the stream (and stops listening to a MediaStream); resolves with the last segments. */
  end(): Promise<TimelineEntry[]> {
    if (this.ended) return this.enqueue(async () => {});
    this.ended = true;
    this.disconnect?.();
    this.disconnect = null;
    return this.enqueue(async () => {
      const tail = this.resampler.end();
      if (tail.length > 0) await this.runner.push(this.heard(tail));
      await this.runner.end();
    });
  }

  private heard(samples: Float32Array): Float32Array {
    if (samples.length > 0) this.options.onSamples?.(samples);
    return samples;
  }

  private enqueue(work: () => Promise<void>): Promise<TimelineEntry[]> {
    const next = this.chain.then(async () => {
      await work();
      return this.finished.splice(0);
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** From a live source: resampled from the source's own rate; failures go to onError. */
  private pushLive(chunk: Float32Array, sampleRate: number): void {
    if (sampleRate !== this.resampler.fromRate) {
      this.options.onError?.(
        new UsageError(
          'INVALID_ARGUMENT',
          `The MediaStream runs at ${sampleRate} Hz; create the stream with sampleRate: ${sampleRate}.`,
        ),
      );
      return;
    }
    this.push(chunk).catch((error: unknown) => this.options.onError?.(error));
  }
}

function checkChunk(chunk: unknown): asserts chunk is Float32Array {
  if (typeTag(chunk) !== 'Float32Array') {
    throw new AudioInputError(
      'AUDIO_INVALID_TYPE',
      `stream.push takes a Float32Array of mono samples in [-1, 1]; got ${describeValue(chunk)}.`,
    );
  }
  const samples = chunk as Float32Array;
  for (let i = 0; i < samples.length; i++) {
    const value = samples[i]!;
    if (value - value !== 0) {
      throw new AudioInputError(
        'AUDIO_NOT_FINITE',
        `The pushed chunk contains ${String(value)} at sample ${i}: every sample must be a finite number in [-1, 1].`,
      );
    }
  }
}

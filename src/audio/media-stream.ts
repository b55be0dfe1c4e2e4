/**
 * Browsers: turns a `MediaStream` (a microphone from getUserMedia, a WebRTC call) into mono Float32Array chunks.
 * Uses a ScriptProcessorNode: deprecated but in every browser, and unlike an AudioWorklet it needs no separate
 * module file served next to the page. The AudioContext runs at the rate asked for, so the browser resamples.
 */
import { UsageError } from '../errors.js';
import { MODEL_SAMPLE_RATE } from './frame-geometry.js';

/** The part of the DOM `MediaStream` used here (typed loosely so Node builds need no DOM types). */
export type MediaStreamLike = { getAudioTracks(): unknown[] };

interface AudioContextLike {
  readonly sampleRate: number;
  createMediaStreamSource(stream: unknown): { connect(node: unknown): void; disconnect(): void };
  createScriptProcessor(bufferSize: number, inputs: number, outputs: number): ScriptProcessorLike;
  readonly destination: unknown;
  resume?(): Promise<void>;
  close(): Promise<void>;
}

interface ScriptProcessorLike {
  onaudioprocess:
    ((event: { inputBuffer: { numberOfChannels: number; getChannelData(c: number): Float32Array } }) => void) | null;
  connect(node: unknown): void;
  disconnect(): void;
}

/** Samples per callback: 4096 at 16 kHz is 0.26 s, the latency this adds. */
const BUFFER_SIZE = 4096;

/**
 * Listens to `stream` and calls `onChunk` with each block of mono samples (channels averaged). Returns a
 * function that stops listening and closes the audio context.
 * @throws UsageError `INVALID_ARGUMENT` outside a browser or for a stream without audio tracks.
 */
export function connectMediaStream(
  stream: MediaStreamLike,
  onChunk: (chunk: Float32Array, sampleRate: number) => void,
  sampleRate = MODEL_SAMPLE_RATE,
): () => void {
  const Context = (globalThis as { AudioContext?: new (options?: { sampleRate?: number }) => AudioContextLike })
    .AudioContext;
  if (!Context)
    throw new UsageError(
      'INVALID_ARGUMENT',
      'mediaStream needs the Web Audio API (a browser). In Node, push Float32Array chunks with stream.push().',
    );
  if (typeof stream?.getAudioTracks !== 'function' || stream.getAudioTracks().length === 0) {
    throw new UsageError('INVALID_ARGUMENT', 'mediaStream has no audio track: ask getUserMedia for { audio: true }.');
  }
  const context = new Context({ sampleRate });
  const source = context.createMediaStreamSource(stream);
  const processor = context.createScriptProcessor(BUFFER_SIZE, 1, 1);
  processor.onaudioprocess = (event) => {
    const input = event.inputBuffer;
    const mono = new Float32Array(input.getChannelData(0));
    for (let c = 1; c < input.numberOfChannels; c++) {
      const channel = input.getChannelData(c);
      for (let i = 0; i < mono.length; i++) mono[i] = mono[i]! + channel[i]!;
    }
    if (input.numberOfChannels > 1) for (let i = 0; i < mono.length; i++) mono[i] = mono[i]! / input.numberOfChannels;
    onChunk(mono, context.sampleRate);
  };
  source.connect(processor);
  // A ScriptProcessor only runs while connected to the output; it writes silence there.
  processor.connect(context.destination);
  // A context made outside a user gesture may start suspended (autoplay policy); the page's click on a
  // "listen" button allows it to run.
  void context.resume?.().catch(() => undefined);
  return () => {
    processor.onaudioprocess = null;
    source.disconnect();
    processor.disconnect();
    void context.close();
  };
}

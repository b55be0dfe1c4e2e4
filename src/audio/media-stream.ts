/**
 * Browsers: turns a `MediaStream` (a microphone from getUserMedia, a WebRTC call) into mono Float32Array chunks.
 *
 * Capture runs in an AudioWorklet, on the browser's audio thread: every 128-sample render quantum is copied there,
 * so a busy main thread delays chunks (they queue as messages) but never drops or repeats samples, as the old
 * ScriptProcessorNode did on a loaded machine. The processor's code is a string made into a Blob URL here, so no
 * module file has to be served next to the page or found by a bundler. The AudioContext runs at the rate asked
 * for, so the browser resamples.
 */
import { UsageError } from '../errors.js';
import { MODEL_SAMPLE_RATE } from './frame-geometry.js';

/** The part of the DOM `MediaStream` used here (typed loosely so Node builds need no DOM types). */
export type MediaStreamLike = { getAudioTracks(): unknown[] };

interface AudioNodeLike {
  connect(node: unknown): void;
  disconnect(): void;
}

interface AudioContextLike {
  readonly sampleRate: number;
  readonly destination: unknown;
  readonly audioWorklet?: { addModule(url: string): Promise<void> };
  createMediaStreamSource(stream: unknown): AudioNodeLike;
  resume?(): Promise<void>;
  close(): Promise<void>;
}

interface WorkletNodeLike extends AudioNodeLike {
  readonly port: { onmessage: ((event: { data: Float32Array }) => void) | null; postMessage(message: unknown): void };
}

type WorkletNodeConstructor = new (
  context: AudioContextLike,
  name: string,
  options: { numberOfInputs: number; numberOfOutputs: number; processorOptions: { blockSize: number } },
) => WorkletNodeLike;

/** The name the processor is registered under in the capture context's worklet scope. */
const PROCESSOR_NAME = 'emotion2vec-capture';

/**
 * The processor, run in AudioWorkletGlobalScope: averages the channels of each render quantum into a block of
 * `blockSize` samples and posts each full block (transferred) to the page. A quantum with no
 * input channels (the track ended or is not yet flowing) is silence that took time, so it is kept as zeros.
 */
const PROCESSOR_SOURCE = `
registerProcessor('${PROCESSOR_NAME}', class extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.blockSize;
    this.block = new Float32Array(this.size);
    this.filled = 0;
    this.stopped = false;
    this.port.onmessage = () => { this.stopped = true; };
  }
  process(inputs) {
    if (this.stopped) return false;
    const channels = inputs[0] || [];
    const length = channels.length > 0 ? channels[0].length : 128;
    for (let i = 0; i < length; i++) {
      let sum = 0;
      for (let c = 0; c < channels.length; c++) sum += channels[c][i];
      this.block[this.filled++] = channels.length > 0 ? sum / channels.length : 0;
      if (this.filled === this.size) {
        this.port.postMessage(this.block, [this.block.buffer]);
        this.block = new Float32Array(this.size);
        this.filled = 0;
      }
    }
    return true;
  }
});
`;

/** Samples per message: the render quanta of about 20 ms (384 at 16 kHz, 1024 at 48 kHz), the latency this adds. */
function captureBlockSize(sampleRate: number): number {
  return 128 * Math.max(1, Math.ceil((sampleRate * 0.02) / 128));
}

/**
 * Listens to `stream` and calls `onChunk` with each block of mono samples (channels averaged), in order and
 * without gaps. Returns a function that stops listening and closes the audio context. Failures after the call
 * (the browser refusing the worklet module) go to `onError`.
 * @throws UsageError `INVALID_ARGUMENT` outside a browser, without AudioWorklet, or for a stream without audio tracks.
 */
export function connectMediaStream(
  stream: MediaStreamLike,
  onChunk: (chunk: Float32Array, sampleRate: number) => void,
  sampleRate = MODEL_SAMPLE_RATE,
  onError: (error: unknown) => void = () => undefined,
): () => void {
  const scope = globalThis as unknown as {
    AudioContext?: new (options?: { sampleRate?: number }) => AudioContextLike;
    AudioWorkletNode?: WorkletNodeConstructor;
  };
  const { AudioContext: Context, AudioWorkletNode: WorkletNode } = scope;
  if (!Context)
    throw new UsageError(
      'INVALID_ARGUMENT',
      'mediaStream needs the Web Audio API (a browser page). In Node or a worker, push Float32Array chunks with stream.push().',
    );
  if (!WorkletNode)
    throw new UsageError(
      'INVALID_ARGUMENT',
      'mediaStream needs AudioWorklet, which browsers offer only in secure contexts (https or localhost).',
    );
  if (typeof stream?.getAudioTracks !== 'function' || stream.getAudioTracks().length === 0) {
    throw new UsageError('INVALID_ARGUMENT', 'mediaStream has no audio track: ask getUserMedia for { audio: true }.');
  }
  const context = new Context({ sampleRate });
  if (!context.audioWorklet) {
    void context.close();
    throw new UsageError('INVALID_ARGUMENT', 'This page has no AudioWorklet: serve it over https or from localhost.');
  }
  const source = context.createMediaStreamSource(stream);
  let node: WorkletNodeLike | null = null;
  let stopped = false;
  const moduleUrl = URL.createObjectURL(new Blob([PROCESSOR_SOURCE], { type: 'text/javascript' }));
  context.audioWorklet
    .addModule(moduleUrl)
    .then(() => {
      if (stopped) return;
      node = new WorkletNode(context, PROCESSOR_NAME, {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        processorOptions: { blockSize: captureBlockSize(context.sampleRate) },
      });
      node.port.onmessage = ({ data }) => {
        if (!stopped) onChunk(data, context.sampleRate);
      };
      source.connect(node);
      // Connected to the output (it writes silence there) so that every browser keeps pulling it.
      node.connect(context.destination);
    })
    .catch((error: unknown) => {
      if (!stopped)
        onError(
          new UsageError(
            'INVALID_ARGUMENT',
            `The browser refused the capture worklet (${error instanceof Error ? error.message : String(error)}); a Content-Security-Policy must allow blob: scripts for live input.`,
            { cause: error },
          ),
        );
    })
    .finally(() => URL.revokeObjectURL(moduleUrl));
  // A context made outside a user gesture may start suspended (autoplay policy); the page's click on a
  // "listen" button allows it to run.
  void context.resume?.().catch(() => undefined);
  return () => {
    if (stopped) return;
    stopped = true;
    node?.port.postMessage('stop');
    source.disconnect();
    node?.disconnect();
    void context.close();
  };
}

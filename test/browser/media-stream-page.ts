/**
 * What the MediaStream test runs inside Chromium: a known recording played through Web Audio into a
 * `MediaStream` (as a microphone hands one over), listened to by `model.stream({ mediaStream })`.
 */
import { Emotion2Vec, isEmotion2VecError } from '../../src/browser.js';
import { decodeAudio } from '../../src/audio/decode.js';
import { connectMediaStream } from '../../src/audio/media-stream.js';

const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';

async function fetchBytes(url: string): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Float32 samples as little-endian bytes in base64 (a JSON array of 200k numbers is slow). */
function toBase64(samples: Float32Array): string {
  const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function concat(chunks: Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
  chunks.reduce((at, chunk) => (out.set(chunk, at), at + chunk.length), 0);
  return out;
}

/** Blocks the main thread for `busyMs` out of every `periodMs` until `until` resolves: a page doing heavy work. */
async function keepBusy(until: Promise<unknown>, busyMs: number, periodMs: number): Promise<number> {
  let done = false;
  void until.then(() => (done = true));
  let blocked = 0;
  while (!done) {
    const start = performance.now();
    while (performance.now() - start < busyMs) {
      /* the main thread does nothing else meanwhile */
    }
    blocked += performance.now() - start;
    await sleep(periodMs - busyMs);
  }
  return blocked;
}

const scenarios = {
  /**
   * `signal` (base64 float32 at `rate`) played by an AudioContext at `rate` into a MediaStream and captured by
   * connectMediaStream at the same rate (no resampling on either side), while the main thread is blocked `busyMs` of
   * every `periodMs`; returns what was captured.
   */
  async captureKnownSignal(args: { signal: string; rate: number; busyMs: number; periodMs: number }) {
    const bytes = Uint8Array.from(atob(args.signal), (c) => c.charCodeAt(0));
    const signal = new Float32Array(bytes.buffer);
    const player = new AudioContext({ sampleRate: args.rate });
    const buffer = player.createBuffer(1, signal.length, args.rate);
    buffer.getChannelData(0).set(signal);
    const destination = player.createMediaStreamDestination();
    const source = player.createBufferSource();
    source.buffer = buffer;
    source.connect(destination);
    const heard: Float32Array[] = [];
    const errors: string[] = [];
    const stop = connectMediaStream(
      destination.stream,
      (chunk, rate) => {
        if (rate !== args.rate) errors.push(`chunk at ${rate} Hz`);
        heard.push(chunk);
      },
      args.rate,
      (error) => errors.push(String(error)),
    );
    await sleep(300);
    await player.resume();
    const ended = new Promise((resolve) => (source.onended = resolve));
    source.start();
    const blockedMs = await keepBusy(ended, args.busyMs, args.periodMs);
    await sleep(500); // the last blocks through the capture context
    stop();
    await player.close();
    return { heard: toBase64(concat(heard)), chunks: heard.length, blockedMs, errors };
  },

  /**
   * Plays `audio` in an AudioContext at `playerRate` into createMediaStreamDestination() and streams that
   * MediaStream through the model; returns the speech segments as they were reported, and what the stream heard.
   */
  async streamFromMediaStream(args: { model: string; audio: string; playerRate: number }) {
    const model = await Emotion2Vec.load(new URL(args.model, location.href).href, {
      backend: 'wasm',
      wasmPaths: WASM_PATHS,
    });
    const decoded = await decodeAudio(await fetchBytes(args.audio));
    const player = new AudioContext({ sampleRate: args.playerRate });
    const buffer = player.createBuffer(1, decoded.channels[0]!.length, decoded.sampleRate);
    buffer.getChannelData(0).set(decoded.channels[0]!);
    const destination = player.createMediaStreamDestination();
    const source = player.createBufferSource();
    source.buffer = buffer;
    source.connect(destination);

    const segments: {
      start: number;
      end: number;
      speech: boolean;
      top: string | null;
      scores: number[];
      at: number;
    }[] = [];
    const errors: string[] = [];
    const heard: Float32Array[] = [];
    const live = model.stream({
      mediaStream: destination.stream,
      onSamples: (samples) => heard.push(samples.slice()),
      onSegment: (entry) =>
        segments.push({
          start: entry.start,
          end: entry.end,
          speech: entry.speech,
          top: entry.top?.label ?? null,
          scores: entry.scores,
          at: live.receivedSeconds,
        }),
      onError: (error) => errors.push(isEmotion2VecError(error) ? `${error.code}: ${error.message}` : String(error)),
    });
    // The stream hears silence until the source starts: its start, in stream seconds, is measured from the
    // received samples below (the first non-zero one), since the two contexts' clocks are not shared.
    await sleep(300);
    await player.resume();
    const ended = new Promise((resolve) => (source.onended = resolve));
    source.start();
    await ended;
    await sleep(1000); // the last blocks through the capture context
    const receivedBeforeEnd = live.receivedSeconds;
    const last = await live.end();
    await player.close();
    model.dispose();
    const samples = new Float32Array(heard.reduce((n, chunk) => n + chunk.length, 0));
    heard.reduce((at, chunk) => (samples.set(chunk, at), at + chunk.length), 0);
    return {
      segments,
      lastReportedByEnd: last.length,
      errors,
      receivedSeconds: receivedBeforeEnd,
      audioSeconds: decoded.channels[0]!.length / decoded.sampleRate,
      // What the stream heard, as little-endian float32 bytes in base64 (a JSON array of 200k numbers is slow).
      heard: btoa(Array.from(new Uint8Array(samples.buffer), (b) => String.fromCharCode(b)).join('')),
    };
  },
};

export type MediaStreamScenarios = typeof scenarios;
(globalThis as unknown as { scenarios: MediaStreamScenarios }).scenarios = scenarios;

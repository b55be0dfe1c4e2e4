/**
 * What the MediaStream test runs inside Chromium: a known recording played through Web Audio into a
 * `MediaStream` (as a microphone hands one over), listened to by `model.stream({ mediaStream })`.
 */
import { Emotion2Vec, isEmotion2VecError } from '../../src/browser.js';
import { decodeAudio } from '../../src/audio/decode.js';

const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';

async function fetchBytes(url: string): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Resolves once `received()` reaches `seconds`, checked each time the stream hands over samples (an event, not a
 * timer); fails after `limitMs` with what was received, so a stalled capture is a clear failure rather than a hang.
 */
function waitForSamples(
  onSamples: { listener: (() => void) | null },
  received: () => number,
  seconds: number,
  limitMs = 30_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onSamples.listener = null;
      reject(new Error(`the stream received ${received().toFixed(2)} s, not ${seconds.toFixed(2)} s`));
    }, limitMs);
    onSamples.listener = () => {
      if (received() < seconds) return;
      clearTimeout(timer);
      onSamples.listener = null;
      resolve();
    };
    onSamples.listener();
  });
}

const scenarios = {
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
    const samplesArrived: { listener: (() => void) | null } = { listener: null };
    const live = model.stream({
      mediaStream: destination.stream,
      onSamples: (samples) => {
        heard.push(samples.slice());
        samplesArrived.listener?.();
      },
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
    // received samples below (the first non-zero one), since the two contexts' clocks are not shared. Playback
    // starts once the stream is receiving, and the stream is ended once it has heard the whole recording after that.
    const received = () => live.receivedSeconds;
    await waitForSamples(samplesArrived, received, 0.2);
    const playbackStart = received();
    await player.resume();
    const ended = new Promise((resolve) => (source.onended = resolve));
    source.start();
    await ended;
    await waitForSamples(samplesArrived, received, playbackStart + buffer.duration + 0.3);
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

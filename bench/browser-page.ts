/**
 * What `npm run bench:browser` (bench/browser.ts) runs inside Chromium, one step per call so that the Node side can
 * report as it goes. The model runs in a module worker (`Emotion2VecWorker`, the worker bundled from
 * bench/browser-worker.ts), as an app should run it: the page only paces the audio and keeps time.
 *
 * - files: the model's converted files (model.json and its shards) are put in the Cache API, one entry each as a
 *   real page keeps them, then read back from it and loaded (timed: what a second visit costs), then `predict` is
 *   timed per audio length;
 * - live: a recording is pushed into `model.stream()` in real time (20 ms every 20 ms, as a capture worklet hands
 *   it over) and each speech segment's result is timed against the moment its last sample was pushed.
 */
import { Emotion2VecWorker, type TimelineEntry } from '../src/browser.js';
import { decodeAudio } from '../src/audio/decode.js';

const WORKER_URL = '/worker/browser-worker.js';
const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';
const CACHE = 'emotion2vec-bench';

export interface Loaded {
  backend: string;
  skipped: string;
  /** Reading the files back from the Cache API. */
  readMs: number;
  /** From the first read of the cache to a model ready in the worker. */
  loadMs: number;
}

export interface LiveSegment {
  start: number;
  end: number;
  /** From the push of the segment's last sample to its result on the page. */
  latencyMs: number;
}

export interface Live {
  segments: LiveSegment[];
  /** Seconds of audio pushed. */
  seconds: number;
}

let current: Emotion2VecWorker | null = null;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function fetchBytes(url: string): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const scenarios = {
  /** The WebGL renderer and the WebGPU adapter, so the report says whether this was a GPU or software. */
  async renderers(): Promise<{ webgl: string; webgpu: string; isolated: boolean; cores: number }> {
    const gl = document.createElement('canvas').getContext('webgl2');
    const info = gl?.getExtension('WEBGL_debug_renderer_info');
    const webgl = gl ? String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : 'none';
    const gpu = (navigator as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }).gpu;
    const adapter = await gpu?.requestAdapter();
    const webgpu = adapter ? `${adapter.info?.vendor ?? '?'} ${adapter.info?.architecture ?? ''}`.trim() : 'none';
    return { webgl, webgpu, isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency };
  },

  /** Puts the model's files (model.json, shards) in the Cache API, one entry each (untimed: the first visit). */
  async cacheFiles(args: { folder: string; files: string[] }): Promise<void> {
    await caches.delete(CACHE);
    const cache = await caches.open(CACHE);
    for (const name of args.files)
      await cache.put(`${args.folder}${name}`, new Response(await fetchBytes(`${args.folder}${name}`)));
  },

  /** Reads the files back from the Cache API and loads them in a new worker on `backend`. */
  async load(args: { folder: string; files: string[]; backend: string }): Promise<Loaded> {
    if (current) throw new Error('a model is already loaded: call finish() first');
    const start = performance.now();
    const cache = await caches.open(CACHE);
    const files: Record<string, Uint8Array> = {};
    for (const name of args.files) {
      const hit = await cache.match(`${args.folder}${name}`);
      if (!hit) throw new Error(`${name} is not in the cache`);
      files[name] = new Uint8Array(await hit.arrayBuffer());
    }
    const readMs = performance.now() - start;
    current = await Emotion2VecWorker.load(new Worker(WORKER_URL, { type: 'module' }), files, {
      backend: args.backend,
      wasmPaths: WASM_PATHS,
    });
    return {
      backend: current.backend,
      skipped: current.backendChoice.skipped.map((s) => `${s.backend}: ${s.reason}`).join('; '),
      readMs,
      loadMs: performance.now() - start,
    };
  },

  /** Times predict on one waveform: `runs` times after `warmUps` untimed calls; every time in ms. */
  async time(args: { samples: number[]; warmUps: number; runs: number }): Promise<number[]> {
    if (!current) throw new Error('no model loaded: call load() first');
    const audio = Float32Array.from(args.samples);
    for (let i = 0; i < args.warmUps; i++) await current.predict(audio.slice());
    const times: number[] = [];
    for (let i = 0; i < args.runs; i++) {
      const copy = audio.slice();
      const start = performance.now();
      await current.predict(copy);
      times.push(performance.now() - start);
    }
    return times;
  },

  /** The recording at `audio` pushed in real time into a stream, then 1.5 s of silence; each segment's latency. */
  async live(args: { audio: string }): Promise<Live> {
    if (!current) throw new Error('no model loaded: call load() first');
    const decoded = await decodeAudio(await fetchBytes(args.audio));
    const rate = decoded.sampleRate;
    const signal = new Float32Array(decoded.channels[0]!.length + Math.round(1.5 * rate));
    signal.set(decoded.channels[0]!);
    const block = Math.round(rate * 0.02);
    const pushedAt: number[] = []; // wall time at which the block ending at sample (i + 1) * block was pushed
    const results: { entry: TimelineEntry; at: number }[] = [];
    const stream = current.stream({
      sampleRate: rate,
      onSegment: (entry) => results.push({ entry, at: performance.now() }),
    });
    const start = performance.now();
    for (let i = 0; i * block < signal.length; i++) {
      const due = start + i * 20;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      void stream.push(signal.subarray(i * block, (i + 1) * block));
      pushedAt.push(performance.now());
    }
    await stream.end();
    const segments = results
      .filter(({ entry }) => entry.speech)
      .map(({ entry, at }) => {
        const lastBlock = Math.min(pushedAt.length - 1, Math.ceil((entry.end * rate) / block) - 1);
        return { start: entry.start, end: entry.end, latencyMs: at - pushedAt[lastBlock]! };
      });
    return { segments, seconds: signal.length / rate };
  },

  finish(): Promise<void> {
    current?.dispose();
    current = null;
    return Promise.resolve();
  },
};

export type BrowserBenchScenarios = typeof scenarios;
(globalThis as unknown as { scenarios: BrowserBenchScenarios }).scenarios = scenarios;

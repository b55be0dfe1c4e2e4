/**
 * What the worker test runs inside Chromium: the same model on the page (`Emotion2Vec`) and in a module worker
 * (`Emotion2VecWorker`, the worker bundled from worker-entry.ts), the same calls on both, and a timer that must keep
 * ticking on the page while the worker predicts.
 */
import {
  AudioInputError,
  Emotion2Vec,
  Emotion2VecWorker,
  isEmotion2VecError,
  type EmotionPrediction,
  type TimelineEntry,
} from '../../src/browser.js';

const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';
const WORKER_URL = '/worker/worker-entry.js';
const PNG_HEADER = new Uint8Array([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
]);

async function fetchBytes(url: string): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A prediction as plain JSON, every array kept (compared exactly on the Node side). */
function plain(prediction: EmotionPrediction) {
  return JSON.parse(
    JSON.stringify(prediction, (_, value: unknown) => (value instanceof Float32Array ? Array.from(value) : value)),
  ) as unknown;
}

function describeError(error: unknown) {
  return {
    isTyped: isEmotion2VecError(error),
    isAudioInputError: error instanceof AudioInputError,
    name: error instanceof Error ? error.name : typeof error,
    code: isEmotion2VecError(error) ? error.code : undefined,
    message: error instanceof Error ? error.message : String(error),
  };
}

/** Seeded noise at speech-like level: the long input of the responsiveness check. */
function noise(samples: number): Float32Array {
  const out = new Float32Array(samples);
  let state = 12345;
  for (let i = 0; i < samples; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = ((state / 2 ** 32) * 2 - 1) * 0.1;
  }
  return out;
}

/** Calls `work` while a 10 ms timer ticks on the page; returns the longest gap between ticks and the work's time. */
async function whileTicking(
  work: () => Promise<unknown>,
): Promise<{ longestGapMs: number; ms: number; ticks: number }> {
  const ticks: number[] = [];
  const timer = setInterval(() => ticks.push(performance.now()), 10);
  await sleep(50);
  const start = performance.now();
  ticks.push(start);
  await work();
  const end = performance.now();
  await sleep(30);
  clearInterval(timer);
  const during = [...ticks.filter((t) => t >= start && t <= end), end];
  let longestGapMs = 0;
  for (let i = 1; i < during.length; i++) longestGapMs = Math.max(longestGapMs, during[i]! - during[i - 1]!);
  return { longestGapMs, ms: end - start, ticks: during.length };
}

const scenarios = {
  /** The same calls on the page and in the worker; everything the two return, as JSON. */
  async compare(args: { model: string; audio: string }) {
    const url = new URL(args.model, location.href).href;
    const onPage = await Emotion2Vec.load(url, { backend: 'wasm', wasmPaths: WASM_PATHS });
    const inWorker = await Emotion2VecWorker.load(new Worker(WORKER_URL, { type: 'module' }), url, {
      backend: 'wasm',
      wasmPaths: WASM_PATHS,
    });
    const audio = await fetchBytes(args.audio);
    const options = {
      granularity: 'frame',
      embedding: true,
      timeline: true,
      frameScores: true,
      waveform: true,
    } as const;
    const page = plain(await onPage.predict(audio.slice(), options));
    const sent = audio.slice();
    const worker = plain(await inWorker.predict(sent, options));

    // Long audio (a 2 s full pass forces windows) with the frame rows handed to a sink on the page.
    const rows = { page: [] as number[][], worker: [] as number[][] };
    const long = {
      granularity: 'frame',
      embedding: true,
      maxFullPassSeconds: 2,
      segmentation: { maxSegmentSeconds: 2 },
    } as const;
    const pageLong = plain(
      await onPage.predict(audio.slice(), { ...long, onFrames: (r, shape) => void rows.page.push([...shape, ...r]) }),
    );
    const workerLong = plain(
      await inWorker.predict(audio.slice(), {
        ...long,
        onFrames: async (r, shape) => {
          await sleep(5); // a sink that takes its time: the worker waits for it
          rows.worker.push([...shape, ...r]);
        },
      }),
    );

    // A batch with a failing item: the error keeps its class and code across the worker boundary.
    const batchOnPage = await onPage.predictBatch([audio.slice(), PNG_HEADER.slice()]);
    const batchInWorker = await inWorker.predictBatch([audio.slice(), PNG_HEADER.slice()]);
    const thrown = await inWorker.predict(new Float32Array(10)).catch((error: unknown) => error);

    // Live input pushed in chunks: the same segments.
    const samples = (await onPage.predict(audio.slice(), { waveform: true })).waveform!;
    const segments = { page: [] as TimelineEntry[], worker: [] as TimelineEntry[] };
    const pageStream = onPage.stream({ onSegment: (s) => segments.page.push(s) });
    const workerStream = inWorker.stream({ onSegment: (s) => segments.worker.push(s) });
    for (let at = 0; at < samples.length; at += 3000) {
      await pageStream.push(samples.subarray(at, at + 3000));
      await workerStream.push(samples.subarray(at, at + 3000));
    }
    await pageStream.end();
    await workerStream.end();

    const facts = (m: Emotion2Vec | Emotion2VecWorker) => ({
      labels: m.labels,
      embeddingDim: m.embeddingDim,
      minimumSamples: m.minimumSamples,
      backend: m.backend,
      backendChoice: m.backendChoice,
    });
    const result = {
      facts: { page: facts(onPage), worker: facts(inWorker) },
      predictions: { page, worker },
      sentBytesLeft: sent.byteLength,
      long: { page: pageLong, worker: workerLong, rows },
      batch: {
        page: batchOnPage.map((item) => (item.ok ? plain(item.prediction) : describeError(item.error))),
        worker: batchInWorker.map((item) => (item.ok ? plain(item.prediction) : describeError(item.error))),
      },
      thrown: describeError(thrown),
      segments,
      streamReceived: { page: pageStream.receivedSeconds, worker: workerStream.receivedSeconds },
    };
    onPage.dispose();
    inWorker.dispose();
    const afterDispose = await inWorker.predict(new Float32Array(16000)).catch((error: unknown) => error);
    return { ...result, afterDispose: describeError(afterDispose) };
  },

  /** A long prediction on `backend`, in the worker and then on the page, while a 10 ms timer ticks on the page. */
  async responsiveness(args: { model: string; seconds: number; backend: string }) {
    const url = new URL(args.model, location.href).href;
    const audio = noise(args.seconds * 16_000);
    const options = { backend: args.backend, wasmPaths: WASM_PATHS };
    const inWorker = await Emotion2VecWorker.load(new Worker(WORKER_URL, { type: 'module' }), url, options);
    await inWorker.predict(noise(16_000)); // warm
    const worker = await whileTicking(() => inWorker.predict(audio.slice()));
    inWorker.dispose();
    const onPage = await Emotion2Vec.load(url, options);
    await onPage.predict(noise(16_000));
    const page = await whileTicking(() => onPage.predict(audio.slice()));
    onPage.dispose();
    return { worker, page };
  },

  /** A model by hub id, loaded in a worker: downloaded into the Cache API once, then read from it. */
  async loadByIdInWorker(args: { id: string; endpoint: string; audio: string }) {
    const events: string[] = [];
    const model = await Emotion2VecWorker.load(new Worker(WORKER_URL, { type: 'module' }), args.id, {
      backend: 'wasm',
      wasmPaths: WASM_PATHS,
      endpoints: { huggingface: new URL(args.endpoint, location.href).href },
      progress: (event) =>
        events.push(
          event.status === 'download' || event.status === 'cached' ? `${event.status} ${event.file}` : event.status,
        ),
    });
    const { scores } = await model.predict(await fetchBytes(args.audio));
    model.dispose();
    const cached = await (await caches.open('emotion2vec-tfjs')).keys();
    return { events: [...new Set(events)], scores, cachedUrls: cached.map((r) => new URL(r.url).pathname).sort() };
  },

  /** A worker whose script does not exist: the load fails with a typed error instead of hanging. */
  async missingWorkerScript(args: { model: string }) {
    const error = await Emotion2VecWorker.load('/worker/nowhere.js', new URL(args.model, location.href).href).catch(
      (e: unknown) => e,
    );
    return describeError(error);
  },
};

export type WorkerScenarios = typeof scenarios;
(globalThis as unknown as { scenarios: WorkerScenarios }).scenarios = scenarios;

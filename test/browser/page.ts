/**
 * What the browser test runs inside Chromium. Bundled by esbuild (with the library, through its browser
 * entry point) and loaded by page.html; each scenario returns plain JSON that the Node side checks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Emotion2Vec, isEmotion2VecError, type EmotionPrediction } from '../../src/browser.js';
import { decodeAudio } from '../../src/audio/decode.js';
import { getPlatform } from '../../src/platform.js';

/** The first bytes of a PNG image: what a user picking the wrong file hands over. */
const PNG_HEADER = new Uint8Array([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0,
  0, 0,
]);
const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';

async function fetchBytes(url: string): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function describeError(error: unknown): { name: string; code?: string; message: string } {
  if (isEmotion2VecError(error)) return { name: error.name, code: error.code, message: error.message };
  return { name: error instanceof Error ? error.name : typeof error, message: String(error) };
}

function summary(prediction: EmotionPrediction) {
  return {
    labels: prediction.labels,
    scores: prediction.scores,
    top: prediction.top,
    frames: prediction.frames,
    embeddingShape: prediction.embedding?.shape,
    embedding: prediction.embedding ? Array.from(prediction.embedding.data) : undefined,
  };
}

const scenarios = {
  platform: () => Promise.resolve(getPlatform().name),

  /** Loads a model by id from the test's hub (Hugging Face layout): the files are kept in the Cache API. */
  async loadById(args: { id: string; endpoint: string; audio: string }) {
    const events: string[] = [];
    const model = await Emotion2Vec.load(args.id, {
      backend: 'wasm',
      wasmPaths: WASM_PATHS,
      endpoints: { huggingface: new URL(args.endpoint, location.href).href },
      progress: (event) =>
        events.push(
          event.status === 'download' || event.status === 'cached' ? `${event.status} ${event.file}` : event.status,
        ),
    });
    const prediction = await model.predict(await fetchBytes(args.audio));
    model.dispose();
    const cached = await (await caches.open('emotion2vec-tfjs')).keys();
    return {
      events: [...new Set(events)],
      scores: prediction.scores,
      cachedUrls: cached.map((request) => new URL(request.url).pathname),
    };
  },

  /** Loads a checkpoint folder by URL (model.pt parsed in the page) and predicts from bytes and from a Blob. */
  async predictFromUrl(args: { model: string; audio: string }) {
    // The engine's own count: tf.memory() would start a backend before the model chooses one.
    const tensorsAtStart = tf.engine().state.numTensors;
    const model = await Emotion2Vec.load(new URL(args.model, location.href).href, {
      backend: 'wasm',
      wasmPaths: WASM_PATHS,
    });
    const audio = await fetchBytes(args.audio);
    const frames = await model.predict(audio, { granularity: 'frame', embedding: true });
    const tensorsBetweenCalls = tf.memory().numTensors;
    const fromBlob = await model.predict(new Blob([audio], { type: 'audio/wav' }), { embedding: true });
    const tensorsAfterCalls = tf.memory().numTensors;
    model.dispose();
    return {
      backend: model.backend,
      frameLevel: summary(frames),
      utterance: summary(fromBlob),
      tensorsLeakedByPredict: tensorsAfterCalls - tensorsBetweenCalls,
      tensorsLeftAfterDispose: tf.engine().state.numTensors - tensorsAtStart,
    };
  },

  /**
   * The same model on the WebGL backend (headless Chromium renders WebGL2 in software, with float32 textures).
   * The page imports no backend package: the browser entry loads WebGL itself when `auto` asks for it.
   */
  async predictOnWebgl(args: { model: string; audios: string[] }) {
    const tensorsAtStart = tf.engine().state.numTensors;
    const model = await Emotion2Vec.load(new URL(args.model, location.href).href, {
      backend: 'auto',
      wasmPaths: WASM_PATHS,
    });
    const audios = await Promise.all(args.audios.map(fetchBytes));
    const singles: ReturnType<typeof summary>[] = [];
    for (const audio of audios)
      singles.push(summary(await model.predict(audio, { granularity: 'frame', embedding: true })));
    const tensorsBetweenCalls = tf.memory().numTensors;
    // Different lengths in one padded batch: each item must equal its single result.
    const batch = await model.predictBatch(audios, { batchSize: audios.length, granularity: 'frame', embedding: true });
    const tensorsAfterCalls = tf.memory().numTensors;
    model.dispose();
    return {
      backend: model.backend,
      floatPrecision: tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') ? 32 : 16,
      singles,
      batch: batch.map((item) => (item.ok ? summary(item.prediction) : describeError(item.error))),
      tensorsLeakedByPredict: tensorsAfterCalls - tensorsBetweenCalls,
      tensorsLeftAfterDispose: tf.engine().state.numTensors - tensorsAtStart,
    };
  },

  /** Loads a model from File objects, as a file picker hands them over. */
  async predictFromFiles(args: { folder: string; names: string[]; audio: string }) {
    const files = await Promise.all(
      args.names.map(async (name) => new File([await fetchBytes(`${args.folder}${name}`)], name)),
    );
    const model = await Emotion2Vec.load(files, { backend: 'wasm', wasmPaths: WASM_PATHS });
    const audioFile = new File([await fetchBytes(args.audio)], args.audio.split('/').pop()!);
    const prediction = await model.predict(audioFile);
    model.dispose();
    return summary(prediction);
  },

  /** Decodes one file with decodeAudio, as Node would. */
  async decode(args: { url: string; fileName: string }) {
    try {
      const decoded = await decodeAudio(await fetchBytes(args.url), { fileName: args.fileName });
      return {
        ok: true as const,
        sampleRate: decoded.sampleRate,
        format: decoded.format,
        decoder: decoded.decoder,
        channels: decoded.channels.map((channel) => Array.from(channel)),
      };
    } catch (error) {
      return { ok: false as const, error: describeError(error) };
    }
  },

  /**
   * The page's own code started the wasm backend before any model was loaded, without wasmPaths (so its
   * .wasm file was not found): loading must then fail with a typed error that names the fix.
   */
  async loadAfterPageStartedWasm(args: { model: string }) {
    const started = await tf.setBackend('wasm').catch(() => false);
    try {
      const model = await Emotion2Vec.load(new URL(args.model, location.href).href, {
        backend: 'wasm',
        wasmPaths: WASM_PATHS,
      });
      model.dispose();
      return { started, ok: true as const };
    } catch (error) {
      return { started, ok: false as const, error: describeError(error) };
    }
  },

  /** predict() on input that must be refused with a typed error. */
  async predictError(args: { model: string; input: 'path' | 'png' | 'nan' }) {
    const model = await Emotion2Vec.load(new URL(args.model, location.href).href, {
      backend: 'wasm',
      wasmPaths: WASM_PATHS,
    });
    try {
      const input =
        args.input === 'path'
          ? 'speech.wav'
          : args.input === 'nan'
            ? new Float32Array(16_000).fill(Number.NaN)
            : PNG_HEADER;
      await model.predict(input);
      return { ok: true as const };
    } catch (error) {
      return { ok: false as const, error: describeError(error) };
    } finally {
      model.dispose();
    }
  },
};

export type Scenarios = typeof scenarios;
(globalThis as unknown as { scenarios: Scenarios }).scenarios = scenarios;

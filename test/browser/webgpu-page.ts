/**
 * What the WebGPU test runs inside Chromium: the adapter the browser offers, every intermediate of the encoder on
 * a chosen backend (the layer-by-layer parity of test/parity/intermediates.test.ts, in the page), and the public
 * path (`Emotion2Vec.load` with `backend: 'auto'`, which must choose WebGPU without the page importing it).
 * Arrays go back to Node as base64 float32 (a JSON array of numbers is slow), where the fixtures are.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Emotion2Vec, isEmotion2VecError, type EmotionPrediction } from '../../src/browser.js';
import { checkedOnGpu, selectBackend } from '../../src/backend/select.js';
import { decodeNpy } from '../../src/io/npy.js';
import { Emotion2VecNetwork } from '../../src/model/network.js';
import { readModelContents } from '../../src/model/sources.js';
import { normalizeWaveform } from '../../src/model/waveform.js';

const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';

async function fetchBytes(url: string): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function toBase64(values: Float32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function summary(prediction: EmotionPrediction) {
  return {
    scores: prediction.scores,
    top: prediction.top?.label ?? null,
    embeddingShape: prediction.embedding?.shape,
    embedding: prediction.embedding ? toBase64(prediction.embedding.data) : undefined,
  };
}

const scenarios = {
  /** The adapter navigator.gpu hands out, or why there is none. */
  async adapter(): Promise<{ vendor: string; architecture: string } | { none: string }> {
    const gpu = (
      navigator as {
        gpu?: { requestAdapter(): Promise<{ info?: { vendor: string; architecture: string } } | null> };
      }
    ).gpu;
    if (!gpu) return { none: 'no navigator.gpu' };
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { none: 'requestAdapter() gave null' };
    return { vendor: adapter.info?.vendor ?? '?', architecture: adapter.info?.architecture ?? '?' };
  },

  /**
   * Every intermediate of the encoder (local_encoder channels last, as the network makes it) for each reference
   * waveform (`<id>.wave16k.npy`), on `backend`.
   */
  async intermediates(args: { backend: string; model: string; files: string[]; waves: Record<string, string> }) {
    const backend = await selectBackend(args.backend, { wasmPaths: WASM_PATHS });
    const files: Record<string, Uint8Array> = {};
    for (const name of args.files) files[name] = await fetchBytes(`${args.model}${name}`);
    const contents = await readModelContents(files);
    const network = new Emotion2VecNetwork(contents.definition);
    network.params.load(contents.weights.tensors);
    const tensorsBefore = tf.memory().numTensors;
    const out: Record<string, Record<string, { shape: number[]; data: string }>> = {};
    for (const [id, url] of Object.entries(args.waves)) {
      const wave = normalizeWaveform(decodeNpy(await fetchBytes(url)).data as Float32Array);
      const input = tf.tensor2d(wave, [1, wave.length]);
      const { frames, intermediates } = network.encoder.forward(input, [wave.length], true);
      input.dispose();
      const named: Record<string, tf.Tensor> = { frames, ...intermediates };
      out[id] = {};
      for (const [name, tensor] of Object.entries(named)) {
        const squeezed = tf.squeeze(tensor, [0]);
        out[id][name] = { shape: squeezed.shape, data: toBase64((await squeezed.data()) as Float32Array) };
        squeezed.dispose();
        tensor.dispose();
      }
    }
    const leaked = tf.memory().numTensors - tensorsBefore;
    network.params.dispose();
    return { backend, leaked, out };
  },

  /**
   * The public path: `backend: 'auto'` with nothing imported by the page; each audio alone (frame embeddings) and all
   * in one padded batch; tensors counted around the calls.
   */
  async predictAuto(args: { model: string; audios: string[] }) {
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
    const batch = await model.predictBatch(audios, { batchSize: audios.length, granularity: 'frame', embedding: true });
    const tensorsAfterCalls = tf.memory().numTensors;
    model.dispose();
    return {
      backend: model.backend,
      choice: model.backendChoice,
      singles,
      batch: batch.map((item) =>
        item.ok ? summary(item.prediction) : { error: isEmotion2VecError(item.error) ? item.error.code : 'unknown' },
      ),
      tensorsLeakedByPredict: tensorsAfterCalls - tensorsBetweenCalls,
      tensorsLeftAfterDispose: tf.engine().state.numTensors - tensorsAtStart,
    };
  },

  /**
   * A tensor one page larger than the device's maxBufferSize, summed: unchecked, WebGPU answers 0 (and a console
   * warning); through checkedOnGpu, the typed error.
   */
  async oversizedTensor() {
    await selectBackend('webgpu');
    const device = (tf.backend() as unknown as { device: { limits: { maxBufferSize: number } } }).device;
    const count = device.limits.maxBufferSize / 4 + 1024;
    const sumOfOnes = async () => {
      const ones = tf.fill([count], 1);
      const total = tf.sum(ones);
      const value = (await total.data())[0]!;
      tf.dispose([ones, total]);
      return value;
    };
    const unchecked = await sumOfOnes();
    const checked = await checkedOnGpu(sumOfOnes).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({
        ok: false as const,
        name: error instanceof Error ? error.name : '',
        code: isEmotion2VecError(error) ? error.code : undefined,
        message: String((error as Error)?.message),
      }),
    );
    return { count, unchecked, checked };
  },

  /** `backend: 'auto'` in a browser without a WebGPU adapter: what it chose and why it passed WebGPU over. */
  async chooseWithoutAdapter(args: { model: string }) {
    const model = await Emotion2Vec.load(new URL(args.model, location.href).href, { backend: 'auto' });
    model.dispose();
    return model.backendChoice;
  },
};

export type WebgpuScenarios = typeof scenarios;
(globalThis as unknown as { scenarios: WebgpuScenarios }).scenarios = scenarios;

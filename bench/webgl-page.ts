/**
 * What `npm run bench:browser` (bench/webgl.ts) runs inside Chromium: the measurement of bench/run.ts (load,
 * latency per audio length, leaked tensors) on the WebGL backend. Bundled by esbuild through the library's
 * browser entry point; the Node side hands over the audio so both benchmarks time the very same samples.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Emotion2Vec } from '../src/browser.js';

export interface WebglBenchArgs {
  /** URL folder of the model files (served by the Node side). */
  folder: string;
  /** The files to fetch from it before timing the load (config.yaml, tokens.txt, the weights). */
  files: string[];
  /** One waveform per audio length, 16 kHz samples. */
  audios: { seconds: number; samples: number[] }[];
  runs: number;
}

export interface WebglBenchResult {
  backend: string;
  floatPrecision: 16 | 32;
  loadMs: number;
  /** The first predict: WebGL compiles its shaders and uploads the weights to textures here. */
  firstPredictMs: number;
  /** Median of `runs` after one warm-up, by audio length in seconds. */
  latencyMs: Record<string, number>;
  weightMiB: number;
  leaked: number;
  leftAfterDispose: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const scenarios = {
  /** The WebGL renderer, so the report says whether this was a GPU or SwiftShader. */
  renderer(): Promise<{ vendor: string; renderer: string; version: string }> {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return Promise.resolve({ vendor: 'none', renderer: 'no WebGL2 context', version: '' });
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    return Promise.resolve({
      vendor: String(gl.getParameter(info ? info.UNMASKED_VENDOR_WEBGL : gl.VENDOR)),
      renderer: String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)),
      version: String(gl.getParameter(gl.VERSION)),
    });
  },

  async bench(args: WebglBenchArgs): Promise<WebglBenchResult> {
    // Files are fetched first and loaded from memory, as bench/run.ts loads them: the load time is the model's own.
    const files: Record<string, Uint8Array> = {};
    for (const name of args.files) files[name] = await fetchBytes(`${args.folder}${name}`);
    const tensorsAtStart = tf.engine().state.numTensors;

    let start = performance.now();
    const model = await Emotion2Vec.load(files, { backend: 'webgl' });
    const loadMs = performance.now() - start;
    const weightMiB = tf.memory().numBytes / 2 ** 20;
    const before = tf.memory().numTensors;

    const audios = args.audios.map(({ seconds, samples }) => ({ seconds, samples: Float32Array.from(samples) }));
    start = performance.now();
    await model.predict(audios[0]!.samples);
    const firstPredictMs = performance.now() - start;

    const latencyMs: Record<string, number> = {};
    for (const { seconds, samples } of audios) {
      await model.predict(samples); // warm-up: this length's shaders compiled
      const times: number[] = [];
      for (let i = 0; i < args.runs; i++) {
        start = performance.now();
        await model.predict(samples);
        times.push(performance.now() - start);
      }
      latencyMs[String(seconds)] = median(times);
    }
    const leaked = tf.memory().numTensors - before;
    const backend = model.backend;
    model.dispose();
    return {
      backend,
      floatPrecision: tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') ? 32 : 16,
      loadMs,
      firstPredictMs,
      latencyMs,
      weightMiB,
      leaked,
      leftAfterDispose: tf.engine().state.numTensors - tensorsAtStart,
    };
  },
};

export type WebglScenarios = typeof scenarios;
(globalThis as unknown as { scenarios: WebglScenarios }).scenarios = scenarios;

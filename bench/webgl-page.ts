/**
 * What `npm run bench:browser` (bench/webgl.ts) runs inside Chromium: the measurement of bench/run.ts (load,
 * latency per audio length, leaked tensors) on the WebGL backend, one step per call so that the Node side can
 * report as it goes. Bundled by esbuild through the library's browser entry point; the Node side hands over
 * the audio so both benchmarks time the very same samples.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Emotion2Vec } from '../src/browser.js';

export interface LoadArgs {
  /** URL folder of the model files (served by the Node side). */
  folder: string;
  /** The files to fetch from it before timing the load (config.yaml, tokens.txt, the weights). */
  files: string[];
}

export interface Loaded {
  backend: string;
  floatPrecision: 16 | 32;
  loadMs: number;
  weightMiB: number;
}

export interface Finished {
  /** Tensors left over by all the predicts (0: none leaked). */
  leaked: number;
  /** Tensors left after dispose(), against before the load. */
  leftAfterDispose: number;
}

/** The model under test, kept between the Node side's calls so that it can report after each step. */
let current: { model: Emotion2Vec; tensorsAtStart: number; tensorsAfterLoad: number } | null = null;

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

  async load(args: LoadArgs): Promise<Loaded> {
    if (current) throw new Error('a model is already loaded: call finish() first');
    // Files are fetched first and loaded from memory, as bench/run.ts loads them: the load time is the model's own.
    const files: Record<string, Uint8Array> = {};
    for (const name of args.files) files[name] = await fetchBytes(`${args.folder}${name}`);
    const tensorsAtStart = tf.engine().state.numTensors;
    const start = performance.now();
    const model = await Emotion2Vec.load(files, { backend: 'webgl' });
    const loadMs = performance.now() - start;
    current = { model, tensorsAtStart, tensorsAfterLoad: tf.memory().numTensors };
    return {
      backend: model.backend,
      floatPrecision: tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') ? 32 : 16,
      loadMs,
      weightMiB: tf.memory().numBytes / 2 ** 20,
    };
  },

  /**
   * Times predict on one waveform: `runs` times after `warmUps` untimed calls; returns every time in ms. The
   * first call of a model compiles WebGL's shaders and uploads the weights to textures (time it with warmUps 0).
   */
  async time(args: { samples: number[]; warmUps: number; runs: number }): Promise<number[]> {
    if (!current) throw new Error('no model loaded: call load() first');
    const audio = Float32Array.from(args.samples);
    for (let i = 0; i < args.warmUps; i++) await current.model.predict(audio);
    const times: number[] = [];
    for (let i = 0; i < args.runs; i++) {
      const start = performance.now();
      await current.model.predict(audio);
      times.push(performance.now() - start);
    }
    return times;
  },

  finish(): Promise<Finished> {
    if (!current) throw new Error('no model loaded');
    const leaked = tf.memory().numTensors - current.tensorsAfterLoad;
    current.model.dispose();
    const leftAfterDispose = tf.engine().state.numTensors - current.tensorsAtStart;
    current = null;
    return Promise.resolve({ leaked, leftAfterDispose });
  },
};

export type WebglScenarios = typeof scenarios;
(globalThis as unknown as { scenarios: WebglScenarios }).scenarios = scenarios;

/** What the head browser test runs inside Chromium: the tiny model with a trained head, loaded by URL or from Files. */
import * as tf from '@tensorflow/tfjs-core';
import { Emotion2Vec, isEmotion2VecError } from '../../src/browser.js';

const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';

async function fetchBytes(url: string): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const scenarios = {
  /** Predicts `audios` with the model at `model` and the head at `head` (a URL, or File objects of its files). */
  async predictWithHead(args: { model: string; head: string; headFiles?: string[]; audios: string[] }) {
    const tensorsAtStart = tf.engine().state.numTensors;
    const head = args.headFiles
      ? await Promise.all(args.headFiles.map(async (name) => new File([await fetchBytes(`${args.head}${name}`)], name)))
      : new URL(args.head, location.href).href;
    const model = await Emotion2Vec.load(new URL(args.model, location.href).href, {
      backend: 'wasm',
      wasmPaths: WASM_PATHS,
      head,
    });
    const predictions = [];
    for (const audio of args.audios) {
      const prediction = await model.predict(await fetchBytes(audio));
      predictions.push({ labels: prediction.labels, scores: prediction.scores, top: prediction.top });
    }
    model.dispose();
    return { backend: tf.getBackend(), predictions, tensorsLeft: tf.engine().state.numTensors - tensorsAtStart };
  },

  /** Loading a head that does not fit the model must fail with its typed error. */
  async loadMismatchedHead(args: { model: string; head: string }) {
    try {
      const model = await Emotion2Vec.load(new URL(args.model, location.href).href, {
        backend: 'wasm',
        wasmPaths: WASM_PATHS,
        head: new URL(args.head, location.href).href,
      });
      model.dispose();
      return { ok: true as const };
    } catch (error) {
      return {
        ok: false as const,
        name: (error as Error).name,
        code: isEmotion2VecError(error) ? error.code : undefined,
        message: String((error as Error).message),
      };
    }
  },
};

export type HeadScenarios = typeof scenarios;
(globalThis as unknown as { scenarios: HeadScenarios }).scenarios = scenarios;

/**
 * The seed's "预热机制": one inference before serving (the REST server, a queue worker), so the first real request is not
 * the slow one.
 */
import { MODEL_SAMPLE_RATE } from '../audio/frame-geometry.js';
import type { Emotion2Vec } from './emotion2vec.js';

/**
 * Runs the model once on a second of quiet noise (kernels compiled, wasm/WebGL programs built); returns the ms it took.
 */
export async function warmUp(model: Pick<Emotion2Vec, 'predict'>): Promise<number> {
  const samples = new Float32Array(MODEL_SAMPLE_RATE);
  // Deterministic low-level noise: some backends take shortcuts on all-zero input.
  for (let i = 0; i < samples.length; i++) samples[i] = 0.01 * Math.sin(i * 0.37) * Math.sin(i * 0.011);
  const start = performance.now();
  await model.predict({ channels: [samples], sampleRate: MODEL_SAMPLE_RATE });
  return performance.now() - start;
}

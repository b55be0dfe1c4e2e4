// Browser: a file picker and a model served from a URL. The browser entry loads WebGL by itself; serve
// @tensorflow/tfjs-backend-wasm/dist/*.wasm and pass their folder as `wasmPaths` for the wasm fallback.
import { Emotion2Vec, type EmotionPrediction } from 'emotion2vec-tfjs';

export async function analyzePickedFile(input: HTMLInputElement, modelUrl: string): Promise<EmotionPrediction | null> {
  const file = input.files?.[0];
  if (!file) return null;
  const model = await Emotion2Vec.load(modelUrl, { wasmPaths: '/wasm/' }); // a folder URL, or its model.json
  try {
    const result = await model.predict(file); // File, Blob, bytes or Float32Array samples
    console.log(model.backend, result.top?.label ?? 'no labels');
    return result;
  } finally {
    model.dispose();
  }
}

// Node: load a checkpoint (or converted) folder and predict from files. Compiles under `strict`.
import { Emotion2Vec, isEmotion2VecError } from 'emotion2vec-tfjs';

export async function main(modelFolder: string, files: string[]): Promise<void> {
  const model = await Emotion2Vec.load(modelFolder); // backend 'auto': tfjs-node when installed, else wasm
  try {
    const result = await model.predict(files[0]!);
    // `top` is null for a model without labels (no tokens.txt): embeddings only.
    console.log(
      result.top ? `${result.top.label} ${result.top.score.toFixed(2)}` : 'no labels',
      result.quality.durationSeconds,
    );

    const frames = await model.predict(files[0]!, { granularity: 'frame', embedding: true });
    // `embedding` is present only when `embedding: true` was asked for.
    if (frames.embedding) console.log(frames.embedding.shape); // [T, D]

    for (const [i, item] of (await model.predictBatch(files)).entries()) {
      if (item.ok) console.log(files[i], item.prediction.top?.label ?? '(no labels)', item.prediction.scores);
      else console.error(files[i], item.error.code, item.error.message);
    }
  } catch (error) {
    if (isEmotion2VecError(error)) console.error(error.code, error.message);
    else throw error;
  } finally {
    model.dispose();
  }
}

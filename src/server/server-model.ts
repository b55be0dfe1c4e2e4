/**
 * What the server needs of a model: its facts for `/health` and `/labels`, and one prediction per upload. A loaded
 * `Emotion2Vec` is one (it then runs on the server's own thread); `emotion2vec serve` uses the model in a worker
 * thread (inference-thread.ts), so that a long inference never holds up other requests.
 */
import type { AudioInput } from '../audio/prepare.js';
import type { BatchItemResult, BatchPredictOptions, EmotionPrediction, PredictOptions } from '../model/emotion2vec.js';

export interface ServerModel {
  readonly backend: string;
  /** Labels in the model's order. */
  readonly labels: string[];
  readonly embeddingDim: number;
  /** Predicts one upload (its name is the one messages use). */
  predict(audio: File, options?: PredictOptions): Promise<EmotionPrediction>;
  /** Predicts inputs as `Emotion2Vec.predictBatch` does: `--save-outputs` writes its folders through it. */
  predictBatch(audios: readonly AudioInput[], options?: BatchPredictOptions): Promise<BatchItemResult[]>;
}

/** One view of a result for the assistant helpers: a prediction from the library or a record from the server/CLI. */
import type { QualityReport } from '../audio/quality.js';
import { UsageError, describeValue } from '../errors.js';
import type { EmotionPrediction } from '../model/emotion2vec.js';
import { labelNames, type ResultRecord } from '../results/record.js';

/** What the helpers read from a result. */
export interface ResultSummary {
  /** English name of the top label ("happy", "unknown"), or null for an embedding-only model. */
  readonly emotion: string | null;
  readonly confidence: number | null;
  /** English label names and their scores, in tokens.txt order. */
  readonly labels: readonly string[];
  readonly scores: readonly number[];
  readonly quality: QualityReport;
  /** The utterance embedding, when the result has one. */
  readonly embedding: ArrayLike<number> | null;
}

/** Either result shape the project produces: `model.predict(...)` or a result.json / server record. */
export type AssistantInput = EmotionPrediction | ResultRecord;

function isRecord(result: AssistantInput): result is ResultRecord {
  return 'emotion' in result && 'confidence' in result;
}

/** Reads a prediction or a result record into one shape. */
export function summarize(result: AssistantInput): ResultSummary {
  if (typeof result !== 'object' || result === null || !('scores' in result) || !('quality' in result)) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `Expected a prediction (model.predict) or a result record (result.json, POST /predict_emotion); got ${describeValue(result)}.`,
    );
  }
  if (isRecord(result)) {
    const embedding =
      result.embedding?.granularity === 'utterance' && result.embedding.data ? result.embedding.data : null;
    return {
      emotion: result.emotion,
      confidence: result.confidence,
      labels: result.scores.map((s) => s.en),
      scores: result.scores.map((s) => s.score),
      quality: result.quality,
      embedding,
    };
  }
  return {
    emotion: result.top ? labelNames(result.top.label).en : null,
    confidence: result.top?.score ?? null,
    labels: result.labels.map((label) => labelNames(label).en),
    scores: result.scores,
    quality: result.quality,
    embedding: result.embedding?.granularity === 'utterance' ? result.embedding.data : null,
  };
}

/** One view of a result for the assistant helpers: a prediction from the library or a record from the server/CLI. */
import type { QualityReport } from '../audio/quality.js';
import { UsageError, describeValue } from '../errors.js';
import type { EmotionPrediction } from '../model/emotion2vec.js';
import { labelKeys } from '../model/label-names.js';
import type { ResultRecord } from '../results/record.js';

/** What the helpers read from a result. */
export interface ResultSummary {
  /** Name of the top label ("happy", "unknown": a record's `emotion`), or null for an embedding-only model. */
  readonly emotion: string | null;
  readonly confidence: number | null;
  /** Label names (a record's score keys) and their scores, in tokens.txt order. */
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
    if (!Array.isArray(result.labels) || Array.isArray(result.scores)) {
      throw new UsageError(
        'INVALID_ARGUMENT',
        'This result record has the layout of version 0.1 (scores as a list, no labels): analyse the audio again with this version.',
      );
    }
    const embedding =
      result.embedding?.granularity === 'utterance' && result.embedding.data ? result.embedding.data : null;
    return {
      emotion: result.emotion,
      confidence: result.confidence,
      labels: result.labels.map((label) => label.name),
      scores: result.labels.map((label) => result.scores[label.name] ?? 0),
      quality: result.quality,
      embedding,
    };
  }
  const names = labelKeys(result.labels);
  return {
    emotion: result.top ? (names[result.top.index] ?? null) : null,
    confidence: result.top?.score ?? null,
    labels: names,
    scores: result.scores,
    quality: result.quality,
    embedding: result.embedding?.granularity === 'utterance' ? result.embedding.data : null,
  };
}

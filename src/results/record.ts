/**
 * The one result layout: what `result.json` holds, what `analyze --json` prints a line of, what the REST server
 * answers and what queue workers write. Every surface builds its record here, so they never drift apart.
 */
import type { EmotionPrediction, Granularity } from '../model/emotion2vec.js';
import type { TimelineEntry } from '../model/segment-runner.js';
import { isEmotion2VecError } from '../errors.js';

/** A label split into its names: tokens.txt writes "开心/happy"; `<unk>` is the "unknown" class. */
export interface LabelNames {
  /** The label exactly as tokens.txt has it. */
  readonly label: string;
  /** English name ("happy"). */
  readonly en: string;
  /** Chinese name ("开心"), or null when tokens.txt gives none. */
  readonly zh: string | null;
}

/** One label's score in a result. */
export interface LabelScore extends LabelNames {
  readonly score: number;
}

/** Where an embedding went: a file beside result.json, or inline numbers (JSON output without a folder). */
export interface EmbeddingRecord {
  readonly shape: number[];
  readonly granularity: Granularity;
  readonly file?: string;
  readonly data?: number[];
}

/** A successful result, as written to result.json. */
export interface ResultRecord {
  /** The input as the user named it (path, URL, upload name). */
  readonly input: string;
  /** Its key: the wav.scp key, or the output folder name. */
  readonly key: string;
  /** English name of the top label, or null for an embedding-only model. */
  readonly emotion: string | null;
  /** Chinese name of the top label. */
  readonly emotion_zh: string | null;
  /** Score of the top label. */
  readonly confidence: number | null;
  /** Every label with its score, in tokens.txt order. */
  readonly scores: LabelScore[];
  readonly granularity: Granularity;
  /** Seconds of audio analysed. */
  readonly duration: number;
  /** 20 ms frames the encoder produced. */
  readonly frames: number;
  readonly quality: EmotionPrediction['quality'];
  /** Model id or folder the result came from. */
  readonly model: string;
  /** ISO 8601 time the result was made. */
  readonly timestamp: string;
  readonly embedding?: EmbeddingRecord;
  /**
   * Segments with their own scores, when a timeline was asked for and no folder holds timeline.json (inline JSON
   * output).
   */
  readonly timeline?: TimelineEntry[];
  /** The other files of its result folder (embedding.npy, processed_audio.wav...), set by writeResultFolder. */
  readonly files?: string[];
}

/** A failed input: its typed error's code and message. */
export interface ErrorRecord {
  readonly input: string;
  readonly key: string;
  readonly error: { readonly code: string; readonly message: string };
}

/** Names of a tokens.txt label: "中立/neutral" -> zh 中立, en neutral; "<unk>" -> unknown. */
export function labelNames(label: string): LabelNames {
  if (label === '<unk>') return { label, en: 'unknown', zh: null };
  const slash = label.indexOf('/');
  return slash < 0 ? { label, en: label, zh: null } : { label, zh: label.slice(0, slash), en: label.slice(slash + 1) };
}

export interface RecordContext {
  readonly input: string;
  readonly key: string;
  readonly model: string;
  readonly granularity: Granularity;
  /** Defaults to now. */
  readonly timestamp?: Date;
  readonly embedding?: EmbeddingRecord;
}

/** Builds the result record of one prediction. */
export function toResultRecord(prediction: EmotionPrediction, context: RecordContext): ResultRecord {
  const top = prediction.top ? labelNames(prediction.top.label) : null;
  return {
    input: context.input,
    key: context.key,
    emotion: top?.en ?? null,
    emotion_zh: top?.zh ?? null,
    confidence: prediction.top?.score ?? null,
    scores: prediction.labels.map((label, i) => ({ ...labelNames(label), score: prediction.scores[i]! })),
    granularity: context.granularity,
    duration: prediction.durationSeconds,
    frames: prediction.frames,
    quality: prediction.quality,
    model: context.model,
    timestamp: (context.timestamp ?? new Date()).toISOString(),
    ...(context.embedding ? { embedding: context.embedding } : {}),
  };
}

/**
 * The record of a prediction answered without a result folder (the server's response, `analyze --no-output
 * --json`, the page): the embedding's numbers (`embedding.data`) and the timeline sit in the record itself.
 */
export function toInlineRecord(prediction: EmotionPrediction, context: Omit<RecordContext, 'embedding'>): ResultRecord {
  const embedding = prediction.embedding;
  const inline = embedding && {
    shape: [...embedding.shape],
    granularity: embedding.granularity,
    data: Array.from(embedding.data),
  };
  const record = toResultRecord(prediction, { ...context, ...(inline ? { embedding: inline } : {}) });
  return prediction.timeline ? { ...record, timeline: prediction.timeline } : record;
}

/** The record of an input that failed; ours keep their code, anything else is INTERNAL. */
export function toErrorRecord(error: unknown, context: { readonly input: string; readonly key: string }): ErrorRecord {
  const { code, message } = isEmotion2VecError(error)
    ? error.toJSON()
    : { code: 'INTERNAL', message: (error as Error)?.message ?? String(error) };
  return { input: context.input, key: context.key, error: { code, message } };
}

/**
 * The one result layout: what `result.json` holds, what `analyze --json` prints a line of, what the REST server
 * answers, what queue workers write and what the page downloads. Every surface builds its record here, so they
 * never drift apart; schema/result.schema.json describes it (and the tests hold every surface to it).
 *
 * It starts with the fields of the Emotion2Vec+ Large WebUI's result.json, under the same names and in the same
 * form (`emotion`, `emotion_zh`, `confidence`, `scores` keyed by label, `granularity`, `timestamp`), then the
 * fields its assistant code reads (`fallback_action`, `suggested_response`, and why: `fallback_reason`), then
 * what this project adds, each in a field of its own.
 */
import type { QualityReport } from '../audio/quality.js';
import { isEmotion2VecError } from '../errors.js';
import type { EmotionPrediction, Granularity } from '../model/emotion2vec.js';
import { labelKeys, labelNames, type LabelNames } from '../model/label-names.js';
import type { TimelineEntry } from '../model/segment-runner.js';
import { fallbackDecision, type FallbackAction, type FallbackOptions, type FallbackReason } from './fallback.js';
import { inlineFrameSeries, type FrameSeries, type FrameSeriesFiles } from './frame-series.js';
import { speechTimeline } from './timeline.js';

export { labelKeys, labelNames, type LabelNames } from '../model/label-names.js';

/** A label of a result: its names, and the name results use for it (the key of its score in `scores`). */
export interface LabelRecord extends LabelNames {
  /** "happy", "unknown" for `<unk>` (label-names.ts). */
  readonly name: string;
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
  /** Name of the top label ("happy"; "unknown" for `<unk>`), or null for an embedding-only model. */
  readonly emotion: string | null;
  /** Chinese name of the top label ("开心"; "未知" for unknown), or null when the label has none. */
  readonly emotion_zh: string | null;
  /** Score of the top label. */
  readonly confidence: number | null;
  /** Every label's score, keyed by its name, in tokens.txt order (empty for an embedding-only model). */
  readonly scores: Readonly<Record<string, number>>;
  readonly granularity: Granularity;
  /** Local time the result was made, as the WebUI writes it: "2026-01-02 03:04:05". */
  readonly timestamp: string;
  /** The fallback policy's decision (src/results/fallback.ts): act on the emotion, or ask again. */
  readonly fallback_action: FallbackAction;
  /** What to say when asking again (Chinese by default); null when the assistant may respond. */
  readonly suggested_response: string | null;
  /** Why: the first problem found (audio before label), or 'confident'. */
  readonly fallback_reason: FallbackReason;
  /** The input as the user named it (path, URL, upload name). */
  readonly input: string;
  /** Its key: the wav.scp key, or the output folder name. */
  readonly key: string;
  /** Every label with its names, in tokens.txt order: the keys of `scores` are their `name`s. */
  readonly labels: LabelRecord[];
  /** Seconds of audio analysed. */
  readonly duration: number;
  /** 20 ms frames the encoder produced. */
  readonly frames: number;
  readonly quality: QualityReport;
  /** Model id or folder the result came from. */
  readonly model: string;
  /** The same moment as `timestamp`, in ISO 8601 UTC ("2026-01-02T03:04:05.000Z"). */
  readonly timestamp_iso: string;
  readonly embedding?: EmbeddingRecord;
  /**
   * With granularity 'frame': every label's score per frame over time (frame-series.ts); inline in an answer
   * without a folder, else the files that hold it.
   */
  readonly frame_scores?: FrameSeries | FrameSeriesFiles;
  /**
   * Segments with their own scores (non-speech ones without an emotion), when a timeline was asked for and no
   * folder holds timeline.json (inline JSON output).
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

export interface RecordContext {
  readonly input: string;
  readonly key: string;
  readonly model: string;
  readonly granularity: Granularity;
  /** Defaults to now. */
  readonly timestamp?: Date;
  readonly embedding?: EmbeddingRecord;
  /** The frame series field (a folder's files, see frame-series.ts); none when absent. */
  readonly frameScores?: FrameSeriesFiles;
  /** The fallback policy's thresholds and reply language (default: its defaults, replies in Chinese). */
  readonly fallback?: FallbackOptions;
}

/** Builds the result record of one prediction. */
export function toResultRecord(prediction: EmotionPrediction, context: RecordContext): ResultRecord {
  const top = prediction.top ? labelNames(prediction.top.label) : null;
  const names = labelKeys(prediction.labels);
  const moment = context.timestamp ?? new Date();
  const emotion = prediction.top ? names[prediction.top.index]! : null;
  const confidence = prediction.top?.score ?? null;
  const decision = fallbackDecision({ emotion, confidence, quality: prediction.quality }, context.fallback);
  return {
    emotion,
    emotion_zh: top?.zh ?? null,
    confidence,
    scores: Object.fromEntries(names.map((name, i) => [name, prediction.scores[i]!])),
    granularity: context.granularity,
    timestamp: localTimestamp(moment),
    fallback_action: decision.fallback_action,
    suggested_response: decision.suggested_response,
    fallback_reason: decision.fallback_reason,
    input: context.input,
    key: context.key,
    labels: prediction.labels.map((label, i) => ({ name: names[i]!, ...labelNames(label) })),
    duration: prediction.durationSeconds,
    frames: prediction.frames,
    quality: prediction.quality,
    model: context.model,
    timestamp_iso: moment.toISOString(),
    ...(context.embedding ? { embedding: context.embedding } : {}),
    ...(context.frameScores ? { frame_scores: context.frameScores } : {}),
  };
}

/** How an answer without a folder carries what a folder would hold in files. */
export interface InlineRecordContext extends Omit<RecordContext, 'embedding' | 'frameScores'> {
  /** The whole frame series instead of at most MAX_INLINE_FRAME_ROWS rows (frame-series.ts). */
  readonly fullFrameSeries?: boolean;
}

/**
 * The record of a prediction answered without a result folder (the server's response, `analyze --no-output
 * --json`, the page): the embedding's numbers (`embedding.data`), the frame series and the timeline sit in the
 * record itself.
 */
export function toInlineRecord(prediction: EmotionPrediction, context: InlineRecordContext): ResultRecord {
  const { fullFrameSeries, ...recordContext } = context;
  const embedding = prediction.embedding;
  const inline = embedding && {
    shape: [...embedding.shape],
    granularity: embedding.granularity,
    data: Array.from(embedding.data),
  };
  const record = toResultRecord(prediction, { ...recordContext, ...(inline ? { embedding: inline } : {}) });
  return {
    ...record,
    ...(prediction.frameScores
      ? { frame_scores: inlineFrameSeries(prediction.frameScores, fullFrameSeries === true) }
      : {}),
    ...(prediction.timeline ? { timeline: speechTimeline(prediction.timeline) } : {}),
  };
}

/** "YYYY-MM-DD HH:MM:SS" in local time, the WebUI's `timestamp` (Python's `datetime.now().strftime(...)`). */
export function localTimestamp(moment: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const date = `${moment.getFullYear()}-${two(moment.getMonth() + 1)}-${two(moment.getDate())}`;
  return `${date} ${two(moment.getHours())}:${two(moment.getMinutes())}:${two(moment.getSeconds())}`;
}

/** The record of an input that failed; ours keep their code, anything else is INTERNAL. */
export function toErrorRecord(error: unknown, context: { readonly input: string; readonly key: string }): ErrorRecord {
  const { code, message } = isEmotion2VecError(error)
    ? error.toJSON()
    : { code: 'INTERNAL', message: (error as Error)?.message ?? String(error) };
  return { input: context.input, key: context.key, error: { code, message } };
}

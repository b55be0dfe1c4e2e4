/**
 * When a voice assistant should not act on the emotion it was given: the seed's fallback for `unknown` /
 * `other` labels, low confidence and poor audio. It answers with an action, the reason, and a reply to say.
 */
import { QUALITY_THRESHOLDS } from '../audio/quality.js';
import { summarize, type AssistantInput } from './summary.js';

/** Why an assistant should ask again (or 'confident' when it may respond). Audio problems come first. */
export type FallbackReason =
  'too_short' | 'too_quiet' | 'clipped' | 'noisy' | 'no_labels' | 'unknown' | 'other' | 'low_confidence' | 'confident';

/** The limits behind each reason. */
export interface FallbackThresholds {
  /** A top score below this is `low_confidence` (default 0.5). */
  readonly minConfidence: number;
  /** Shorter audio is `too_short` (default 1 s, as the quality report's TOO_SHORT). */
  readonly minDurationSeconds: number;
  /** Quieter audio (overall RMS, dBFS) is `too_quiet` (default −40 dBFS, as TOO_QUIET). */
  readonly minRmsDbfs: number;
  /** More clipped samples than this fraction is `clipped` (default 0.001, as CLIPPED). */
  readonly maxClippedFraction: number;
  /** A lower signal-to-noise estimate (quality.snrDb) is `noisy` (default 10 dB). */
  readonly minSnrDb: number;
}

export const DEFAULT_FALLBACK_THRESHOLDS: FallbackThresholds = Object.freeze({
  minConfidence: 0.5,
  minDurationSeconds: QUALITY_THRESHOLDS.shortSeconds,
  minRmsDbfs: 20 * Math.log10(QUALITY_THRESHOLDS.quietRms),
  maxClippedFraction: QUALITY_THRESHOLDS.clippedFraction,
  minSnrDb: 10,
});

/** Suggested replies, one per reason that asks for clarification. */
export const DEFAULT_REPLIES: Readonly<Record<Exclude<FallbackReason, 'confident'>, string>> = Object.freeze({
  too_short: 'That was very short. Could you say a little more?',
  too_quiet: 'I could barely hear you. Could you speak a bit louder or move closer to the microphone?',
  clipped: 'Your voice came through distorted. Could you move back from the microphone a little and say that again?',
  noisy: "There's a lot of background noise. Could you say that again somewhere quieter?",
  no_labels: 'I heard you, but I cannot tell emotions with this model. How are you feeling?',
  unknown: "I'm not sure how you feel about this. Could you tell me a bit more?",
  other: "I'm not sure how you feel about this. Could you tell me a bit more?",
  low_confidence: "I'm not quite sure I understood how you feel. Could you tell me a bit more?",
});

export interface FallbackOptions extends Partial<FallbackThresholds> {
  /** Replies to use instead of {@link DEFAULT_REPLIES}, by reason. */
  readonly replies?: Partial<Record<Exclude<FallbackReason, 'confident'>, string>>;
}

/** What to do with one result. */
export interface FallbackDecision {
  readonly action: 'respond' | 'request_clarification';
  readonly reason: FallbackReason;
  /** The top emotion (English name) and its score, as the result gave them. */
  readonly emotion: string | null;
  readonly confidence: number | null;
  /** What to say when asking for clarification; null when the assistant may respond. */
  readonly suggestedReply: string | null;
}

/** The first problem found, checking the audio before the label (a label from bad audio means little). */
function findReason(
  result: ReturnType<typeof summarize>,
  limits: FallbackThresholds,
): Exclude<FallbackReason, 'confident'> | null {
  const { quality } = result;
  if (quality.durationSeconds < limits.minDurationSeconds) return 'too_short';
  if (quality.rmsDbfs < limits.minRmsDbfs) return 'too_quiet';
  if (quality.clippedFraction > limits.maxClippedFraction) return 'clipped';
  if (quality.snrDb !== null && quality.snrDb !== undefined && quality.snrDb < limits.minSnrDb) return 'noisy';
  if (result.emotion === null || result.confidence === null) return 'no_labels';
  if (result.emotion === 'unknown') return 'unknown';
  if (result.emotion === 'other') return 'other';
  if (result.confidence < limits.minConfidence) return 'low_confidence';
  return null;
}

/**
 * Decides whether an assistant can respond to a result's emotion or should ask the user again.
 *
 * @param result A prediction (`model.predict`) or a result record (result.json, `POST /predict_emotion`).
 * @param options Thresholds (any subset of {@link DEFAULT_FALLBACK_THRESHOLDS}) and replies to override.
 * @throws UsageError `INVALID_ARGUMENT` when `result` is neither shape.
 */
export function decideFallback(result: AssistantInput, options: FallbackOptions = {}): FallbackDecision {
  const summary = summarize(result);
  const { replies, ...thresholds } = options;
  const limits: FallbackThresholds = { ...DEFAULT_FALLBACK_THRESHOLDS, ...definedOnly(thresholds) };
  const reason = findReason(summary, limits);
  const base = { emotion: summary.emotion, confidence: summary.confidence };
  if (reason === null) return { action: 'respond', reason: 'confident', ...base, suggestedReply: null };
  return {
    action: 'request_clarification',
    reason,
    ...base,
    suggestedReply: replies?.[reason] ?? DEFAULT_REPLIES[reason],
  };
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

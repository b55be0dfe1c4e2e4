/**
 * When a voice assistant should not act on the emotion it was given: the seed's fallback for `unknown` /
 * `other` labels, low confidence and poor audio, on any result. The policy itself (thresholds, replies in Chinese
 * and English) is src/results/fallback.ts, the one every result record carries the decision of, under the same
 * field names.
 */
import { fallbackDecision, type FallbackDecision, type FallbackOptions } from '../results/fallback.js';
import { summarize, type AssistantInput } from './summary.js';

export {
  DEFAULT_FALLBACK_THRESHOLDS,
  DEFAULT_REPLIES,
  REPLY_LANGUAGES,
  type ClarificationReason,
  type FallbackAction,
  type FallbackDecision,
  type FallbackOptions,
  type FallbackReason,
  type FallbackThresholds,
  type ReplyLanguage,
} from '../results/fallback.js';

/**
 * Decides whether an assistant can respond to a result's emotion or should ask the user again: `{ fallback_action,
 * fallback_reason, suggested_response, emotion, confidence }`, the fields a result record carries.
 *
 * @param result A prediction (`model.predict`) or a result record (result.json, `POST /predict_emotion`).
 * @param options Thresholds (any subset of `DEFAULT_FALLBACK_THRESHOLDS`), the reply language ('zh', the
 *   default, or 'en') and replies to override.
 * @throws UsageError `INVALID_ARGUMENT` when `result` is neither shape, or for an unknown language.
 */
export function decideFallback(result: AssistantInput, options: FallbackOptions = {}): FallbackDecision {
  return fallbackDecision(summarize(result), options);
}

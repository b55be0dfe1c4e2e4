/** Helpers for voice assistants built on the emotion results: fallback decisions and a conversation tracker. */
export {
  decideFallback,
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
} from './fallback.js';
export { EmotionTracker, type LabelTrend, type TrackerOptions, type TrackerReport } from './tracker.js';
export { summarize, type AssistantInput, type ResultSummary } from './summary.js';

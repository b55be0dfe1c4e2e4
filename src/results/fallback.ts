/**
 * The fallback policy: when a voice assistant should not act on the emotion it was given (`unknown` / `other`
 * labels, low confidence, poor audio) and what it should say instead. Every result record carries its decision
 * (`fallback_action`, `fallback_reason`, `suggested_response`, the fields the WebUI's assistant code reads), and
 * `decideFallback` (src/assistant) applies the same policy to a prediction or a record, with the same field names.
 * It lives here, with the record, because the record is built from it.
 */
import type { QualityReport } from '../audio/quality.js';
import { QUALITY_THRESHOLDS } from '../audio/quality.js';
import { UsageError } from '../errors.js';

/** 'respond': act on the emotion; 'request_clarification': ask the user again (say `suggested_response`). */
export type FallbackAction = 'respond' | 'request_clarification';

/** Why an assistant should ask again (or 'confident' when it may respond). Audio problems come first. */
export type FallbackReason =
  'too_short' | 'too_quiet' | 'clipped' | 'noisy' | 'no_labels' | 'unknown' | 'other' | 'low_confidence' | 'confident';

/** The reasons that ask for clarification, each with its reply. */
export type ClarificationReason = Exclude<FallbackReason, 'confident'>;

/** The languages the default replies are written in: Chinese (the default, as the WebUI's users speak it), English. */
export type ReplyLanguage = 'zh' | 'en';

/** The languages replies are written in, the default first. */
export const REPLY_LANGUAGES: readonly ReplyLanguage[] = ['zh', 'en'];

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

/** Suggested replies, one per reason that asks for clarification, in each language. */
export const DEFAULT_REPLIES: Readonly<Record<ReplyLanguage, Readonly<Record<ClarificationReason, string>>>> =
  Object.freeze({
    zh: Object.freeze({
      too_short: '您说得有点短，能再多说一点吗？',
      too_quiet: '我几乎听不清，您能大声一点，或者离麦克风近一些吗？',
      clipped: '您的声音有些失真，能离麦克风稍远一点再说一遍吗？',
      noisy: '周围有点吵，您能到安静一些的地方再说一遍吗？',
      no_labels: '我听到了，但这个模型判断不了情绪。您现在感觉怎么样？',
      unknown: '抱歉我没太听清，您能再说一遍吗？',
      other: '我不太确定您的感受，能再多和我说一点吗？',
      low_confidence: '我不太确定是否理解了您的感受，能再多和我说一点吗？',
    }),
    en: Object.freeze({
      too_short: 'That was very short. Could you say a little more?',
      too_quiet: 'I could barely hear you. Could you speak a bit louder or move closer to the microphone?',
      clipped:
        'Your voice came through distorted. Could you move back from the microphone a little and say that again?',
      noisy: "There's a lot of background noise. Could you say that again somewhere quieter?",
      no_labels: 'I heard you, but I cannot tell emotions with this model. How are you feeling?',
      unknown: "Sorry, I didn't quite catch that. Could you say it again?",
      other: "I'm not sure how you feel about this. Could you tell me a bit more?",
      low_confidence: "I'm not quite sure I understood how you feel. Could you tell me a bit more?",
    }),
  });

export interface FallbackOptions extends Partial<FallbackThresholds> {
  /** Language of the default replies (default 'zh'). */
  readonly language?: ReplyLanguage;
  /** Replies to use instead of the defaults, by reason (in whatever language you write them). */
  readonly replies?: Partial<Record<ClarificationReason, string>>;
}

/** What to do with one result: the fields a result record carries under the same names, and its emotion. */
export interface FallbackDecision {
  readonly fallback_action: FallbackAction;
  readonly fallback_reason: FallbackReason;
  /** What to say when asking for clarification; null when the assistant may respond. */
  readonly suggested_response: string | null;
  /** The top emotion (the record's `emotion`: "happy", "unknown") and its score, as the result gave them. */
  readonly emotion: string | null;
  readonly confidence: number | null;
}

/** What the policy reads of a result. */
export interface FallbackInput {
  readonly emotion: string | null;
  readonly confidence: number | null;
  readonly quality: Pick<QualityReport, 'durationSeconds' | 'rmsDbfs' | 'clippedFraction' | 'snrDb'>;
}

/**
 * The decision for one result: the first problem found, checking the audio before the label (a label from bad
 * audio means little).
 * @throws UsageError `INVALID_ARGUMENT` for a language that has no replies.
 */
export function fallbackDecision(result: FallbackInput, options: FallbackOptions = {}): FallbackDecision {
  const { replies, language = 'zh', ...thresholds } = options;
  if (!REPLY_LANGUAGES.includes(language)) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `The reply language must be ${REPLY_LANGUAGES.map((l) => `'${l}'`).join(' or ')}; got ${JSON.stringify(language)?.slice(0, 40)}.`,
    );
  }
  const limits: FallbackThresholds = { ...DEFAULT_FALLBACK_THRESHOLDS, ...definedOnly(thresholds) };
  const reason = findReason(result, limits);
  const emotion = { emotion: result.emotion, confidence: result.confidence };
  if (reason === null)
    return { fallback_action: 'respond', fallback_reason: 'confident', suggested_response: null, ...emotion };
  return {
    fallback_action: 'request_clarification',
    fallback_reason: reason,
    suggested_response: replies?.[reason] ?? DEFAULT_REPLIES[language][reason],
    ...emotion,
  };
}

function findReason(result: FallbackInput, limits: FallbackThresholds): ClarificationReason | null {
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

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

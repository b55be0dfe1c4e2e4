/**
 * `EmotionTracker`: the emotions of a conversation, turn by turn. It keeps the last N results and reports the
 * dominant emotion, the trend (how each label's score moves over the window), from the scores alone, and the
 * volatility index: the mean L2 distance between consecutive utterance embeddings, i.e. how much the voice changes
 * from turn to turn, which needs each result's embedding.
 */
import { UsageError } from '../errors.js';
import { summarize, type AssistantInput, type ResultSummary } from './summary.js';

export interface TrackerOptions {
  /** Results kept (default 10). */
  readonly window?: number;
  /** Volatility above this calls `onVolatile` (default Infinity: never). */
  readonly volatilityThreshold?: number;
  /**
   * Called when the volatility index rises above the threshold (once per crossing: it fires again only after
   * the index fell back to or below the threshold).
   */
  readonly onVolatile?: (report: TrackerReport) => void;
}

/** How one label's score moves over the window. */
export interface LabelTrend {
  /** English label name. */
  readonly label: string;
  /** Mean score over the window. */
  readonly mean: number;
  /** Least-squares slope of the score per result (positive: rising). */
  readonly slope: number;
}

export interface TrackerReport {
  /** Results in the window. */
  readonly count: number;
  /** The latest result's top emotion (English name). */
  readonly latest: string | null;
  /** The label with the highest mean score over the window. */
  readonly dominant: string | null;
  /** The label whose score rises fastest, and the one that falls fastest (null with fewer than 2 results). */
  readonly rising: string | null;
  readonly falling: string | null;
  /** Every label's mean and slope, in label order. */
  readonly trend: readonly LabelTrend[];
  /**
   * Mean L2 distance between consecutive utterance embeddings (pairs of consecutive results that both have one);
   * null with fewer than 2 results, or when no such pair is in the window.
   */
  readonly volatility: number | null;
  /**
   * Why `volatility` leaves results out, or is null though 2 results are kept: some had no utterance embedding
   * (predict with `{ embedding: true }`, or send embedding=true to the server). Null when nothing is missing.
   */
  readonly volatilityNote: string | null;
}

const VOLATILITY_NEEDS_EMBEDDINGS =
  'volatility needs the utterance embedding of each result: predict with { embedding: true } (granularity "utterance"), or send embedding=true to the server';

function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum);
}

/** Least-squares slope of `values` against their index. */
function slope(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((a, b) => a + b, 0) / n;
  let numerator = 0;
  let denominator = 0;
  values.forEach((y, x) => {
    numerator += (x - meanX) * (y - meanY);
    denominator += (x - meanX) ** 2;
  });
  return numerator / denominator;
}

export class EmotionTracker {
  private readonly results: ResultSummary[] = [];
  private readonly window: number;
  private readonly threshold: number;
  private over = false;

  constructor(private readonly options: TrackerOptions = {}) {
    this.window = options.window ?? 10;
    this.threshold = options.volatilityThreshold ?? Number.POSITIVE_INFINITY;
    if (!Number.isInteger(this.window) || this.window < 2)
      throw new UsageError(
        'INVALID_ARGUMENT',
        `EmotionTracker window must be an integer of at least 2; got ${this.window}.`,
      );
    if (Number.isNaN(this.threshold) || this.threshold < 0)
      throw new UsageError(
        'INVALID_ARGUMENT',
        `EmotionTracker volatilityThreshold must be a number ≥ 0; got ${this.threshold}.`,
      );
  }

  /**
   * Adds a result (the oldest leaves once the window is full) and returns the new report. Results without an
   * utterance embedding count for the trend; the volatility index needs embeddings (see `volatilityNote`).
   * @throws UsageError `INVALID_ARGUMENT` for a result whose labels or embedding size differ from the previous
   *   results'.
   */
  push(result: AssistantInput): TrackerReport {
    const summary = summarize(result);
    const previous = this.results.at(-1);
    const lastEmbedding = [...this.results].reverse().find((r) => r.embedding !== null)?.embedding;
    if (
      (previous && previous.labels.join() !== summary.labels.join()) ||
      (lastEmbedding && summary.embedding && lastEmbedding.length !== summary.embedding.length)
    ) {
      throw new UsageError(
        'INVALID_ARGUMENT',
        'EmotionTracker got a result from another model (other labels or embedding size): use one tracker per model, or clear() it.',
      );
    }
    this.results.push(summary);
    if (this.results.length > this.window) this.results.shift();
    const report = this.report();
    const isOver = report.volatility !== null && report.volatility > this.threshold;
    if (isOver && !this.over) this.options.onVolatile?.(report);
    this.over = isOver;
    return report;
  }

  /** The report over the results kept now. */
  report(): TrackerReport {
    const results = this.results;
    const labels = results[0]?.labels ?? [];
    const trend = labels.map((label, i) => {
      const scores = results.map((r) => r.scores[i]!);
      return { label, mean: scores.reduce((a, b) => a + b, 0) / scores.length, slope: slope(scores) };
    });
    const byMean = [...trend].sort((a, b) => b.mean - a.mean);
    const bySlope = [...trend].sort((a, b) => b.slope - a.slope);
    let total = 0;
    let pairs = 0;
    for (let i = 1; i < results.length; i++) {
      const [a, b] = [results[i - 1]!.embedding, results[i]!.embedding];
      if (a && b) {
        total += distance(a, b);
        pairs++;
      }
    }
    const missing = results.length >= 2 && results.some((r) => r.embedding === null);
    const moving = results.length >= 2 && bySlope.length > 0;
    return {
      count: results.length,
      latest: results.at(-1)?.emotion ?? null,
      dominant: byMean[0]?.label ?? null,
      rising: moving ? bySlope[0]!.label : null,
      falling: moving ? bySlope.at(-1)!.label : null,
      trend,
      volatility: pairs > 0 ? total / pairs : null,
      volatilityNote: missing ? VOLATILITY_NEEDS_EMBEDDINGS : null,
    };
  }

  /** Forgets every result. */
  clear(): void {
    this.results.length = 0;
    this.over = false;
  }
}

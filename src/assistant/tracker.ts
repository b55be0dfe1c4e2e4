/**
 * `EmotionTracker`: the emotions of a conversation, turn by turn. It keeps the last N results and reports the
 * dominant emotion, the trend (how each label's score moves over the window) and the volatility index: the
 * mean L2 distance between consecutive utterance embeddings, i.e. how much the voice changes from turn to turn.
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
  /** Mean L2 distance between consecutive embeddings; null with fewer than 2 results. */
  readonly volatility: number | null;
}

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
   * Adds a result (the oldest leaves once the window is full) and returns the new report.
   * @throws UsageError `INVALID_ARGUMENT` for a result without an utterance embedding (predict with
   *   `{ embedding: true }`), or whose labels or embedding size differ from the previous results'.
   */
  push(result: AssistantInput): TrackerReport {
    const summary = summarize(result);
    if (!summary.embedding) {
      throw new UsageError(
        'INVALID_ARGUMENT',
        'EmotionTracker needs the utterance embedding of each result: predict with { embedding: true } (granularity "utterance"), or send embedding=true to the server.',
      );
    }
    const previous = this.results.at(-1);
    if (
      previous &&
      (previous.embedding!.length !== summary.embedding.length || previous.labels.join() !== summary.labels.join())
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
    let volatility: number | null = null;
    if (results.length >= 2) {
      let total = 0;
      for (let i = 1; i < results.length; i++) total += distance(results[i - 1]!.embedding!, results[i]!.embedding!);
      volatility = total / (results.length - 1);
    }
    const moving = results.length >= 2 && bySlope.length > 0;
    return {
      count: results.length,
      latest: results.at(-1)?.emotion ?? null,
      dominant: byMean[0]?.label ?? null,
      rising: moving ? bySlope[0]!.label : null,
      falling: moving ? bySlope.at(-1)!.label : null,
      trend,
      volatility,
    };
  }

  /** Forgets every result. */
  clear(): void {
    this.results.length = 0;
    this.over = false;
  }
}

/**
 * From head logits to the labelled scores users see: the one place the model turns logits into labels, scores and
 * the top label, for whole files, segments and frames alike.
 */
import { isUnusedLabel } from './config.js';
import { labelKeys } from './label-names.js';

export interface LabelledScores {
  /** Labels in tokens.txt order, `unuse*` placeholders dropped. */
  readonly labels: string[];
  /** Softmax probabilities, same order as `labels`. */
  readonly scores: number[];
}

/** The top label of a result. */
export interface TopLabel {
  /** The label as tokens.txt writes it ("开心/happy", "<unk>"), as upstream reports it. */
  readonly label: string;
  /**
   * The name results use for it (label-names.ts): "happy", "unknown" for `<unk>`; a result record's `emotion`
   * and the key of its score in `scores`.
   */
  readonly name: string;
  readonly score: number;
  /** Its position in the labels. */
  readonly index: number;
}

/** What the head says about one input or segment: its labelled scores and their top label. */
export interface HeadScores extends LabelledScores {
  /** The most likely label, or null for an embedding-only model (no labels). */
  readonly top: TopLabel | null;
}

/** The labels results use, in tokens.txt order: `unuse*` placeholders dropped. */
export function usedLabels(tokens: readonly string[]): string[] {
  return tokens.filter((label) => !isUnusedLabel(label));
}

/**
 * Softmax over the logits with `unuse*` labels excluded (upstream sets their logits to -inf), then those
 * labels dropped, as FunASR reports results. Computed in float64.
 */
export function scoresFromLogits(logits: ArrayLike<number>, tokens: readonly string[]): LabelledScores {
  const used = tokens.map((label, i) => ({ label, logit: logits[i]! })).filter(({ label }) => !isUnusedLabel(label));
  const max = Math.max(...used.map(({ logit }) => logit));
  const exps = used.map(({ logit }) => Math.exp(logit - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return { labels: used.map(({ label }) => label), scores: exps.map((e) => e / total) };
}

/**
 * Labels, scores and top label of one row of head logits; `null` logits (a model without a head) give no labels,
 * no scores and no top label.
 */
export function headScores(logits: ArrayLike<number> | null, tokens: readonly string[]): HeadScores {
  const { labels, scores } = logits ? scoresFromLogits(logits, tokens) : { labels: [], scores: [] };
  return { labels, scores, top: topLabel(labels, scores) };
}

/** The highest-scoring label (the first one on ties), or null when there are none. */
function topLabel(labels: readonly string[], scores: readonly number[]): TopLabel | null {
  const best = argmax(scores);
  return best >= 0 ? { label: labels[best]!, name: labelKeys(labels)[best]!, score: scores[best]!, index: best } : null;
}

/** Index of the highest score (first one on ties), or -1 for none. */
export function argmax(values: readonly number[]): number {
  let best = -1;
  values.forEach((v, i) => {
    if (best < 0 || v > values[best]!) best = i;
  });
  return best;
}

/** From head logits to the labelled scores users see. */
import { isUnusedLabel } from './config.js';

export interface LabelledScores {
  /** Labels in tokens.txt order, `unuse*` placeholders dropped. */
  readonly labels: string[];
  /** Softmax probabilities, same order as `labels`. */
  readonly scores: number[];
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

/** Index of the highest score (first one on ties), or -1 for none. */
export function argmax(values: readonly number[]): number {
  let best = -1;
  values.forEach((v, i) => {
    if (best < 0 || v > values[best]!) best = i;
  });
  return best;
}

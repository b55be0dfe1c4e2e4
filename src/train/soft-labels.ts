/**
 * Soft labels: the base model's own scores, mapped onto the new classes, mixed with the hard labels. The advice for
 * a new language is to keep the emotion classes and let the model's judgement soften the targets; a class is
 * matched to a base label by its full name or either half of "开心/happy", ignoring case.
 */
import { UsageError } from '../errors.js';
import { labelNames } from '../results/record.js';

/** Index of the base label that `name` names, or -1. */
export function baseLabelIndex(name: string, baseLabels: readonly string[]): number {
  const wanted = name.trim().toLowerCase();
  return baseLabels.findIndex((label) => {
    const names = labelNames(label);
    return [names.label, names.en, names.zh].some((candidate) => candidate?.toLowerCase() === wanted);
  });
}

/**
 * (N, classes) targets: (1 - weight) * one-hot + weight * the base scores of the matched labels, renormalised over
 * the classes (a row whose matched scores sum to 0 keeps its hard label).
 */
export function mixedTargets(
  classIndex: Int32Array,
  classes: readonly string[],
  baseLabels: readonly string[],
  baseScores: Float32Array,
  weight: number,
): Float32Array {
  if (!(weight >= 0 && weight <= 1))
    throw new UsageError('INVALID_ARGUMENT', `The soft-label weight must be in [0, 1]; got ${weight}.`);
  const matches = classes.map((name) => baseLabelIndex(name, baseLabels));
  const unmatched = classes.filter((_, c) => matches[c]! < 0);
  if (weight > 0 && unmatched.length > 0) {
    throw new UsageError(
      'TRAIN_DATA_INVALID',
      `Soft labels need every class to be one of the model's labels (${baseLabels.join(', ') || 'none: this model has no head'}); ${unmatched.map((n) => JSON.stringify(n.slice(0, 60))).join(', ')} is not. Rename the classes (e.g. "happy") or train without soft labels.`,
    );
  }
  const width = baseLabels.length;
  const targets = new Float32Array(classIndex.length * classes.length);
  classIndex.forEach((hard, row) => {
    const soft = matches.map((m) => (weight > 0 ? baseScores[row * width + m]! : 0));
    const total = soft.reduce((a, b) => a + b, 0);
    classes.forEach((_, c) => {
      const softShare = total > 0 ? soft[c]! / total : c === hard ? 1 : 0;
      targets[row * classes.length + c] = (1 - weight) * (c === hard ? 1 : 0) + weight * softShare;
    });
  });
  return targets;
}

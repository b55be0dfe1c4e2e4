/** Classification metrics of a head or model on labelled data: accuracy, macro F1, unweighted accuracy, confusion. */

/** Per-class numbers. */
export interface ClassMetrics {
  readonly label: string;
  /** Examples whose true class this is. */
  readonly support: number;
  /** Examples predicted as this class. */
  readonly predicted: number;
  /** Of those predicted as the class, the share that are (0 when none is predicted). */
  readonly precision: number;
  /** Of the class's examples, the share predicted as it (0 without support). */
  readonly recall: number;
  readonly f1: number;
}

export interface Evaluation {
  /** Class labels, the order of `perClass` and of the confusion matrix's rows and columns. */
  readonly labels: readonly string[];
  readonly count: number;
  readonly accuracy: number;
  /** Mean F1 over the classes that occur as truth or prediction (scikit-learn's macro average). */
  readonly macroF1: number;
  /** Mean recall over the classes present in the data ("UA" in speech emotion papers; balanced accuracy). */
  readonly unweightedAccuracy: number;
  readonly perClass: readonly ClassMetrics[];
  /** confusion[true][predicted] counts. */
  readonly confusion: readonly (readonly number[])[];
}

/** Metrics of predicted vs true class indices into `labels`. */
export function evaluatePredictions(
  truth: readonly number[],
  predicted: readonly number[],
  labels: readonly string[],
): Evaluation {
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  truth.forEach((t, i) => confusion[t]![predicted[i]!]!++);
  const perClass = labels.map((label, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predictedCount = confusion.reduce((sum, row) => sum + row[c]!, 0);
    const precision = predictedCount > 0 ? tp / predictedCount : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, support, predicted: predictedCount, precision, recall, f1 };
  });
  const occurring = perClass.filter((m) => m.support > 0 || m.predicted > 0);
  const present = perClass.filter((m) => m.support > 0);
  const correct = confusion.reduce((sum, row, c) => sum + row[c]!, 0);
  return {
    labels,
    count: truth.length,
    accuracy: truth.length > 0 ? correct / truth.length : 0,
    macroF1: mean(occurring.map((m) => m.f1)),
    unweightedAccuracy: mean(present.map((m) => m.recall)),
    perClass,
    confusion,
  };
}

function mean(values: number[]): number {
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

/** Most classes a drawn confusion matrix shows (text or SVG); evaluation.json keeps the whole matrix. */
export const MAX_DRAWN_CLASSES = 40;

/**
 * The classes a drawn confusion matrix shows, in label order: all of them, or the `max` with the most examples and
 * predictions (ties by label order). A head of thousands of classes would otherwise draw millions of cells.
 */
export function drawnClasses(evaluation: Evaluation, max = MAX_DRAWN_CLASSES): number[] {
  const all = evaluation.labels.map((_, c) => c);
  if (all.length <= max) return all;
  const weight = (c: number) => evaluation.perClass[c]!.support + evaluation.perClass[c]!.predicted;
  return all
    .sort((a, b) => weight(b) - weight(a) || a - b)
    .slice(0, max)
    .sort((a, b) => a - b);
}

/** The note under a matrix that shows only some classes, or '' when it shows them all. */
export function drawnClassesNote(evaluation: Evaluation, shown: readonly number[]): string {
  const total = evaluation.labels.length;
  return shown.length === total
    ? ''
    : `${shown.length} of ${total} classes shown (those with the most examples and predictions); evaluation.json (evaluate --out) has the whole matrix`;
}

/** A plain-text report: the summary, per-class precision/recall/F1 and the confusion matrix (bounded: drawnClasses). */
export function formatEvaluation(evaluation: Evaluation): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`.padStart(7);
  const width = evaluation.labels.reduce((most, label) => Math.max(most, label.length), 5);
  const shown = drawnClasses(evaluation);
  const note = drawnClassesNote(evaluation, shown);
  const lines = [
    `${evaluation.count} recordings: accuracy ${pct(evaluation.accuracy).trim()}, unweighted accuracy ${pct(evaluation.unweightedAccuracy).trim()}, macro F1 ${pct(evaluation.macroF1).trim()}`,
    '',
    `${'class'.padEnd(width)} precision  recall      F1  support`,
    ...evaluation.perClass.map(
      (m) =>
        `${m.label.padEnd(width)}   ${pct(m.precision)} ${pct(m.recall)} ${pct(m.f1)} ${String(m.support).padStart(8)}`,
    ),
    '',
    'confusion (rows: true class, columns: predicted)',
    ...(note ? [note] : []),
    `${''.padEnd(width + 2)}${shown.map((c) => String(c).padStart(5)).join('')}`,
    ...shown.map(
      (r) =>
        `${`${r} ${evaluation.labels[r]}`.padEnd(width + 2).slice(0, width + 2)}${shown.map((c) => String(evaluation.confusion[r]![c]!).padStart(5)).join('')}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * `evaluate`: how well the model's own head, or a trained one, classifies labelled recordings (Node). Embeddings
 * come through the same cache as training; the head runs on them exactly as `predict` runs it on the pooled
 * embedding.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../backend/select.js';
import { UsageError } from '../errors.js';
import { Emotion2Vec } from '../model/emotion2vec.js';
import { argmax, scoresFromLogits } from '../model/scores.js';
import type { ModelSource } from '../model/sources.js';
import { readLabelledData, type DataSource, type LabelledItem } from './dataset.js';
import { extractFeatures } from './features.js';
import { assertHeadFits, TrainedHead, readHead, type HeadSource } from '../model/trained-head.js';
import { evaluatePredictions, type Evaluation } from './metrics.js';
import { baseLabelIndex } from './soft-labels.js';

export interface EvaluateOptions extends DataSource {
  /** The base model: a folder, URL or in-memory files, or a model already loaded (left open; its own head is used). */
  readonly model: ModelSource | Emotion2Vec;
  /** A trained head to evaluate instead of the model's own. */
  readonly head?: HeadSource;
  /** Embedding cache folder; none: nothing is cached. */
  readonly cacheDir?: string;
  readonly trimSilence?: boolean;
  readonly backend?: BackendName;
  readonly onExtract?: (done: number, total: number) => void;
}

/** Evaluation plus what each recording got. */
export interface EvaluationReport extends Evaluation {
  readonly predictions: readonly {
    readonly key: string;
    readonly label: string;
    readonly predicted: string;
    readonly score: number;
  }[];
}

export async function evaluate(options: EvaluateOptions): Promise<EvaluationReport> {
  const items = await readLabelledData(options);
  const headWeights = options.head === undefined ? null : await readHead(options.head);
  const ownModel = !(options.model instanceof Emotion2Vec);
  const model =
    options.model instanceof Emotion2Vec
      ? options.model
      : await Emotion2Vec.load(options.model, { backend: options.backend });
  try {
    if (headWeights) assertHeadFits(headWeights, model.embeddingDim, `the model at ${model.loadReport.location}`);
    const labels = headWeights ? [...headWeights.labels] : model.labels;
    if (labels.length === 0)
      throw new UsageError(
        'INVALID_ARGUMENT',
        'This model has no classification head (no tokens.txt) and no --head was given: there is nothing to evaluate.',
      );
    const truth = trueClasses(items, labels, headWeights !== null);
    const features = await extractFeatures(model, items, {
      cacheDir: options.cacheDir,
      trimSilence: options.trimSilence,
      onProgress: options.onExtract,
    });
    const scores = headWeights
      ? await headScores(TrainedHead.fromWeights(headWeights), features.embeddings, items.length)
      : rowsOf(features.baseScores, labels.length);
    const predicted = scores.map((row) => argmax(row));
    return {
      ...evaluatePredictions(truth, predicted, labels),
      predictions: items.map((item, i) => ({
        key: item.key,
        label: item.label,
        predicted: labels[predicted[i]!]!,
        score: scores[i]![predicted[i]!]!,
      })),
    };
  } finally {
    if (ownModel) model.dispose();
  }
}

/** Scores of a head on (N, D) embeddings, as `predict` gives them; frees the head. */
async function headScores(head: TrainedHead, embeddings: Float32Array, rows: number): Promise<number[][]> {
  try {
    const logits = tf.tidy(() => head.apply(tf.tensor2d(embeddings, [rows, head.inputDim])));
    const values = await logits.data();
    logits.dispose();
    const k = head.tokens.length;
    return Array.from(
      { length: rows },
      (_, r) => scoresFromLogits(values.subarray(r * k, (r + 1) * k), head.tokens).scores,
    );
  } finally {
    head.dispose();
  }
}

function rowsOf(table: Float32Array, width: number): number[][] {
  return Array.from({ length: table.length / width }, (_, r) => Array.from(table.subarray(r * width, (r + 1) * width)));
}

/** Each item's class index; the model's own labels also match by either name ("happy" for "开心/happy"). */
function trueClasses(items: readonly LabelledItem[], labels: readonly string[], exact: boolean): number[] {
  const unknown = new Set<string>();
  const truth = items.map((item) => {
    const index = exact ? labels.indexOf(item.label) : baseLabelIndex(item.label, labels);
    if (index < 0) unknown.add(item.label);
    return index;
  });
  if (unknown.size > 0) {
    throw new UsageError(
      'TRAIN_DATA_INVALID',
      `The data has label(s) the ${exact ? 'head' : 'model'} does not predict: ${[...unknown]
        .slice(0, 10)
        .map((l) => JSON.stringify(l.slice(0, 60)))
        .join(', ')}. Its labels are: ${labels.join(', ')}.`,
    );
  }
  return truth;
}

/**
 * evaluation.json's text: the report indented, with each row of the confusion matrix on one line. Indented one
 * number a line, a matrix of 3000 classes (9 million counts) would be over 100 MB of mostly white space.
 */
export function evaluationJson(report: EvaluationReport): string {
  const placeholder = '\u0000confusion\u0000';
  const text = JSON.stringify({ ...report, confusion: placeholder }, null, 2);
  const rows = report.confusion.map((row) => `    ${JSON.stringify(row)}`);
  const matrix = rows.length === 0 ? '[]' : `[\n${rows.join(',\n')}\n  ]`;
  return `${text.replace(JSON.stringify(placeholder), () => matrix)}\n`;
}

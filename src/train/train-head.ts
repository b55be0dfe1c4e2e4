/**
 * `trainHead`: a new classification head on frozen emotion2vec embeddings (Node). Reads the labelled data, extracts
 * utterance embeddings once (cached in `<out>/cache`), trains the head with `fitHead` and writes it to `out`, where
 * `Emotion2Vec.load(model, { head: out })` and `emotion2vec analyze --head out` pick it up.
 */
import { join } from 'node:path';
import type { BackendName } from '../backend/select.js';
import { writeFileAtomic } from '../results/atomic-write.js';
import { Emotion2Vec } from '../model/emotion2vec.js';
import type { ModelSource } from '../model/sources.js';
import { classesOf, readLabelledData, type DataSource } from './dataset.js';
import { extractFeatures } from './features.js';
import { fitHead, type FitOptions, type FitResult } from './fit.js';
import { encodeHeadFiles, HEAD_MANIFEST, HEAD_TOKENS, type HeadWeights } from '../model/trained-head.js';
import { CACHE_FOLDER, prepareOutputFolder } from './output-folder.js';
import { mixedTargets } from './soft-labels.js';

export interface TrainHeadOptions extends DataSource, FitOptions {
  /** The base model: a folder, URL or in-memory files, or a model already loaded (left open). */
  readonly model: ModelSource | Emotion2Vec;
  /**
   * Folder the head is written to (created if needed). It may hold a previous head and its cache; a folder holding a
   * model is refused, and one holding other files unless `force`.
   */
  readonly out: string;
  /** Write into `out` even when it holds files other than a head's. */
  readonly force?: boolean;
  /** Class labels in output order; default: the data's labels, sorted. Every class needs an example. */
  readonly classes?: readonly string[];
  /**
   * Weight of the base model's scores in the targets, 0 (default, hard labels only) to 1; needs classes named as the
   * model's labels.
   */
  readonly softLabels?: number;
  /** Embedding cache folder (default `<out>/cache`); reused by later runs on the same recordings and model. */
  readonly cacheDir?: string;
  /** Trim leading and trailing silence before the model. */
  readonly trimSilence?: boolean;
  /** Backend for loading the model (default 'auto'); training runs on the same one. */
  readonly backend?: BackendName;
  /** Called as embeddings are extracted. */
  readonly onExtract?: (done: number, total: number) => void;
}

export interface TrainHeadResult {
  readonly head: HeadWeights;
  /** Files written into `out`. */
  readonly files: string[];
  readonly fit: FitResult;
  /** Recordings whose embeddings came from the cache / were computed. */
  readonly cached: number;
  readonly extracted: number;
}

/** Trains a head on labelled recordings and writes it to `options.out`. */
export async function trainHead(options: TrainHeadOptions): Promise<TrainHeadResult> {
  const items = await readLabelledData(options);
  const classes = classesOf(items, options.classes);
  await prepareHeadFolder(options.out, options.force);
  const ownModel = !(options.model instanceof Emotion2Vec);
  const model =
    options.model instanceof Emotion2Vec
      ? options.model
      : await Emotion2Vec.load(options.model, { backend: options.backend });
  try {
    const features = await extractFeatures(model, items, {
      cacheDir: options.cacheDir ?? join(options.out, CACHE_FOLDER),
      trimSilence: options.trimSilence,
      onProgress: options.onExtract,
    });
    const classIndex = Int32Array.from(items, (item) => classes.indexOf(item.label));
    const softWeight = options.softLabels ?? 0;
    // Hard labels need no target table (fitHead makes them one-hot a batch at a time); soft ones name the model's
    // labels, so there are few classes.
    const targets =
      softWeight > 0
        ? mixedTargets(classIndex, classes, features.baseLabels, features.baseScores, softWeight)
        : undefined;
    const fit = await fitHead(
      { inputDim: features.dim, embeddings: features.embeddings, numClasses: classes.length, classIndex, targets },
      options,
    );
    const best = fit.history[fit.bestEpoch - 1];
    const head: HeadWeights = {
      inputDim: features.dim,
      labels: classes,
      layers: fit.layers,
      training: {
        model: model.loadReport.location,
        examples: Object.fromEntries(classes.map((label, c) => [label, classIndex.filter((i) => i === c).length])),
        trainCount: fit.trainCount,
        validationCount: fit.validationCount,
        hiddenUnits: options.hiddenUnits ?? 0,
        softLabels: softWeight,
        seed: options.seed ?? 0,
        bestEpoch: fit.bestEpoch,
        epochsRun: fit.history.length,
        validationAccuracy: best?.validationAccuracy ?? null,
        validationLoss: best?.validationLoss ?? null,
      },
    };
    const files = await writeHead(head, options.out, { force: options.force });
    return { head, files, fit, cached: features.cached, extracted: items.length - features.cached };
  } finally {
    if (ownModel) model.dispose();
  }
}

/**
 * Writes a head's files into `dir` (created if needed), each atomically; returns their names. The folder may hold a
 * previous head; one holding a model is refused, and one holding other files unless `options.force`.
 *
 * @throws UsageError `OUTPUT_UNSAFE_PATH`, `OUTPUT_WRITE_FAILED` (output-folder.ts)
 */
export async function writeHead(head: HeadWeights, dir: string, options: { force?: boolean } = {}): Promise<string[]> {
  const files = encodeHeadFiles(head);
  await prepareHeadFolder(dir, options.force);
  for (const [name, bytes] of files) await writeFileAtomic(join(dir, name), bytes);
  return [...files.keys()];
}

/** A head's own files: head.json, tokens.txt and layers.<i>.weight.npy / .bias.npy. */
function isHeadFile(name: string): boolean {
  return name === HEAD_MANIFEST || name === HEAD_TOKENS || /^layers\.\d+\.(weight|bias)\.npy$/.test(name);
}

function prepareHeadFolder(dir: string, force: boolean | undefined): Promise<void> {
  return prepareOutputFolder(dir, { option: '--out', isOwnFile: isHeadFile, force, neverIntoModel: true });
}

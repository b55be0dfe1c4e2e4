/**
 * `emotion2vec train-head --data <csv | wav.scp --labels file> --model <dir> --out <dir>`: trains a classification
 * head on the model's frozen embeddings and writes it to --out (see docs/train-head.md). Progress goes to stderr,
 * one line per epoch; the summary to stdout (JSON with --json).
 */
import type { BackendName } from '../backend/select.js';
import type { EpochProgress, FitOptions } from '../train/fit.js';
import { trainHead } from '../train/train-head.js';
import type { LabelledDataCliOptions } from './evaluate.js';
import { reportFatal } from './output.js';

/** Fit settings the CLI passes through unchanged (see FitOptions for their meaning and defaults). */
type PassedFitOptions = Pick<
  FitOptions,
  'epochs' | 'batchSize' | 'learningRate' | 'weightDecay' | 'validationSplit' | 'patience' | 'seed'
>;

export interface TrainHeadCliOptions extends LabelledDataCliOptions, PassedFitOptions {
  readonly out: string;
  readonly classes?: string;
  readonly hidden?: number;
  readonly classWeights: boolean;
  readonly softLabels?: number;
  readonly quiet: boolean;
  readonly force: boolean;
}

export async function trainHeadCommand(options: TrainHeadCliOptions): Promise<number> {
  const log = (line: string) => {
    if (!options.quiet) process.stderr.write(`${line}\n`);
  };
  try {
    const result = await trainHead({
      data: options.data,
      labels: options.labels,
      model: options.model,
      out: options.out,
      force: options.force,
      classes: options.classes?.split(',').map((name) => name.trim()),
      hiddenUnits: options.hidden,
      epochs: options.epochs,
      batchSize: options.batchSize,
      learningRate: options.learningRate,
      weightDecay: options.weightDecay,
      validationSplit: options.validationSplit,
      patience: options.patience,
      classWeights: options.classWeights ? 'balanced' : 'none',
      seed: options.seed,
      softLabels: options.softLabels,
      cacheDir: options.cache,
      backend: options.backend as BackendName,
      trimSilence: options.trimSilence,
      onExtract: (done, total) => log(`embeddings ${done}/${total}`),
      onEpoch: (progress) => log(epochLine(progress)),
    });
    const best = result.fit.history[result.fit.bestEpoch - 1];
    const summary = {
      out: options.out,
      files: result.files,
      labels: result.head.labels,
      layers: result.head.layers.map((layer) => [layer.outFeatures, layer.inFeatures]),
      trainCount: result.fit.trainCount,
      validationCount: result.fit.validationCount,
      bestEpoch: result.fit.bestEpoch,
      epochsRun: result.fit.history.length,
      validationAccuracy: best?.validationAccuracy ?? null,
      embeddingsCached: result.cached,
      embeddingsExtracted: result.extracted,
    };
    process.stdout.write(
      options.json
        ? `${JSON.stringify(summary)}\n`
        : `head written to ${options.out} (${result.files.join(', ')}): ${summary.labels.length} classes, ${summary.trainCount} training / ${summary.validationCount} validation examples, best epoch ${summary.bestEpoch} of ${summary.epochsRun}` +
            `${summary.validationAccuracy === null ? '' : `, validation accuracy ${(summary.validationAccuracy * 100).toFixed(1)}%`}\n`,
    );
    return 0;
  } catch (error) {
    reportFatal(error);
    return 2;
  }
}

function epochLine(p: EpochProgress): string {
  const validation =
    p.validationLoss === null
      ? ''
      : `  validation loss ${p.validationLoss.toFixed(4)}  accuracy ${(p.validationAccuracy! * 100).toFixed(1)}%`;
  return `epoch ${String(p.epoch).padStart(String(p.epochs).length)}/${p.epochs}  train loss ${p.trainLoss.toFixed(4)}${validation}${p.improved ? '  *' : ''}`;
}

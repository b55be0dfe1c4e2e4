/**
 * `emotion2vec evaluate --data <csv | wav.scp --labels file> --model <dir> [--head <dir>] [--out <dir>]`: accuracy,
 * macro F1, unweighted accuracy, per-class precision/recall and the confusion matrix, printed (JSON with --json);
 * with --out, also `evaluation.json` and `confusion.svg` there (and the embedding cache in `<out>/cache`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendName } from '../backend/select.js';
import { confusionSvg } from '../train/confusion-svg.js';
import { evaluate } from '../train/evaluate.js';
import { formatEvaluation } from '../train/metrics.js';
import { reportFatal } from './output.js';

/** The options `train-head` and `evaluate` share: which labelled audio, which model, how to embed it. */
export interface LabelledDataCliOptions {
  readonly data: string;
  readonly labels?: string;
  readonly model: string;
  readonly cache?: string;
  readonly backend: string;
  readonly trimSilence: boolean;
  readonly json: boolean;
}

export interface EvaluateCliOptions extends LabelledDataCliOptions {
  readonly head?: string;
  readonly out?: string;
}

export async function evaluateCommand(options: EvaluateCliOptions): Promise<number> {
  try {
    const report = await evaluate({
      data: options.data,
      labels: options.labels,
      model: options.model,
      head: options.head,
      cacheDir: options.cache ?? (options.out ? join(options.out, 'cache') : undefined),
      backend: options.backend as BackendName,
      trimSilence: options.trimSilence,
    });
    if (options.out) {
      await mkdir(options.out, { recursive: true });
      await writeFile(join(options.out, 'evaluation.json'), `${JSON.stringify(report, null, 2)}\n`);
      await writeFile(join(options.out, 'confusion.svg'), confusionSvg(report));
    }
    process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : formatEvaluation(report));
    return 0;
  } catch (error) {
    reportFatal(error);
    return 2;
  }
}

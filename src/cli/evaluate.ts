/**
 * `emotion2vec evaluate --data <csv | wav.scp --labels file> --model <dir> [--head <dir>] [--out <dir>]`: accuracy,
 * macro F1, unweighted accuracy, per-class precision/recall and the confusion matrix, printed (JSON with --json);
 * with --out, also `evaluation.json` and `confusion.svg` there (and the embedding cache in `<out>/cache`).
 */
import { join } from 'node:path';
import type { BackendName } from '../backend/select.js';
import { writeFileAtomic } from '../results/atomic-write.js';
import { confusionSvg } from '../train/confusion-svg.js';
import { evaluate, evaluationJson } from '../train/evaluate.js';
import { formatEvaluation } from '../train/metrics.js';
import { CACHE_FOLDER, prepareOutputFolder } from '../train/output-folder.js';
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
  readonly force?: boolean;
}

const EVALUATION_FILES = new Set(['evaluation.json', 'confusion.svg']);

export async function evaluateCommand(options: EvaluateCliOptions): Promise<number> {
  try {
    // The folder is checked before the work, so a refusal costs nothing.
    if (options.out)
      await prepareOutputFolder(options.out, {
        option: '--out',
        isOwnFile: (name) => EVALUATION_FILES.has(name),
        force: options.force,
      });
    const report = await evaluate({
      data: options.data,
      labels: options.labels,
      model: options.model,
      head: options.head,
      cacheDir: options.cache ?? (options.out ? join(options.out, CACHE_FOLDER) : undefined),
      backend: options.backend as BackendName,
      trimSilence: options.trimSilence,
    });
    if (options.out) {
      await writeFileAtomic(join(options.out, 'evaluation.json'), evaluationJson(report));
      await writeFileAtomic(join(options.out, 'confusion.svg'), confusionSvg(report));
    }
    process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : formatEvaluation(report));
    return 0;
  } catch (error) {
    reportFatal(error);
    return 2;
  }
}

/**
 * One upload analysed as `POST /predict_emotion` answers it: the inline record of the answer (the record context of
 * src/results/analyze-inputs.ts) and, with `serve --save-outputs DIR`, a run folder written through that one path
 * exactly as `emotion2vec analyze` writes one, as the WebUI keeps each request's outputs:
 *
 * ```
 * DIR/output_<YYYYMMDD_HHMMSS>/<key>/result.json, processed_audio.wav, embedding.npy, frame_scores.*, timeline.*
 *                              summary.csv
 * ```
 *
 * Two requests in the same second get `output_<...>-2`, `-3`... (the folder is claimed with an exclusive mkdir).
 * A request whose audio fails leaves no folder behind.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { toPredictOptions, type AnalysisOptions } from '../results/analysis-options.js';
import { analyzeInputs, recordContext } from '../results/analyze-inputs.js';
import { runFolderName } from '../results/folder.js';
import { toInlineRecord, type ResultRecord } from '../results/record.js';
import { safeOutputName } from '../results/safe-name.js';
import { writeSummaryCsv } from '../results/summary.js';
import type { ServerModel } from './server-model.js';

/** One uploaded file and its names. */
export interface Upload {
  readonly file: File;
  /** The name the client gave (recorded as the record's `input`). */
  readonly input: string;
  /** Its key (`outputKey(input)`). */
  readonly key: string;
}

/** The answer to one upload, and the run folder it was saved in (relative to DIR), if any. */
export interface UploadAnswer {
  readonly record: ResultRecord;
  /** `output_<...>/<key>` under the `--save-outputs` folder. */
  readonly folder?: string;
}

/** Where an upload's outputs go, and how long its audio may be. */
export interface UploadAnalysisOptions {
  /** `serve --save-outputs`: the folder run folders are made in; none: the answer only. */
  readonly saveOutputs?: string;
  /** Longest audio analysed; longer uploads fail with `AUDIO_TOO_LONG` before they are decoded. */
  readonly maxDurationSeconds?: number;
}

/** Most run folders tried for one second before giving up (a clock stuck on one second, a full folder). */
const MAX_SAME_SECOND = 1000;

/**
 * Analyses one upload: the inline record, and with `saveOutputs` the run folder too.
 * @throws the typed error of audio it cannot use; UsageError `OUTPUT_WRITE_FAILED` when the folder cannot be
 *   written (a server fault: 500).
 */
export async function analyzeUpload(
  model: ServerModel,
  modelId: string,
  upload: Upload,
  options: AnalysisOptions,
  { saveOutputs, maxDurationSeconds }: UploadAnalysisOptions = {},
): Promise<UploadAnswer> {
  const bound = maxDurationSeconds === undefined ? {} : { maxDurationSeconds };
  if (saveOutputs === undefined) {
    const prediction = await model.predict(upload.file, { ...toPredictOptions(options, 'inline'), ...bound });
    return { record: toInlineRecord(prediction, recordContext(upload, { modelId, options })) };
  }
  const input = { audio: upload.file, input: upload.input, key: upload.key, folder: safeOutputName(upload.key) };
  const now = new Date();
  const run = await claimRunFolder(saveOutputs, runFolderName(now));
  const [outcome] = await analyzeInputs(model, [input], {
    modelId,
    options,
    outputDir: run.path,
    inlineRecords: true,
    timestamp: now,
    ...bound,
  });
  if (!outcome!.ok) {
    await rm(run.path, { recursive: true, force: true });
    if (outcome!.stage === 'predict') throw outcome!.error;
    throw writeFailure(saveOutputs, outcome!.error);
  }
  try {
    await writeSummaryCsv(run.path, [{ record: outcome!.record, folder: outcome!.folder! }]);
  } catch (error) {
    throw writeFailure(saveOutputs, error);
  }
  return { record: outcome!.inline!, folder: `${run.name}/${outcome!.folder!}` };
}

/** Makes `<root>/<name>` (or `<name>-2`, `-3`...: the first that did not exist) and returns it. */
async function claimRunFolder(root: string, name: string): Promise<{ name: string; path: string }> {
  try {
    await mkdir(resolve(root), { recursive: true });
    for (let n = 1; n <= MAX_SAME_SECOND; n++) {
      const candidate = n === 1 ? name : `${name}-${n}`;
      const path = join(resolve(root), candidate);
      const made = await mkdir(path).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'EEXIST') return false;
          throw error;
        },
      );
      if (made) return { name: candidate, path };
    }
  } catch (error) {
    throw writeFailure(root, error);
  }
  throw writeFailure(root, new Error(`${MAX_SAME_SECOND} folders named ${name} already exist`));
}

/** The client is told what failed, not where: the folder and the system's reason go to the server's log (cause). */
function writeFailure(root: string, error: unknown): UsageError {
  const reason = String((error as Error)?.message ?? error).slice(0, 300);
  return new UsageError(
    'OUTPUT_WRITE_FAILED',
    "The server could not save this request's results in its --save-outputs folder; the details are in its log.",
    { cause: new Error(`cannot write under ${root}: ${reason}`, { cause: error }) },
  );
}

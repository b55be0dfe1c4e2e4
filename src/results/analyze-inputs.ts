/**
 * The one path from audio to a result folder: predict, build the record, make the timeline and frame series files
 * and write the folder (frame embeddings streamed into it as they come, so a long file's (T, D) array is never held). The CLI's
 * `analyze` and the queue workers analyse through here, and so does any server that writes folders, so a folder
 * is the same whichever surface made it. Node only (it writes files).
 */
import type { AudioInput } from '../audio/prepare.js';
import type { Emotion2Vec } from '../model/emotion2vec.js';
import { printable, type Emotion2VecError } from '../errors.js';
import { toPredictOptions, type AnalysisOptions } from './analysis-options.js';
import { EmbeddingStreams, writeResultFolder, type ResultFolderContents, type WrittenResultFolder } from './folder.js';
import { frameSeriesFiles, frameSeriesReference } from './frame-series.js';
import { toInlineRecord, toResultRecord, type InlineRecordContext, type ResultRecord } from './record.js';
import { timelineFiles } from './timeline.js';

/** One input to analyse. */
export interface AnalysisInput {
  /** What the model reads: a path, bytes, a File... */
  readonly audio: AudioInput;
  /** The input as the user named it: recorded in result.json and titling timeline.svg. */
  readonly input: string;
  /** The key result.json records (a wav.scp key, or the folder name). */
  readonly key: string;
  /** Its folder's name under the output folder (one safe, unique name; unused without an output folder). */
  readonly folder: string;
}

/** How a run of inputs is analysed. */
export interface AnalysisRun {
  /** Model id or folder, written into each record. */
  readonly modelId: string;
  readonly options: AnalysisOptions;
  /** Where result folders go; null: nothing is written and each record carries its embedding and timeline inline. */
  readonly outputDir: string | null;
  /** Inputs per forward pass (default: the library's, for the backend). */
  readonly batchSize?: number;
  /** The records' time (default: when each prediction is done). */
  readonly timestamp?: Date;
  /**
   * With an output folder, also give each outcome the record an answer without a folder carries (`inline`: the
   * embedding's numbers, the frame series and the timeline in it), for a server that writes folders and answers
   * inline. Frame embeddings are then held in memory, not streamed into the folder.
   */
  readonly inlineRecords?: boolean;
  /** Longest audio analysed; longer inputs fail with `AUDIO_TOO_LONG` before they are decoded (default: no bound). */
  readonly maxDurationSeconds?: number;
  /** Writes one result folder (default `writeResultFolder`; tests pass one that fails). */
  readonly writeFolder?: (
    outputRoot: string,
    key: string,
    contents: ResultFolderContents,
  ) => Promise<Pick<WrittenResultFolder, 'name' | 'record'>>;
}

/**
 * One input's outcome, in input order: its record (and folder name when one was written), or why it has none:
 * the typed error of a failed prediction, or the error of a failed write (a disk error as it came, for the caller
 * to report or retry).
 */
export type AnalysisOutcome =
  | { readonly ok: true; readonly record: ResultRecord; readonly folder?: string; readonly inline?: ResultRecord }
  | { readonly ok: false; readonly stage: 'predict'; readonly error: Emotion2VecError }
  | { readonly ok: false; readonly stage: 'write'; readonly error: unknown };

/**
 * Analyses inputs (several per forward pass where the backend gains from it) into one result folder each under
 * `run.outputDir`, or into inline records without one. An input that fails costs that input only.
 */
export async function analyzeInputs(
  model: Pick<Emotion2Vec, 'predictBatch'>,
  inputs: readonly AnalysisInput[],
  run: AnalysisRun,
): Promise<AnalysisOutcome[]> {
  const root = run.outputDir;
  const { options } = run;
  // Frame embeddings go straight to each input's folder, a window at a time.
  const streamFrames = root !== null && options.embedding && options.granularity === 'frame' && !run.inlineRecords;
  const streams = streamFrames ? new EmbeddingStreams(root, (i) => inputs[i]!.folder) : null;
  try {
    const predictions = await model.predictBatch(
      inputs.map((item) => item.audio),
      {
        ...toPredictOptions(options, root === null ? 'inline' : 'folder'),
        ...(run.batchSize === undefined ? {} : { batchSize: run.batchSize }),
        ...(run.maxDurationSeconds === undefined ? {} : { maxDurationSeconds: run.maxDurationSeconds }),
        ...(streams ? { onFrames: streams.sink } : {}),
      },
    );
    const outcomes: AnalysisOutcome[] = [];
    for (const [i, item] of inputs.entries()) {
      const result = predictions[i]!;
      if (!result.ok) {
        outcomes.push({ ok: false, stage: 'predict', error: result.error });
        continue;
      }
      const { prediction } = result;
      const context = recordContext(item, run);
      const inline = () => toInlineRecord(prediction, context);
      if (root === null) {
        outcomes.push({ ok: true, record: inline() });
        continue;
      }
      const streamed = await streams?.take(i);
      try {
        const write = run.writeFolder ?? writeResultFolder;
        const { frameScores, timeline } = prediction;
        const written = await write(root, item.folder, {
          record: toResultRecord(prediction, {
            ...context,
            ...(frameScores ? { frameScores: frameSeriesReference(frameScores) } : {}),
          }),
          embedding: streamed ?? prediction.embedding,
          ...(options.processedAudio === 'none' || !prediction.waveform
            ? {}
            : { processedAudio: prediction.waveform, processedAudioFormat: options.processedAudio }),
          extraFiles: {
            ...(timeline ? timelineFiles(timeline, prediction.labels, item.input, options.plot) : {}),
            ...(frameScores ? frameSeriesFiles(frameScores, printable(item.input), options.plot) : {}),
          },
        });
        outcomes.push({
          ok: true,
          record: written.record,
          folder: written.name,
          ...(run.inlineRecords ? { inline: inline() } : {}),
        });
      } catch (error) {
        await streamed?.discard();
        outcomes.push({ ok: false, stage: 'write', error });
      }
    }
    return outcomes;
  } finally {
    await streams?.discardRest();
  }
}

/**
 * What an input's record is built with under a run's options (the reply language, the frame series' size): the one
 * context for a folder's record and an inline answer, here and for a server answering one upload.
 */
export function recordContext(
  item: Pick<AnalysisInput, 'input' | 'key'>,
  run: Pick<AnalysisRun, 'modelId' | 'options' | 'timestamp'>,
): InlineRecordContext {
  return {
    input: item.input,
    key: item.key,
    model: run.modelId,
    granularity: run.options.granularity,
    fallback: { language: run.options.replyLanguage },
    fullFrameSeries: run.options.fullFrameSeries,
    ...(run.timestamp ? { timestamp: run.timestamp } : {}),
  };
}

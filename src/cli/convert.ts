/** `emotion2vec convert <checkpoint> --out <dir>`: write a converted model (model.json + weight shards). */
import { quote } from '../errors.js';
import { convertModel } from '../model/convert.js';
import type { WeightDType } from '../model/weight-dtypes.js';
import { reportFatal } from './output.js';

export interface ConvertOptions {
  readonly out: string;
  /** How to store the weights (src/model/weight-dtypes.ts); float32 when absent. */
  readonly dtype?: WeightDType;
}

/**
 * Converts without any TensorFlow.js backend: the checkpoint is checked against the network's parameter list and
 * copied.
 */
export async function convert(checkpoint: string, options: ConvertOptions): Promise<number> {
  try {
    const dtype = options.dtype ?? 'float32';
    const report = await convertModel(checkpoint, options.out, { dtype });
    const { tensors } = report;
    const shards = report.manifest.weightsManifest[0]!.paths.length;
    const mebibytes = (report.bytes / 2 ** 20).toFixed(1);
    // Labels and tensor names come from the files: quoted (escapes shown, not obeyed by the terminal) and capped.
    const labels = report.labels.map((label) => quote(label, 60)).join(', ');
    const unused = tensors.unused
      .slice(0, 20)
      .map((name) => quote(name, 100))
      .join(', ');
    const skipped = tensors.skippedTrainingOnly.length;
    const lines = [
      `converted ${report.location} -> ${options.out}`,
      `  ${tensors.loaded} tensors, ${report.weightCount.toLocaleString('en-US')} weights, ${mebibytes} MiB (${dtype}) in ${shards} shard(s)`,
      `  labels: ${report.labels.length > 0 ? labels : '(none: embedding-only model)'}`,
      ...(skipped > 0 ? [`  skipped ${skipped} training-only tensors (decoder/EMA)`] : []),
      ...(tensors.unused.length > 0
        ? [`  skipped ${tensors.unused.length} unused tensors: ${unused}${tensors.unused.length > 20 ? ', ...' : ''}`]
        : []),
      ...report.notes.map((note) => `  note: ${note}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    reportFatal(error);
    return 2;
  }
}

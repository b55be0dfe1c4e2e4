/**
 * `emotion2vec convert <checkpoint or model id> --out <dir>`: write a converted model (model.json + weight shards).
 * A model id is fetched through the hub cache first (as every command takes it), then converted from there.
 */
import { quote } from '../errors.js';
import { parseHubName } from '../hub/models.js';
import { convertModel } from '../model/convert.js';
import { resolveModelSource } from '../model/hub-source.js';
import type { WeightDType } from '../model/weight-dtypes.js';
import { reportFatal } from './output.js';
import { loadProgressDisplay } from './progress.js';

export interface ConvertOptions {
  readonly out: string;
  /** How to store the weights (src/model/weight-dtypes.ts); float32 when absent. */
  readonly dtype?: WeightDType;
  /** For a model id: its hub, the cache, no network. */
  readonly hub?: string;
  readonly offline?: boolean;
  readonly cacheDir?: string;
}

/**
 * Converts without any TensorFlow.js backend: the checkpoint is checked against the network's parameter list and
 * copied.
 */
export async function convert(checkpoint: string, options: ConvertOptions): Promise<number> {
  const display = loadProgressDisplay();
  try {
    const dtype = options.dtype ?? 'float32';
    // A local path passes through; an id becomes its folder in the hub cache (downloaded and converted once).
    const hubOptions = { hub: parseHubName(options.hub), offline: options.offline, cacheDir: options.cacheDir };
    const source = await resolveModelSource(checkpoint, { ...hubOptions, progress: display.callback });
    display.stop();
    const report = await convertModel(source, options.out, { dtype });
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
    display.stop();
    reportFatal(error);
    return 2;
  }
}

/** `emotion2vec convert <checkpoint> --out <dir>`: write a converted model (model.json + weight shards). */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeConvertedModel } from '../model/converted.js';
import { Emotion2VecNetwork } from '../model/network.js';
import type { WeightDType } from '../model/weight-dtypes.js';
import { readModelContents, UsageError } from '../node.js';
import { quote } from '../errors.js';
import { reportFatal } from './output.js';

export interface ConvertOptions {
  readonly out: string;
  /** How to store the weights (src/model/weight-dtypes.ts); float32 when absent. */
  readonly dtype?: WeightDType;
}

/** Converts without any TensorFlow.js backend: the checkpoint is checked against the network's parameter list and copied. */
export async function convert(checkpoint: string, options: ConvertOptions): Promise<number> {
  try {
    const contents = await readModelContents(checkpoint);
    const network = new Emotion2VecNetwork(contents.definition);
    const report = network.params.verify(contents.weights.tensors);
    await prepareOutputFolder(options.out);
    let bytes = 0;
    const manifest = await writeConvertedModel(
      {
        definition: contents.definition,
        modelConf: contents.modelConf,
        weights: contents.weights,
        parameters: network.params.specs(),
        sourceFile: checkpoint,
        dtype: options.dtype ?? 'float32',
      },
      async (name, data) => {
        bytes += data.length;
        await writeFile(join(options.out, name), data).catch((error: unknown) => {
          throw writeFailure(`Cannot write ${name} into ${quote(options.out)}`, error);
        });
      },
    );
    const shards = manifest.weightsManifest[0]!.paths.length;
    const lines = [
      `converted ${contents.location} -> ${options.out}`,
      `  ${report.loaded} tensors, ${network.params.count().toLocaleString('en-US')} weights, ${(bytes / 2 ** 20).toFixed(1)} MiB (${options.dtype ?? 'float32'}) in ${shards} shard(s)`,
      // Labels and tensor names come from the files: quoted (escapes shown, not obeyed by the terminal) and capped.
      `  labels: ${contents.definition.tokens.length > 0 ? contents.definition.tokens.map((label) => quote(label, 60)).join(', ') : '(none: embedding-only model)'}`,
      ...(report.skippedTrainingOnly.length > 0 ? [`  skipped ${report.skippedTrainingOnly.length} training-only tensors (decoder/EMA)`] : []),
      ...(report.unused.length > 0 ? [`  skipped ${report.unused.length} unused tensors: ${report.unused.slice(0, 20).map((name) => quote(name, 100)).join(', ')}${report.unused.length > 20 ? ', ...' : ''}`] : []),
      ...contents.weights.notes.map((note) => `  note: ${note}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    reportFatal(error);
    return 2;
  }
}

/** The --out folder, created when missing; an existing file there is a usage error, not a crash. */
async function prepareOutputFolder(out: string): Promise<void> {
  const existing = await stat(out).catch(() => null);
  if (existing && !existing.isDirectory()) {
    throw new UsageError('OUTPUT_WRITE_FAILED', `--out ${quote(out)} is an existing file, not a folder. Name a new or existing folder for the converted model.`);
  }
  await mkdir(out, { recursive: true }).catch((error: unknown) => {
    throw writeFailure(`Cannot create the folder ${quote(out)}`, error);
  });
}

function writeFailure(what: string, error: unknown): UsageError {
  return new UsageError('OUTPUT_WRITE_FAILED', `${what}: ${quote((error as Error)?.message ?? String(error), 300)}. Choose a folder you can write to.`, { cause: error });
}

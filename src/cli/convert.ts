/** `emotion2vec convert <checkpoint> --out <dir>`: write a converted model (model.json + weight shards). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeConvertedModel } from '../model/converted.js';
import { Emotion2VecNetwork } from '../model/network.js';
import { readModelContents } from '../node.js';
import { reportFatal } from './output.js';

export interface ConvertOptions {
  readonly out: string;
}

/** Converts without any TensorFlow.js backend: the checkpoint is checked against the network's parameter list and copied. */
export async function convert(checkpoint: string, options: ConvertOptions): Promise<number> {
  try {
    const contents = await readModelContents(checkpoint);
    const network = new Emotion2VecNetwork(contents.definition);
    const report = network.params.verify(contents.weights.tensors);
    await mkdir(options.out, { recursive: true });
    let bytes = 0;
    const manifest = await writeConvertedModel(
      {
        definition: contents.definition,
        modelConf: contents.modelConf,
        weights: contents.weights,
        parameters: network.params.specs(),
        sourceFile: checkpoint,
      },
      async (name, data) => {
        bytes += data.length;
        await writeFile(join(options.out, name), data);
      },
    );
    const shards = manifest.weightsManifest[0]!.paths.length;
    const lines = [
      `converted ${contents.location} -> ${options.out}`,
      `  ${report.loaded} tensors, ${network.params.count().toLocaleString('en-US')} weights, ${(bytes / 2 ** 20).toFixed(1)} MiB in ${shards} shard(s)`,
      `  labels: ${contents.definition.tokens.length > 0 ? contents.definition.tokens.join(', ') : '(none: embedding-only model)'}`,
      ...(report.skippedTrainingOnly.length > 0 ? [`  skipped ${report.skippedTrainingOnly.length} training-only tensors (decoder/EMA)`] : []),
      ...(report.unused.length > 0 ? [`  skipped ${report.unused.length} unused tensors: ${report.unused.join(', ')}`] : []),
      ...contents.weights.notes.map((note) => `  note: ${note}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    reportFatal(error);
    return 2;
  }
}

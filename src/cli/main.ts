#!/usr/bin/env node
/** The `emotion2vec` command: `analyze` audio files, `convert` a checkpoint. */
import { Command, Option } from 'commander';
import { analyze } from './analyze.js';
import { convert } from './convert.js';
import { positiveInteger } from './options.js';
import { registerQueueCommands } from './queue.js';

export function buildProgram(): Command {
  const program = new Command('emotion2vec')
    .description('Speech emotion recognition with emotion2vec+ on TensorFlow.js')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('analyze')
    .description('predict the emotion of audio files')
    .argument('<audio...>', 'audio files (wav, mp3, flac, ogg, opus, m4a, ...)')
    .requiredOption('-m, --model <dir>', 'checkpoint folder (config.yaml, model.pt or .safetensors, tokens.txt) or converted folder (model.json)')
    .addOption(new Option('-g, --granularity <level>', 'embedding granularity').choices(['utterance', 'frame']).default('utterance'))
    .option('-e, --embedding', 'also return the embedding (embedding.npy with --output-dir)', false)
    .option('-o, --output-dir <dir>', 'write <dir>/<file name>/result.json (and embedding.npy)')
    .option('--json', 'print one JSON object per input on stdout', false)
    .option('-b, --backend <name>', 'TensorFlow.js backend: auto, tensorflow, wasm, cpu', 'auto')
    .option('--batch-size <n>', 'inputs per forward pass (default: 1 on wasm/cpu, 8 on GPU and native backends)', positiveInteger)
    .option('--trim-silence', 'trim leading and trailing silence first (changes results vs upstream)', false)
    .option('--strict', 'treat audio quality warnings as errors', false)
    .action(async (inputs: string[], options) => {
      process.exitCode = await analyze(inputs, options);
    });

  program
    .command('convert')
    .description('convert a checkpoint into a folder that loads fast, in Node and browsers (model.json + weight shards)')
    .argument('<checkpoint>', 'checkpoint folder or file (model.pt / .safetensors with config.yaml and tokens.txt beside it)')
    .requiredOption('--out <dir>', 'output folder')
    .action(async (checkpoint: string, options) => {
      process.exitCode = await convert(checkpoint, options);
    });

  registerQueueCommands(program);

  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    // commander has already printed usage errors; its exit code is the one to keep.
    const code = (error as { exitCode?: number }).exitCode;
    if (code !== undefined) {
      process.exitCode = code === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`emotion2vec: ${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}

await main();

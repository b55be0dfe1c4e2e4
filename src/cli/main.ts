#!/usr/bin/env node
/** The `emotion2vec` command: `analyze` audio files, `download` a model, `convert` a checkpoint. */
import { Command, InvalidArgumentError, Option } from 'commander';
import packageJson from '../../package.json';
import { DEFAULT_MODEL_ID } from '../model/hub/models.js';
import { analyze } from './analyze.js';
import { convert } from './convert.js';
import { download } from './download.js';

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

export function buildProgram(): Command {
  const program = new Command('emotion2vec')
    .description('Speech emotion recognition with emotion2vec+ on TensorFlow.js')
    .version(packageJson.version, '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('analyze')
    .description('predict the emotion of audio files, folders (searched recursively) and lists (wav.scp "key path" lines, or one path a line)')
    .argument('<inputs...>', 'audio files (wav, mp3, flac, ogg, opus, m4a, ...), folders, or list files (.scp, .lst, .list, .txt)')
    .option('-m, --model <id or dir>', `model id (${DEFAULT_MODEL_ID}, emotion2vec/emotion2vec_plus_base (faster), iic/... on ModelScope), checkpoint folder or converted folder`, DEFAULT_MODEL_ID)
    .option('--hub <name>', 'hub for a model id: huggingface (default for emotion2vec/...) or modelscope (default for iic/...)')
    .option('--offline', 'never download: use the cached model or fail saying how to fetch it', false)
    .option('--cache-dir <dir>', 'model cache (default $EMOTION2VEC_CACHE, else ~/.cache/emotion2vec-tfjs)')
    .addOption(new Option('-g, --granularity <level>', 'embedding granularity').choices(['utterance', 'frame']).default('utterance'))
    .option('-e, --embedding', 'also write embedding.npy (inline numbers with --no-output --json)', false)
    .option('-o, --output-dir <dir>', 'run folder: one folder per input with result.json and processed_audio.wav, plus summary.csv (default outputs/output_<YYYYMMDD_HHMMSS>)')
    .option('--no-output', 'print results only; write no files')
    .option('--resume', 'skip inputs whose result.json in --output-dir is complete', false)
    .option('--json', 'print one JSON object per input (JSON Lines) instead of a table', false)
    .option('-b, --backend <name>', 'TensorFlow.js backend: auto, tensorflow, wasm, cpu', 'auto')
    .option('--batch-size <n>', 'inputs per forward pass (default: 1 on wasm/cpu, 8 on GPU and native backends)', positiveInteger)
    .option('--trim-silence', 'trim leading and trailing silence first (changes results vs upstream)', false)
    .option('--strict', 'treat audio quality warnings as errors', false)
    .option('--timeline', 'also write timeline.json and timeline.csv: speech and silence segments with their own scores (docs/long-audio.md)', false)
    .option('--plot', 'also write timeline.svg, a chart of the scores over time (implies --timeline)', false)
    .action(async (inputs: string[], options) => {
      if (options.resume && !options.outputDir) {
        process.stderr.write('emotion2vec: --resume needs the --output-dir of the run to finish.\n');
        process.exitCode = 2;
        return;
      }
      process.exitCode = await analyze(inputs, options);
    });

  program
    .command('download')
    .description('download a model by id into the cache and convert it (later runs start at once, offline too)')
    .argument('[id]', 'model id', DEFAULT_MODEL_ID)
    .option('--hub <name>', 'huggingface or modelscope (default: the id\'s own hub)')
    .option('--cache-dir <dir>', 'model cache (default $EMOTION2VEC_CACHE, else ~/.cache/emotion2vec-tfjs)')
    .action(async (id: string, options) => {
      process.exitCode = await download(id, options);
    });

  program
    .command('convert')
    .description('convert a checkpoint into a folder that loads fast, in Node and browsers (model.json + weight shards)')
    .argument('<checkpoint>', 'checkpoint folder or file (model.pt / .safetensors with config.yaml and tokens.txt beside it)')
    .requiredOption('--out <dir>', 'output folder')
    .action(async (checkpoint: string, options) => {
      process.exitCode = await convert(checkpoint, options);
    });

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

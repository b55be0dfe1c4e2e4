#!/usr/bin/env node
/** The `emotion2vec` command: `analyze` audio files, `download` a model, `convert` a checkpoint. */
import { Command, Option } from 'commander';
import packageJson from '../../package.json';
import { DEFAULT_MODEL_ID } from '../hub/models.js';
import { installNodePlatform } from '../node-platform.js';
import { analyze, PLOT_HELP, sharedOutputOptions, TIMELINE_HELP } from './analyze.js';
import { convert } from './convert.js';
import { serve } from './serve.js';
import { evaluateCommand } from './evaluate.js';
import { trainHeadCommand } from './train-head.js';
import {
  commaList,
  computeOption,
  fraction,
  MAX_DURATION_HELP,
  nonNegativeInteger,
  nonNegativeNumber,
  portNumber,
  positiveInteger,
  positiveNumber,
} from './options.js';
import { download } from './download.js';
import { registerQueueCommands } from './queue.js';

export function buildProgram(): Command {
  const program = new Command('emotion2vec')
    .description('Speech emotion recognition with emotion2vec+ on TensorFlow.js')
    .version(packageJson.version, '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();

  const analyzeCommand = program
    .command('analyze')
    .description(
      'predict the emotion of audio files, folders (searched recursively) and lists (wav.scp "key path" lines, or one path a line)',
    )
    .argument(
      '<inputs...>',
      'audio files (wav, mp3, flac, ogg, opus, m4a, ...), folders, or list files (.scp, .lst, .list, .txt)',
    )
    .option(
      '-m, --model <id or dir>',
      `model id (${DEFAULT_MODEL_ID}, emotion2vec/emotion2vec_plus_base (faster), iic/... on ModelScope), checkpoint folder or converted folder`,
      DEFAULT_MODEL_ID,
    )
    .option(
      '--hub <name>',
      'hub for a model id: huggingface (default for emotion2vec/...) or modelscope (default for iic/...)',
    )
    .option('--offline', 'never download: use the cached model or fail saying how to fetch it', false)
    .option('--cache-dir <dir>', 'model cache (default $EMOTION2VEC_CACHE, else ~/.cache/emotion2vec-tfjs)')
    .addOption(
      new Option('-g, --granularity <level>', 'embedding granularity')
        .choices(['utterance', 'frame'])
        .default('utterance'),
    )
    .option('-e, --embedding', 'also write embedding.npy (inline numbers with --no-output --json)', false)
    .option(
      '-o, --output-dir <dir>',
      'run folder: one folder per input with result.json and processed_audio.wav, plus summary.csv (default outputs/output_<YYYYMMDD_HHMMSS>)',
    )
    .option('--no-output', 'print results only; write no files')
    .option('--resume', 'skip inputs whose result.json in --output-dir is complete', false)
    .option('--json', 'print one JSON object per input (JSON Lines) instead of a table', false)
    .option('-b, --backend <name>', 'TensorFlow.js backend: auto, tensorflow, wasm, cpu', 'auto')
    .addOption(computeOption())
    .option(
      '--batch-size <n>',
      'inputs per forward pass (default: 1 on wasm/cpu, 8 on GPU and native backends)',
      positiveInteger,
    )
    .option('--trim-silence', 'trim leading and trailing silence first (changes results vs upstream)', false)
    .option('--strict', 'treat audio quality warnings as errors', false)
    .option('--head <dir>', "a classification head written by train-head, predicting its labels instead of the model's")
    .option('--timeline', TIMELINE_HELP, false)
    .option('--plot', PLOT_HELP, false)
    .option(
      '--full-frame-series',
      'with --no-output: the whole frame series in each JSON line, not at most 2000 rows of it',
      false,
    )
    .option('--max-duration <seconds>', MAX_DURATION_HELP, positiveNumber);
  for (const option of sharedOutputOptions()) analyzeCommand.addOption(option);
  analyzeCommand.action(async (inputs: string[], options) => {
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
    .option('--hub <name>', "huggingface or modelscope (default: the id's own hub)")
    .option('--cache-dir <dir>', 'model cache (default $EMOTION2VEC_CACHE, else ~/.cache/emotion2vec-tfjs)')
    .action(async (id: string, options) => {
      process.exitCode = await download(id, options);
    });

  program
    .command('convert')
    .description(
      'convert a checkpoint into a folder that loads fast, in Node and browsers (model.json + weight shards)',
    )
    .argument(
      '<checkpoint>',
      'checkpoint folder or file (model.pt / .safetensors with config.yaml and tokens.txt beside it), or a model id (fetched into the cache first)',
    )
    .requiredOption('--out <dir>', 'output folder')
    .option('--hub <name>', "for a model id: huggingface or modelscope (default: the id's own hub)")
    .option('--offline', 'never download: convert a cached model id or fail saying how to fetch it', false)
    .option('--cache-dir <dir>', 'model cache (default $EMOTION2VEC_CACHE, else ~/.cache/emotion2vec-tfjs)')
    .addOption(
      new Option(
        '--dtype <type>',
        'how to store the weights: float32 (exact), float16 (half the size), int8 (a quarter; per-channel scales)',
      )
        .choices(['float32', 'float16', 'int8'])
        .default('float32'),
    )
    .action(async (checkpoint: string, options) => {
      process.exitCode = await convert(checkpoint, options);
    });

  program
    .command('serve')
    .description('serve the REST API (POST /predict_emotion) and the web page')
    .option(
      '-m, --model <id or dir>',
      'model id (downloaded once into the cache) or a checkpoint / converted folder',
      DEFAULT_MODEL_ID,
    )
    .option(
      '--hub <name>',
      'hub for a model id: huggingface (default for emotion2vec/...) or modelscope (default for iic/...)',
    )
    .option('--offline', 'never download: use the cached model or fail saying how to fetch it', false)
    .option('--cache-dir <dir>', 'model cache (default $EMOTION2VEC_CACHE, else ~/.cache/emotion2vec-tfjs)')
    .option(
      '--redis <url>',
      'also accept POST /jobs and GET /jobs/:id, handing files to the queue workers on this Redis',
    )
    .option('--input-root <dir>', 'with --redis: the folder whose files POST /jobs may name (as the workers see it)')
    .option('-p, --port <n>', 'port to listen on (0: any free port)', portNumber, 7860)
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--max-body-mb <n>', 'largest upload, in MiB', (value) => positiveInteger(value), 32)
    .option(
      '--queue-size <n>',
      'requests that may wait for the model; more get 503 with Retry-After',
      (value) => positiveInteger(value),
      16,
    )
    .option('-b, --backend <name>', 'TensorFlow.js backend: auto, tensorflow, wasm, cpu', 'auto')
    .addOption(computeOption())
    .option('--no-page-model', 'do not offer the model to the page (no in-browser mode, no converted copy)')
    .option(
      '--save-outputs <dir>',
      "keep each request's results as the WebUI does: <dir>/output_<YYYYMMDD_HHMMSS>/<key>/result.json, processed_audio.wav...",
    )
    .option('--no-request-log', 'print no line per request (time, method, path, status, ms) on stdout')
    .option('--max-duration <seconds>', `${MAX_DURATION_HELP} (0: no bound)`, nonNegativeNumber, 1200)
    .option(
      '--max-inflight-mb <n>',
      'upload bytes held at once across requests (default 4 x --max-body-mb)',
      positiveNumber,
    )
    .option('--body-timeout <seconds>', 'an upload that sends nothing for this long gets 408', positiveNumber, 30)
    .option(
      '--request-timeout <seconds>',
      'a whole request (headers and body) must arrive within this',
      positiveNumber,
      300,
    )
    .option('--headers-timeout <seconds>', 'request headers must arrive within this', positiveNumber, 20)
    .option(
      '--allowed-hosts <names>',
      'comma-separated Host names to answer besides IP addresses, localhost and this machine (behind a proxy; * for any)',
      commaList,
    )
    .option(
      '--allowed-origins <origins>',
      'comma-separated origins (https://app.example.org) whose pages may call the API besides this server (* for any)',
      commaList,
    )
    .option(
      '--allow-url-hosts <hosts>',
      'with --redis: hosts or CIDR ranges POST /jobs URLs may name although they are loopback/private (* for any)',
      commaList,
    )
    .action(async (options) => {
      process.exitCode = await serve(options);
    });

  program
    .command('train-head')
    .description('train a classification head for new labels on the frozen model (docs/train-head.md)')
    .requiredOption('-d, --data <file>', 'labelled recordings: a CSV of path,label rows, or a wav.scp (with --labels)')
    .option('-l, --labels <file>', 'labels of a wav.scp: <key> <label> per line')
    .option('-m, --model <id or dir>', 'the base model: id or checkpoint / converted folder', DEFAULT_MODEL_ID)
    .requiredOption(
      '-o, --out <dir>',
      'folder to write the head to (head.json, tokens.txt, layers.*.npy; embedding cache in <dir>/cache)',
    )
    .option('--classes <list>', 'comma-separated class labels in output order (default: the labels found, sorted)')
    .option('--hidden <units>', 'one ReLU hidden layer of this many units (default 0: linear head)', nonNegativeInteger)
    .option('--epochs <n>', 'most epochs (default 200; early stopping usually ends sooner)', positiveInteger)
    .option('--batch-size <n>', 'examples per Adam step (default 32)', positiveInteger)
    .option('--learning-rate <x>', "Adam's learning rate (default 0.01)", positiveNumber)
    .option('--weight-decay <x>', 'L2 penalty on the weights (default 0.01)', nonNegativeNumber)
    .option(
      '--validation-split <x>',
      'share of each class held out for early stopping (default 0.2; 0: none)',
      fraction,
    )
    .option('--patience <n>', 'epochs without a better validation loss before stopping (default 20)', positiveInteger)
    .option('--no-class-weights', 'weigh every example the same (default: every class the same)')
    .option('--seed <n>', 'seed of the split, initial weights and batch order (default 0)', nonNegativeInteger)
    .option(
      '--soft-labels <weight>',
      "mix the base model's scores into the targets with this weight (0 to 1; classes must be the model's labels)",
      fraction,
    )
    .option('--cache <dir>', 'embedding cache folder (default <out>/cache)')
    .option('-b, --backend <name>', 'TensorFlow.js backend: auto, tensorflow, wasm, cpu', 'auto')
    .option('--trim-silence', 'trim leading and trailing silence first', false)
    .option('--json', 'print the summary as JSON', false)
    .option('-q, --quiet', 'no progress lines on stderr', false)
    .option('--force', 'write into --out even when it holds files other than a head (never into a model folder)', false)
    .action(async (options) => {
      process.exitCode = await trainHeadCommand(options);
    });

  program
    .command('evaluate')
    .description(
      "score the model's head, or a trained one, on labelled recordings: accuracy, macro F1, UA, confusion matrix",
    )
    .requiredOption('-d, --data <file>', 'labelled recordings: a CSV of path,label rows, or a wav.scp (with --labels)')
    .option('-l, --labels <file>', 'labels of a wav.scp: <key> <label> per line')
    .option('-m, --model <id or dir>', 'the base model: id or checkpoint / converted folder', DEFAULT_MODEL_ID)
    .option('--head <dir>', "a head written by train-head (default: the model's own labels)")
    .option('-o, --out <dir>', 'write evaluation.json and confusion.svg here (embedding cache in <dir>/cache)')
    .option('--cache <dir>', "embedding cache folder (e.g. the train-head run's <out>/cache)")
    .option('-b, --backend <name>', 'TensorFlow.js backend: auto, tensorflow, wasm, cpu', 'auto')
    .option('--trim-silence', 'trim leading and trailing silence first', false)
    .option('--json', 'print the evaluation as JSON', false)
    .option('--force', 'write into --out even when it holds files other than an evaluation', false)
    .action(async (options) => {
      process.exitCode = await evaluateCommand(options);
    });
  registerQueueCommands(program);

  return program;
}

async function main(): Promise<void> {
  // The CLI is a Node program: local files, ffmpeg, the model cache and Node's backends, before any command runs.
  installNodePlatform();
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

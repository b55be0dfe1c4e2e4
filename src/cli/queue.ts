/** Registers the queue commands (`worker`, `enqueue`, `status`) on the CLI program: one fleet on Redis. */
import { Option, type Command } from 'commander';
import { DEFAULT_MODEL_ID } from '../hub/models.js';
import { DEFAULT_QUEUE_NAME } from '../queue/connection.js';
import { DEFAULT_RETRY_POLICY } from '../queue/producer.js';
import { PLOT_HELP, sharedOutputOptions, TIMELINE_HELP } from './analyze.js';
import { enqueue } from './enqueue.js';
import {
  commaList,
  computeOption,
  MAX_DURATION_HELP,
  nonNegativeNumber,
  positiveInteger,
  positiveNumber,
} from './options.js';
import { status } from './status.js';
import { worker } from './worker.js';

const REDIS_HELP = 'Redis URL, e.g. redis://127.0.0.1:6379 (rediss:// for TLS)';
const QUEUE_HELP = 'queue name: one per run keeps runs apart';

export function registerQueueCommands(program: Command): void {
  program
    .command('worker')
    .description('take analysis jobs from a Redis queue with one warm model, until SIGTERM (see docs/queue.md)')
    .requiredOption('--redis <url>', REDIS_HELP)
    .requiredOption(
      '-o, --output-dir <dir>',
      'write <dir>/<key>/result.json (and embedding.npy) per job, and summary.csv when the run is done',
    )
    .option('-m, --model <id or dir>', 'model id, checkpoint folder or converted folder (as analyze)', DEFAULT_MODEL_ID)
    .option('--hub <name>', 'hub for a model id: huggingface or modelscope (as analyze)')
    .option('--offline', 'never download: use the cached model or fail saying how to fetch it', false)
    .option('--cache-dir <dir>', 'model cache (default $EMOTION2VEC_CACHE, else ~/.cache/emotion2vec-tfjs)')
    .option('-b, --backend <name>', 'TensorFlow.js backend: auto, tensorflow, wasm, cpu', 'auto')
    .addOption(computeOption())
    .option('-c, --concurrency <n>', 'jobs at once in this process (they share the one model)', positiveInteger, 1)
    .option('-q, --queue <name>', QUEUE_HELP, DEFAULT_QUEUE_NAME)
    .option(
      '--lock-seconds <s>',
      "seconds before a dead worker's job goes to another worker; must exceed the longest inference",
      positiveInteger,
      120,
    )
    .option(
      '--max-stalls <n>',
      'times a job may lose its worker before it is dead-lettered (JOB_STALLED)',
      positiveInteger,
      2,
    )
    .option('--max-duration <seconds>', `${MAX_DURATION_HELP} (0: no bound)`, nonNegativeNumber, 4 * 3600)
    .option(
      '--download-stall-timeout <seconds>',
      'a job URL that sends nothing for this long is dropped and the job retried',
      positiveNumber,
      30,
    )
    .option('--download-timeout <seconds>', 'longest a job URL download may take in all', positiveNumber, 900)
    .option(
      '--allow-url-hosts <hosts>',
      'comma-separated hosts or CIDR ranges job URLs may reach although they are loopback/private (* for any)',
      commaList,
    )
    .action(async (options) => {
      process.exitCode = await worker(options);
    });

  const enqueueCommand = program
    .command('enqueue')
    .description('put one analysis job per input on a Redis queue')
    .argument(
      '<inputs...>',
      'audio files, folders (searched recursively), list files (.scp "key path" lines, .lst/.list/.txt one path a line) or http(s) URLs',
    )
    .requiredOption('--redis <url>', REDIS_HELP)
    .option('-q, --queue <name>', QUEUE_HELP, DEFAULT_QUEUE_NAME)
    .addOption(
      new Option('-g, --granularity <level>', 'embedding granularity')
        .choices(['utterance', 'frame'])
        .default('utterance'),
    )
    .option('-e, --embedding', 'also write embedding.npy', false)
    .option('--trim-silence', 'trim leading and trailing silence first (changes results vs upstream)', false)
    .option('--strict', 'treat audio quality warnings as errors', false)
    .option('--timeline', TIMELINE_HELP, false)
    .option('--plot', PLOT_HELP, false)
    .option(
      '--attempts <n>',
      'tries per job for transient failures (poison inputs are never retried)',
      positiveInteger,
      DEFAULT_RETRY_POLICY.attempts,
    )
    .option(
      '--backoff-ms <ms>',
      'first retry delay; each further retry waits twice as long',
      positiveInteger,
      DEFAULT_RETRY_POLICY.backoffMs,
    )
    .option('--json', 'print one JSON object', false);
  for (const option of sharedOutputOptions()) enqueueCommand.addOption(option);
  enqueueCommand.action(async (inputs: string[], options) => {
    process.exitCode = await enqueue(inputs, options);
  });

  program
    .command('status')
    .description('counts, dead-lettered inputs with their error codes, and summary.csv once the run is done')
    .requiredOption('--redis <url>', REDIS_HELP)
    .option('-q, --queue <name>', QUEUE_HELP, DEFAULT_QUEUE_NAME)
    .option('-o, --output-dir <dir>', "the workers' output folder: write summary.csv there when the run is done")
    .option('--json', 'print one JSON object', false)
    .action(async (options) => {
      process.exitCode = await status(options);
    });
}

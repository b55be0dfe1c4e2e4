/**
 * `emotion2vec worker --redis <url> --output-dir <dir> [--model <id or folder>]`: one warm model per process takes
 * analysis jobs from the queue until SIGTERM/SIGINT. The first signal stops taking jobs and finishes the current
 * ones; a second one hands them back to the queue at once. When the last job of the run finishes, the worker
 * writes `<output-dir>/summary.csv`.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseHubName } from '../hub/models.js';
import { Emotion2Vec, type ComputePrecision } from '../model/emotion2vec.js';
import { connectRedis, openQueue, redactPassword, watchRedis } from '../queue/connection.js';
import { isRunDone, writeRunSummary } from '../queue/status.js';
import { startAnalysisWorker, WORKER_NAME } from '../queue/worker.js';
import { reportFatal } from './output.js';

export interface WorkerCommandOptions {
  readonly redis: string;
  readonly outputDir: string;
  readonly model: string;
  readonly hub?: string;
  readonly offline?: boolean;
  readonly cacheDir?: string;
  readonly backend: string;
  /** --compute: undefined, the library's default. */
  readonly compute?: ComputePrecision;
  readonly concurrency: number;
  readonly queue: string;
  /** Seconds a dead worker's job stays locked before another worker takes it. */
  readonly lockSeconds: number;
  /** Times a job may lose its worker before it is dead-lettered (JOB_STALLED). */
  readonly maxStalls: number;
  /** Longest audio analysed, in seconds (0: no bound). */
  readonly maxDuration: number;
  /** Seconds a job URL may send nothing before the download is dropped (and the job retried). */
  readonly downloadStallTimeout: number;
  /** Seconds a job URL download may take in all. */
  readonly downloadTimeout: number;
  /** Hosts or ranges job URLs may reach although they resolve to special addresses. */
  readonly allowUrlHosts?: string[];
}

export async function worker(options: WorkerCommandOptions): Promise<number> {
  let redis: Redis;
  let model: Emotion2Vec;
  try {
    redis = await connectRedis(options.redis);
  } catch (error) {
    reportFatal(error);
    return 2;
  }
  try {
    model = await Emotion2Vec.load(options.model, {
      backend: options.backend as never,
      hub: parseHubName(options.hub),
      offline: options.offline,
      cacheDir: options.cacheDir,
      compute: options.compute,
      // Packed and one inference run before the first job: it is answered at full speed.
      ready: 'warm',
    });
  } catch (error) {
    reportFatal(error);
    redis.disconnect();
    return 2;
  }
  const queue = openQueue(redis, options.queue);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${WORKER_NAME} ${line}\n`);
  watchRedis(redis, log);
  // Reconnects are logged once by the watcher; BullMQ would print each one's stack.
  queue.on('error', () => undefined);
  const running = startAnalysisWorker({
    connection: redis,
    queueName: options.queue,
    outputDir: options.outputDir,
    model,
    modelId: options.model,
    concurrency: options.concurrency,
    lockMs: options.lockSeconds * 1000,
    maxStalls: options.maxStalls,
    ...(options.maxDuration > 0 ? { maxDurationSeconds: options.maxDuration } : {}),
    download: {
      stallMs: options.downloadStallTimeout * 1000,
      deadlineMs: options.downloadTimeout * 1000,
      ...(options.allowUrlHosts ? { allowHosts: options.allowUrlHosts } : {}),
    },
    log,
  });
  const summarize = summaryWriter(queue, options.outputDir, log);
  running.worker.on('completed', summarize);
  running.worker.on('failed', summarize);
  log(
    `ready: queue "${options.queue}" on ${redactPassword(options.redis)}, model ${options.model} on ${model.backend} (${model.compute}), results in ${options.outputDir}`,
  );

  await new Promise<void>((resolve) => {
    let signals = 0;
    const stop = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        log(`${signal}: finishing the current job, then stopping (send it again to hand the job back now)`);
        running.close().then(resolve, resolve);
      } else if (signals === 2) {
        log(`${signal}: handing the current job back to the queue`);
        running.close({ release: true }).then(resolve, resolve);
      }
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await summarize.idle();
  await queue.close().catch(() => undefined);
  redis.disconnect();
  model.dispose();
  log('stopped');
  return 0;
}

/** Writes summary.csv when the run is done; one write at a time, and again if more jobs finished meanwhile. */
function summaryWriter(
  queue: Queue,
  outputDir: string,
  log: (line: string) => void,
): (() => void) & { idle(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  let pending = false;
  const check = async () => {
    if (!(await isRunDone(queue))) return;
    const summary = await writeRunSummary(queue, outputDir);
    log(
      `run done: ${summary.ok} ok, ${summary.failed} dead-lettered -> ${summary.path}${summary.missing.length ? ` (${summary.missing.length} results not in this output folder)` : ''}`,
    );
  };
  const trigger = () => {
    if (pending) return;
    pending = true;
    running = running
      .then(() => {
        pending = false;
        return check();
      })
      .catch((error: unknown) =>
        log(`summary.csv not written: ${String((error as Error)?.message ?? error).slice(0, 300)}`),
      );
  };
  return Object.assign(trigger, { idle: () => running });
}

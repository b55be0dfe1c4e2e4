/**
 * `emotion2vec enqueue <inputs...> --redis <url> [analyze's options]`: one job per input on the queue, keyed by its
 * output folder name, so running it twice queues each input once. Paths are made absolute: workers on other
 * machines see the same shared file system.
 */
import { resolve } from 'node:path';
import type { Granularity } from '../model/emotion2vec.js';
import { uniqueOutputNames } from '../results/folder.js';
import { connectRedis, openQueue } from '../queue/connection.js';
import { isUrl } from '../queue/input.js';
import type { AnalysisJob } from '../queue/job.js';
import { enqueueJobs } from '../queue/producer.js';
import { reportFatal } from './output.js';

export interface EnqueueCommandOptions {
  readonly redis: string;
  readonly queue: string;
  readonly granularity: Granularity;
  readonly embedding: boolean;
  readonly trimSilence: boolean;
  readonly strict: boolean;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly json: boolean;
}

/** An input and its key (wav.scp key or file name) before keys are made unique folder names. */
interface ListedInput {
  readonly input: string;
  readonly key: string;
}

export async function enqueue(inputs: string[], options: EnqueueCommandOptions): Promise<number> {
  let listed: ListedInput[];
  try {
    listed = await listInputs(inputs);
  } catch (error) {
    reportFatal(error);
    return 2;
  }
  let redis;
  try {
    redis = await connectRedis(options.redis);
  } catch (error) {
    reportFatal(error);
    return 2;
  }
  const queue = openQueue(redis, options.queue);
  try {
    const keys = uniqueOutputNames(listed.map((item) => item.key));
    const jobOptions = { granularity: options.granularity, embedding: options.embedding, trimSilence: options.trimSilence, strict: options.strict };
    const jobs: AnalysisJob[] = listed.map((item, i) => ({ input: item.input, key: keys[i]!, options: jobOptions }));
    const report = await enqueueJobs(queue, jobs, { attempts: options.attempts, backoffMs: options.backoffMs });
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ queue: queue.name, ...report })}\n`);
    } else {
      process.stdout.write(`queue ${queue.name}: ${report.added} added, ${report.alreadyQueued} already queued, ${report.conflicts.length} refused\n`);
      for (const conflict of report.conflicts) {
        process.stdout.write(`  ${conflict.input}: key "${conflict.key}" is already queued for ${conflict.queuedInput}; use another --queue or rename the file\n`);
      }
    }
    return report.conflicts.length > 0 ? 1 : 0;
  } catch (error) {
    reportFatal(error);
    return 2;
  } finally {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}

/** TODO(merge): the batch CLI's input listing (files, folders, wav.scp) replaces this files-only version. */
async function listInputs(inputs: string[]): Promise<ListedInput[]> {
  return inputs.map((input) => {
    if (isUrl(input)) return { input, key: keyOfName(new URL(input).pathname) };
    return { input: resolve(input), key: keyOfName(input) };
  });
}

function keyOfName(path: string): string {
  const name = path.split(/[\\/]/).pop() ?? '';
  const dot = name.lastIndexOf('.');
  return (dot > 0 ? name.slice(0, dot) : name) || 'input';
}

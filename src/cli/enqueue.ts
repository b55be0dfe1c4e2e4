/**
 * `emotion2vec enqueue <files | folders | wav.scp...> --redis <url> [analyze's options]`: one job per input on the
 * queue, listed as `analyze` lists them and keyed by the same output folder names, so running it twice queues each
 * input once. Paths are made absolute: workers on other machines see them on the same shared file system.
 */
import { resolve } from 'node:path';
import { printable, RESERVED_OUTPUT_NAMES, uniqueOutputNames } from '../results/folder.js';
import { isHttpUrl } from '../io/url.js';
import type { AnalysisJob, JobOptions } from '../queue/job.js';
import { enqueueJobs } from '../queue/producer.js';
import { collectInputs, type InputItem } from './inputs.js';
import { withQueue } from './with-queue.js';
import { reportFatal } from './output.js';
import { processedAudioFormat } from './analyze.js';
import type { ProcessedAudioFormat } from '../results/analysis-options.js';

/** The job options every queued input carries, plus where and how to queue. */
export interface EnqueueCommandOptions extends Omit<JobOptions, 'processedAudio'> {
  /** --processed-audio (false: --no-processed-audio). */
  readonly processedAudio: ProcessedAudioFormat | false;
  readonly redis: string;
  readonly queue: string;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly json: boolean;
}

export async function enqueue(inputs: string[], options: EnqueueCommandOptions): Promise<number> {
  let listed: InputItem[];
  try {
    listed = await collectInputs(inputs);
  } catch (error) {
    reportFatal(error);
    return 2;
  }
  const refused = listed.filter((item) => item.refused);
  for (const item of refused) process.stderr.write(`emotion2vec: not queued: ${item.refused}\n`);
  listed = listed.filter((item) => !item.refused);
  if (listed.length === 0) {
    process.stderr.write(`emotion2vec: no audio files found in ${inputs.map(printable).join(', ')}.\n`);
    return 2;
  }
  return withQueue(options.redis, options.queue, async (queue) => {
    const folders = uniqueOutputNames(
      listed.map((item) => item.key),
      RESERVED_OUTPUT_NAMES,
    );
    const jobOptions: JobOptions = {
      granularity: options.granularity,
      embedding: options.embedding,
      trimSilence: options.trimSilence,
      strict: options.strict,
      processedAudio: processedAudioFormat(options.processedAudio),
      timeline: options.timeline,
      plot: options.plot,
      replyLanguage: options.replyLanguage,
    };
    const jobs: AnalysisJob[] = listed.map((item, i) => ({
      input: isHttpUrl(item.path) ? item.path : resolve(item.path),
      key: folders[i]!,
      ...(item.listedKey ? { listedKey: item.key } : {}),
      options: jobOptions,
    }));
    const report = await enqueueJobs(queue, jobs, { attempts: options.attempts, backoffMs: options.backoffMs });
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ queue: queue.name, ...report })}\n`);
    } else {
      process.stdout.write(
        `queue ${queue.name}: ${report.added} added, ${report.alreadyQueued} already queued, ${report.conflicts.length} refused\n`,
      );
      for (const conflict of report.conflicts) {
        process.stdout.write(
          `  ${printable(conflict.input)}: key "${printable(conflict.key)}" is already queued for ${printable(conflict.queuedInput)}; use another --queue or rename the file\n`,
        );
      }
    }
    return report.conflicts.length > 0 || refused.length > 0 ? 1 : 0;
  });
}

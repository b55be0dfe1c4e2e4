/**
 * `POST /jobs` and `GET /jobs/:id` as a Fastify plugin, for the REST server to hand long files to the worker fleet
 * when it runs with `--redis` (`createServer({ ..., jobs: { queue, inputRoot } })` mounts it):
 *
 * ```ts
 * await app.register(jobsRoutes, { queue, inputRoot: '/srv/audio' });
 * ```
 *
 * `POST /jobs` takes JSON `{ "input": "<path under inputRoot, or http(s) URL>", "key"?, "granularity"?,
 * "embedding"?, "trimSilence"?, "strict"?, "processedAudio"?, "timeline"?, "plot"? }` and answers 202 with the
 * job's id; the same input posted again gets the same job (200). `GET /jobs/:id` answers its state, its small
 * result record once completed, or its error code once dead-lettered. Errors are the server's error records
 * (`{ input, key, error: { code, message } }`) with its statuses (src/server/http-errors.ts), whether the plugin
 * is mounted by `createServer` or on an app of its own.
 */
import type { Job, Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { isEmotion2VecError, quote, UsageError } from '../errors.js';
import { outputKey } from '../results/output-key.js';
import { hashedOutputName } from '../results/safe-name.js';
import { parseFailedReason } from '../queue/dead-letter.js';
import { isHttpUrl } from '../io/url.js';
import { checkKey, jobIdForKey, MAX_INPUT_LENGTH, parseJobOptions, type AnalysisJob } from '../queue/job.js';
import { enqueueJobs, type RetryPolicy } from '../queue/producer.js';
import { checkUrlHost, type UrlPolicy } from '../queue/url-guard.js';
import type { JobResult } from '../queue/worker.js';
import { errorResponse, type BodyRules } from './http-errors.js';

export interface JobsRoutesOptions {
  readonly queue: Queue;
  /** Folder the workers can read: posted paths must resolve inside it. Without it only URLs are accepted. */
  readonly inputRoot?: string;
  readonly retry?: RetryPolicy;
  /**
   * Hosts that posted URLs may name although they resolve to loopback, private or link-local addresses (the
   * workers check again when they fetch: `worker --allow-url-hosts`).
   */
  readonly urls?: UrlPolicy;
}

/** What `/health` says of the queue: whether its Redis answers now. */
export interface JobsHealth {
  /** 'connecting' at start, 'unavailable' while a lost connection is being retried. */
  readonly redis: 'ready' | 'connecting' | 'unavailable';
}

/** Longest a request waits on Redis before it is answered 503. */
const REDIS_DEADLINE_MS = 5_000;

/** The state of the queue's Redis connection (its ioredis client's status). */
export function jobsHealth(queue: Queue): JobsHealth {
  const status = (queue.opts.connection as { status?: unknown } | undefined)?.status;
  if (status === undefined || status === 'ready') return { redis: 'ready' };
  return { redis: status === 'wait' || status === 'connecting' || status === 'connect' ? 'connecting' : 'unavailable' };
}

function queueUnavailable(cause?: unknown): UsageError {
  return new UsageError(
    'QUEUE_UNAVAILABLE',
    'The job queue is unavailable (its Redis does not answer); retry later. POST /predict_emotion still works.',
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Runs a queue operation now, or answers 503 at once: a Redis that is down (reconnecting) is not waited for, and
 * one that stops answering mid-request is waited for REDIS_DEADLINE_MS at most.
 */
async function onQueue<T>(queue: Queue, operation: () => Promise<T>): Promise<T> {
  if (jobsHealth(queue).redis === 'unavailable') throw queueUnavailable();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(queueUnavailable()), REDIS_DEADLINE_MS);
  });
  try {
    return await Promise.race([operation(), late]);
  } catch (error) {
    // Our own refusals pass; anything else from Redis or BullMQ (a closed connection...) is the queue being down.
    throw isEmotion2VecError(error) ? error : queueUnavailable(error);
  } finally {
    clearTimeout(timer);
  }
}

/** What `GET /jobs/:id` answers. */
export interface JobView {
  readonly id: string;
  readonly key: string;
  readonly input: string;
  /** waiting, active, delayed (waiting for a retry), completed, failed (dead-lettered). */
  readonly state: string;
  readonly attempts: number;
  readonly result?: JobResult;
  readonly error?: { code: string; message: string };
}

/** Largest JSON body: one path or URL and a few options. */
const BODY_LIMIT = 16 * 1024;

const JOB_BODY: BodyRules = {
  tooLarge: `POST /jobs takes at most ${BODY_LIMIT / 1024} KiB: the audio's path or URL and a few options, not the audio itself.`,
  wrongType:
    'POST /jobs takes a JSON object (content-type application/json): { "input": "<path or URL>", ...options }.',
};

export const jobsRoutes: FastifyPluginAsync<JobsRoutesOptions> = async (app, options) => {
  const { queue } = options;
  // BullMQ re-emits every failed reconnect as an 'error' event, and prints its stack when nobody listens: the
  // routes answer 503 and /health says so instead.
  queue.on('error', () => undefined);

  // This plugin's routes answer failures as every route of the server does, with their own body rules.
  app.setErrorHandler((error, request, reply) => {
    const { input, key } = postedNames(request.body);
    const { status, body } = errorResponse(error, input, JOB_BODY, key);
    if (status >= 500) request.log.error({ err: error }, 'jobs request failed');
    void reply.code(status).send(body);
  });

  app.post('/jobs', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const job = await jobFromBody(request.body, options.inputRoot, options.urls);
    const report = await onQueue(queue, () => enqueueJobs(queue, [job], options.retry));
    if (report.conflicts.length > 0) {
      const message = `The key ${quote(job.key)} is already used by another input; pass another "key".`;
      throw new UsageError('JOB_INVALID', message, { details: { conflict: true } });
    }
    const id = jobIdForKey(job.key);
    return reply
      .code(report.added === 1 ? 202 : 200)
      .header('location', `/jobs/${encodeURIComponent(id)}`)
      .send({ id, key: job.key });
  });

  app.get<{ Params: { id: string } }>('/jobs/:id', async (request) => {
    const id = request.params.id;
    const job = id.length <= 1024 ? await onQueue(queue, () => queue.getJob(id)) : undefined;
    if (!job) throw new UsageError('JOB_NOT_FOUND', `No job ${quote(id, 100)} on this queue.`);
    return viewOf(job as Job, await onQueue(queue, () => job.getState()));
  });
};

/** The input and key a POST body names, as its error record echoes them ('' for what it does not name). */
function postedNames(body: unknown): { input: string; key: string } {
  const { input, key } = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const named = (value: unknown) => (typeof value === 'string' && value.length <= MAX_INPUT_LENGTH ? value : '');
  return { input: named(input), key: named(key) };
}

/** Builds and checks a job from a POST body; a path must sit inside inputRoot, a URL's host be a public one. */
async function jobFromBody(body: unknown, inputRoot: string | undefined, urls: UrlPolicy = {}): Promise<AnalysisJob> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new UsageError('JOB_INVALID', 'Send a JSON object: { "input": "<path or URL>", ...options }.');
  const { input, key, ...rest } = body as Record<string, unknown>;
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_INPUT_LENGTH)
    throw new UsageError('JOB_INVALID', '"input" must be a file path or an http(s) URL.');
  if (isHttpUrl(input) && !URL.canParse(input))
    throw new UsageError('JOB_INVALID', `"input" starts like a URL but is not one: ${quote(input, 200)}.`);
  const options = parseJobOptions(rest);
  const checkedKey = key === undefined ? undefined : checkKey(key);
  if (isHttpUrl(input)) await checkUrlHost(input, urls);
  const resolved = isHttpUrl(input) ? input : await pathInside(input, inputRoot);
  return {
    input: resolved,
    key: checkedKey ?? hashedOutputName(outputKey(resolved), resolved),
    options,
  };
}

async function pathInside(input: string, inputRoot: string | undefined): Promise<string> {
  if (!inputRoot)
    throw new UsageError(
      'JOB_INVALID',
      'This server takes http(s) URLs only (it was started without an input folder for paths).',
    );
  const root = await realpath(inputRoot);
  const path = resolve(root, input);
  // Resolve links too, so a symlink inside the root cannot point the workers at a file outside it.
  const real = await realpath(path).catch(() => null);
  const rel = real === null ? null : relative(root, real);
  if (rel === null || rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new UsageError(
      'AUDIO_FILE_NOT_FOUND',
      `${quote(input, 200)} is not a file inside the server's input folder.`,
    );
  }
  return real!;
}

function viewOf(job: Job, state: string): JobView {
  const data = job.data as AnalysisJob;
  return {
    id: String(job.id),
    key: data.key,
    input: data.input,
    state: state === 'prioritized' || state === 'waiting-children' ? 'waiting' : state,
    attempts: job.attemptsMade,
    ...(state === 'completed' ? { result: job.returnvalue as JobResult } : {}),
    ...(state === 'failed' ? { error: parseFailedReason(job.failedReason) } : {}),
  };
}

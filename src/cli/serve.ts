/** `emotion2vec serve`: the REST API and the web page, on a model loaded and warmed before the server listens. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHubName } from '../hub/models.js';
import { resolveModelSource } from '../model/hub-source.js';
import type { BackendName } from '../backend/select.js';
import type { ComputePrecision } from '../model/emotion2vec.js';
import { createServer } from '../server/app.js';
import { startInferenceThread, type ThreadModel } from '../server/inference-thread.js';
import type { JobsRoutesOptions } from '../server/jobs-routes.js';
import { preparePageModel, type PageModel } from '../server/page-model.js';
import { CheckpointError, UsageError } from '../errors.js';
import { reportFatal } from './output.js';

export interface ServeOptions {
  readonly model: string;
  readonly port: number;
  readonly host: string;
  readonly maxBodyMb: number;
  readonly queueSize: number;
  readonly backend: string;
  /** --compute: undefined, the library's default. */
  readonly compute?: ComputePrecision;
  /** false with --no-page-model: the page offers the server mode only (no converted copy is made). */
  readonly pageModel: boolean;
  readonly hub?: string;
  readonly offline?: boolean;
  readonly cacheDir?: string;
  /** With --redis: POST /jobs and GET /jobs/:id hand long files to the queue's workers. */
  readonly redis?: string;
  /** Folder whose files POST /jobs may name (the workers must see the same paths). */
  readonly inputRoot?: string;
  /** Longest audio analysed, in seconds (--max-duration; 0: no bound). */
  readonly maxDuration: number;
  /** Upload bytes held at once across requests, in MiB (--max-inflight-mb; default 4 x --max-body-mb). */
  readonly maxInflightMb?: number;
  /** Seconds an upload may send nothing before it gets 408 (--body-timeout). */
  readonly bodyTimeout: number;
  /** Seconds the whole request may take to arrive (--request-timeout). */
  readonly requestTimeout: number;
  /** Seconds the request headers may take to arrive (--headers-timeout). */
  readonly headersTimeout: number;
  /** Host names answered besides IP addresses, localhost and this machine's name (--allowed-hosts; '*': any). */
  readonly allowedHosts?: string[];
  /** Origins whose pages may call the API besides the server's own (--allowed-origins; '*': any). */
  readonly allowedOrigins?: string[];
  /** Hosts that POST /jobs URLs may name although they resolve to special addresses (--allow-url-hosts). */
  readonly allowUrlHosts?: string[];
  /** --save-outputs: keep each request's run folder here, as `analyze` writes one. */
  readonly saveOutputs?: string;
  /** false with --no-request-log: no line per request on stdout. */
  readonly requestLog?: boolean;
}

/** The inference thread's script, beside this module: the TypeScript source in a clone, the bundle in dist/. */
function inferenceWorkerScript(): URL {
  const source = import.meta.url.endsWith('.ts');
  return new URL(source ? './inference-worker.ts' : './inference-worker.js', import.meta.url);
}

/** The built page (dist/web beside dist/cli.js), or a fresh esbuild bundle when run from a clone. */
async function webRoot(): Promise<{ folder: string; dispose: () => Promise<void> }> {
  const built = fileURLToPath(new URL('./web/', import.meta.url));
  if (existsSync(join(built, 'app.js'))) return { folder: built, dispose: async () => undefined };
  const folder = await mkdtemp(join(tmpdir(), 'emotion2vec-web-'));
  const { buildWebApp } = await import('../web/build.js');
  await buildWebApp(folder);
  return { folder, dispose: () => rm(folder, { recursive: true, force: true }) };
}

/** Starts the server; resolves with the exit code once it stops (Ctrl-C / SIGTERM), or 2 when it cannot start. */
export async function serve(options: ServeOptions): Promise<number> {
  let page: PageModel | undefined;
  let web: { folder: string; dispose: () => Promise<void> } | undefined;
  let closeQueue: (() => Promise<void>) | undefined;
  let model: ThreadModel | undefined;
  try {
    // Before the model loads (seconds to minutes): a port that is taken is the user's to change, now.
    await checkCanListen(options.host, options.port);
    // A model id is downloaded (or found in the cache) once; the page is served the same local files.
    const hubOptions = { hub: parseHubName(options.hub), offline: options.offline, cacheDir: options.cacheDir };
    const source = await resolveModelSource(options.model, hubOptions);
    if (typeof source !== 'string')
      throw new CheckpointError(
        'MODEL_NOT_FOUND',
        `serve needs a model folder or id; got ${String(source).slice(0, 80)}.`,
      );
    // The model runs in a worker thread (loaded and warmed up there), so that requests are answered while it works.
    model = await startInferenceThread({
      script: inferenceWorkerScript(),
      source,
      backend: options.backend as BackendName,
      ...(options.compute ? { compute: options.compute } : {}),
    });
    const warmMs = model.warmUpMs;
    page = options.pageModel ? await preparePageModel(source) : undefined;
    web = await webRoot();
    let jobs: JobsRoutesOptions | undefined;
    if (options.redis) {
      // Imported only when asked for, so a server without a queue never loads BullMQ.
      const { connectRedis, openQueue, watchRedis } = await import('../queue/connection.js');
      const redis = await connectRedis(options.redis);
      watchRedis(redis, (line) => process.stderr.write(`emotion2vec serve: ${line}\n`));
      const queue = openQueue(redis);
      closeQueue = async () => {
        await queue.close();
        redis.disconnect();
      };
      jobs = {
        queue,
        ...(options.inputRoot ? { inputRoot: options.inputRoot } : {}),
        ...(options.allowUrlHosts ? { urls: { allowHosts: options.allowUrlHosts } } : {}),
      };
    }
    const app = await createServer({
      model,
      modelId: options.model,
      maxBodyMb: options.maxBodyMb,
      queueSize: options.queueSize,
      maxDurationSeconds: options.maxDuration > 0 ? options.maxDuration : null,
      ...(options.maxInflightMb === undefined ? {} : { maxInflightMb: options.maxInflightMb }),
      bodyTimeoutSeconds: options.bodyTimeout,
      requestTimeoutSeconds: options.requestTimeout,
      headersTimeoutSeconds: options.headersTimeout,
      ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
      ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
      webRoot: web.folder,
      ...(page ? { pageModel: page } : {}),
      ...(jobs ? { jobs } : {}),
      ...(options.saveOutputs ? { saveOutputs: options.saveOutputs } : {}),
      ...(options.requestLog === false ? {} : { requestLog: (line: string) => void process.stdout.write(`${line}\n`) }),
      logger: { level: 'warn' },
    });
    const address = await app.listen({ port: options.port, host: options.host }).catch((error: unknown) => {
      throw listenFailure(error, options.host, options.port);
    });
    process.stdout.write(
      `emotion2vec serving ${options.model} on ${model.backend}, ${model.compute} (warm-up ${warmMs.toFixed(0)} ms) at ${address}\n`,
    );
    if (options.saveOutputs) process.stdout.write(`saving each request's outputs in ${options.saveOutputs}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await app.close();
    return 0;
  } catch (error) {
    reportFatal(error);
    return 2;
  } finally {
    await model?.close();
    await closeQueue?.();
    await page?.dispose();
    await web?.dispose();
  }
}

/**
 * Fails fast when the server could not listen on `host:port` (taken, privileged, not this machine's address), by
 * listening there once and closing. Port 0 always works. The server's own listen can still lose a race for the
 * port; it reports the same error.
 */
async function checkCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', (error) => reject(listenFailure(error, host, port)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** What a failed listen means for the user, and which option to change. */
function listenFailure(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  const where = `${host}:${port}`;
  if (code === 'EADDRINUSE')
    return new UsageError(
      'SERVER_LISTEN_FAILED',
      `Port ${port} is already in use on ${host} (another server, or an emotion2vec serve still running). Pick another with --port <n> (--port 0 takes any free port), or stop the other process.`,
    );
  if (code === 'EACCES')
    return new UsageError(
      'SERVER_LISTEN_FAILED',
      `Not allowed to listen on ${where}: ports below 1024 need privileges. Pick a port above 1023 with --port.`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new UsageError(
      'SERVER_LISTEN_FAILED',
      `Cannot listen on ${where}: --host ${host} is not an address of this machine. Use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface).`,
    );
  return error;
}

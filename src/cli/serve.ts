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
import { UsageError } from '../errors.js';
import { Emotion2Vec } from '../model/emotion2vec.js';
import { createServer } from '../server/app.js';
import type { JobsRoutesOptions } from '../server/jobs-routes.js';
import { preparePageModel, type PageModel } from '../server/page-model.js';
import { warmUp } from '../model/warm-up.js';
import { reportFatal } from './output.js';

export interface ServeOptions {
  readonly model: string;
  readonly port: number;
  readonly host: string;
  readonly maxBodyMb: number;
  readonly queueSize: number;
  readonly backend: string;
  /** false with --no-page-model: the page offers the server mode only (no converted copy is made). */
  readonly pageModel: boolean;
  readonly hub?: string;
  readonly offline?: boolean;
  readonly cacheDir?: string;
  /** With --redis: POST /jobs and GET /jobs/:id hand long files to the queue's workers. */
  readonly redis?: string;
  /** Folder whose files POST /jobs may name (the workers must see the same paths). */
  readonly inputRoot?: string;
  /** --save-outputs: keep each request's run folder here, as `analyze` writes one. */
  readonly saveOutputs?: string;
  /** false with --no-request-log: no line per request on stdout. */
  readonly requestLog?: boolean;
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
  try {
    // Before the model loads (seconds to minutes): a port that is taken is the user's to change, now.
    await checkCanListen(options.host, options.port);
    // A model id is downloaded (or found in the cache) once; the page is served the same local files.
    const hubOptions = { hub: parseHubName(options.hub), offline: options.offline, cacheDir: options.cacheDir };
    const source = await resolveModelSource(options.model, hubOptions);
    const model = await Emotion2Vec.load(source, { backend: options.backend as BackendName });
    const warmMs = await warmUp(model);
    page = options.pageModel && typeof source === 'string' ? await preparePageModel(source) : undefined;
    web = await webRoot();
    let jobs: JobsRoutesOptions | undefined;
    if (options.redis) {
      // Imported only when asked for, so a server without a queue never loads BullMQ.
      const { connectRedis, openQueue } = await import('../queue/connection.js');
      const redis = await connectRedis(options.redis);
      const queue = openQueue(redis);
      closeQueue = async () => {
        await queue.close();
        redis.disconnect();
      };
      jobs = { queue, ...(options.inputRoot ? { inputRoot: options.inputRoot } : {}) };
    }
    const app = await createServer({
      model,
      modelId: options.model,
      maxBodyMb: options.maxBodyMb,
      queueSize: options.queueSize,
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
      `emotion2vec serving ${options.model} on ${model.backend} (warm-up ${warmMs.toFixed(0)} ms) at ${address}\n`,
    );
    if (options.saveOutputs) process.stdout.write(`saving each request's outputs in ${options.saveOutputs}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await app.close();
    model.dispose();
    return 0;
  } catch (error) {
    reportFatal(error);
    return 2;
  } finally {
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

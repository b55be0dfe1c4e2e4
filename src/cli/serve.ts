/** `emotion2vec serve`: the REST API and the web page, on a model loaded and warmed before the server listens. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHubName } from '../hub/models.js';
import { resolveModelSource } from '../model/hub-source.js';
import type { BackendName } from '../backend/select.js';
import { Emotion2Vec, type ComputePrecision } from '../model/emotion2vec.js';
import { createServer } from '../server/app.js';
import type { JobsRoutesOptions } from '../server/jobs-routes.js';
import { preparePageModel, type PageModel } from '../server/page-model.js';
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
    // A model id is downloaded (or found in the cache) once; the page is served the same local files.
    const hubOptions = { hub: parseHubName(options.hub), offline: options.offline, cacheDir: options.cacheDir };
    const source = await resolveModelSource(options.model, hubOptions);
    // Ready only once warm (packed, one inference run): the first request is answered at full speed.
    const loadStart = performance.now();
    const model = await Emotion2Vec.load(source, {
      backend: options.backend as BackendName,
      compute: options.compute,
      ready: 'warm',
    });
    const readyMs = performance.now() - loadStart;
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
      logger: { level: 'warn' },
    });
    const address = await app.listen({ port: options.port, host: options.host });
    process.stdout.write(
      `emotion2vec serving ${options.model} on ${model.backend}, ${model.compute} (loaded and warm in ${readyMs.toFixed(0)} ms) at ${address}\n`,
    );
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

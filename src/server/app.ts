/**
 * The REST API and the web page of `emotion2vec serve`, as a Fastify app factory: `createServer({ model })`
 * returns an app that tests drive with `app.inject` or a real `listen`, and that the CLI starts.
 *
 * - `POST /predict_emotion`: multipart field `audio` plus option fields -> one result record (src/results/record.ts);
 * - `GET /health`, `GET /labels`;
 * - with `jobs` (a BullMQ queue): `POST /jobs`, `GET /jobs/:id`, handing files to the queue's workers (jobs-routes.ts);
 * - `GET /` the page, `/app/*` its script, `/wasm/*` the tfjs wasm files, `/model/*` the converted model the
 *   page runs itself.
 *
 * One model, one inference at a time, through a bounded queue (503 with Retry-After when full). Every failure, on
 * every route, is a JSON error record with the status of http-errors.ts (4xx for what the client can fix); nothing
 * a client sends stops the server.
 * Every response makes the page cross-origin isolated (COOP/COEP), so that in-page wasm can use threads.
 */
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { createServer as createHttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { UsageError } from '../errors.js';
import { labelNames } from '../results/record.js';
import { PAGE_HTML } from '../web/page-html.js';
import { errorResponse, type BodyRules } from './http-errors.js';
import type { JobsRoutesOptions } from './jobs-routes.js';
import { outputKey } from '../results/output-key.js';
import { parseRequestOptions } from './options.js';
import type { PageModel } from './page-model.js';
import { requestGuard, type RequestGuardOptions } from './request-guard.js';
import { logRequests } from './request-log.js';
import { analyzeUpload } from './save-outputs.js';
import { SerialQueue, type QueueTicket } from './serial-queue.js';
import type { ServerModel } from './server-model.js';
import { ByteBudget, MAX_FIELD_BYTES, MAX_FIELDS, uploadReader, type UploadReader } from './upload.js';

export interface ServerOptions extends RequestGuardOptions {
  /**
   * A loaded (ideally warmed, see warmUp) model: an `Emotion2Vec` (it runs on this thread), or the model in a worker
   * thread (startInferenceThread: the server stays responsive during an inference). The server never disposes it.
   */
  readonly model: ServerModel;
  /** Model id or folder, written into every result record (an absolute path is shown by its last part only). */
  readonly modelId: string;
  /** Largest request body, in MiB (default 32: about 17 minutes of 16-bit 16 kHz WAV). */
  readonly maxBodyMb?: number;
  /** Most requests waiting for or running an inference, uploads being read included; the next gets 503 (default 16). */
  readonly queueSize?: number;
  /** Most upload bytes held at once across all requests, in MiB (default 4 x maxBodyMb); more gets 503. */
  readonly maxInflightMb?: number;
  /** Longest audio analysed, in seconds (default 1200); longer uploads get 422 AUDIO_TOO_LONG. null: no bound. */
  readonly maxDurationSeconds?: number | null;
  /** An upload that sends nothing for this long gets 408 and its connection is closed (default 30). */
  readonly bodyTimeoutSeconds?: number;
  /** The whole request (headers and body) must arrive within this (default 300; Node answers 408). */
  readonly requestTimeoutSeconds?: number;
  /** The request headers must arrive within this (default 20). */
  readonly headersTimeoutSeconds?: number;
  /** The built page script (app.js, app.css and chunks); without it `/` says how to build it. */
  readonly webRoot?: string;
  /** The converted model for the page's in-browser mode; without it the page offers the server mode only. */
  readonly pageModel?: PageModel;
  /** Fastify's logger option (default off). */
  readonly logger?: FastifyServerOptions['logger'];
  /** A job queue (and the folder posted paths must sit in): adds `POST /jobs` and `GET /jobs/:id`. */
  readonly jobs?: JobsRoutesOptions;
  /**
   * Keep each request's outputs as the WebUI does: `<saveOutputs>/output_<YYYYMMDD_HHMMSS>/<key>/...`, the folder
   * `emotion2vec analyze` writes (save-outputs.ts); the answer names it in the `X-Output-Folder` header.
   */
  readonly saveOutputs?: string;
  /** Receives one line per answered request: time, method, path, status, milliseconds (request-log.ts). */
  readonly requestLog?: (line: string) => void;
}

/** The default bound on an upload's length: a 32 MiB WAV of 16-bit 16 kHz speech is 17.5 minutes. */
export const DEFAULT_SERVER_MAX_DURATION_SECONDS = 1200;
/** Idle connections are closed after this (Node's default; Fastify's 72 s keeps sockets around for nothing). */
const KEEP_ALIVE_MS = 5_000;
/** How often Node checks the header and request timeouts (its default, 30 s, would let them overrun by that). */
const TIMEOUT_CHECK_MS = 1_000;

function wasmDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
}

/** What the server calls its model: an id as given, a folder by its last part (never a path of this machine). */
export function publicModelName(modelId: string): string {
  const trimmed = modelId.replace(/[/\\]+$/, '');
  return isAbsolute(trimmed) || trimmed.startsWith('~') ? basename(trimmed) : trimmed;
}

/** Builds the app (not listening yet). Close it with `app.close()`. */
export async function createServer(options: ServerOptions): Promise<FastifyInstance> {
  const { model } = options;
  const modelName = publicModelName(options.modelId);
  const maxBodyBytes = Math.round((options.maxBodyMb ?? 32) * 2 ** 20);
  const maxDurationSeconds =
    options.maxDurationSeconds === null
      ? undefined
      : (options.maxDurationSeconds ?? DEFAULT_SERVER_MAX_DURATION_SECONDS);
  const upload: BodyRules = {
    tooLarge:
      `The request is over the server's limit of ${(maxBodyBytes / 2 ** 20).toFixed(1)} MiB (one audio file and a few ` +
      'option fields). Send a shorter file or start the server with a larger --max-body-mb.',
    wrongType:
      'POST /predict_emotion takes multipart/form-data with the audio file in the field "audio" (e.g. curl -F audio=@speech.wav).',
  };
  const queue = new SerialQueue(options.queueSize ?? 16);
  const budget = new ByteBudget(Math.round((options.maxInflightMb ?? 4 * (maxBodyBytes / 2 ** 20)) * 2 ** 20));
  const bodyIdleMs = (options.bodyTimeoutSeconds ?? 30) * 1000;
  const requestTimeoutMs = (options.requestTimeoutSeconds ?? 300) * 1000;
  const headersTimeoutMs = Math.min((options.headersTimeoutSeconds ?? 20) * 1000, requestTimeoutMs);
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: maxBodyBytes,
    // Node's own timeouts: headers that trickle in, a request that never ends (both answered 408 by Node).
    serverFactory: (handler) =>
      createHttpServer(
        {
          headersTimeout: headersTimeoutMs,
          requestTimeout: requestTimeoutMs,
          keepAliveTimeout: KEEP_ALIVE_MS,
          connectionsCheckingInterval: TIMEOUT_CHECK_MS,
        },
        handler,
      ),
  });
  if (options.requestLog) logRequests(app, options.requestLog);

  await app.register(fastifyMultipart, {
    throwFileSizeLimit: true,
    limits: { fileSize: maxBodyBytes, files: 2, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, parts: MAX_FIELDS + 2 },
  });

  // A page of another site, or a name rebound to this machine, is refused before anything else happens.
  const guard = requestGuard(options);
  app.addHook('onRequest', async (request) => {
    const origin = request.headers.origin;
    guard({ host: request.headers.host, ...(typeof origin === 'string' ? { origin } : {}) });
  });

  // Cross-origin isolation: the page may then use SharedArrayBuffer, and tfjs runs its threaded wasm build there
  // (XNNPACK's products on several cores) instead of the single-threaded one. Everything the page loads is
  // served from here, so nothing it needs is blocked by require-corp.
  app.addHook('onSend', async (_request, reply) => {
    void reply.header('Cross-Origin-Opener-Policy', 'same-origin');
    void reply.header('Cross-Origin-Embedder-Policy', 'require-corp');
  });

  app.setErrorHandler((error, request, reply) => {
    const { status, body } = errorResponse(error, '', upload);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const routes = `POST /predict_emotion, GET /health, GET /labels${options.jobs ? ', POST /jobs, GET /jobs/:id' : ''}`;
    const error = new UsageError(
      'NOT_FOUND',
      `No route ${request.method} ${request.url.slice(0, 200)}. The API: ${routes}; the page is at /.`,
    );
    const { status, body } = errorResponse(error, '', upload);
    void reply.code(status).send(body);
  });

  // Loaded only when asked for, so a server without a queue never loads BullMQ.
  const jobsModule = options.jobs ? await import('./jobs-routes.js') : undefined;
  app.get('/health', async () => {
    const jobs = options.jobs && jobsModule?.jobsHealth(options.jobs.queue);
    return {
      status: jobs && jobs.redis !== 'ready' ? 'degraded' : 'ok',
      model: modelName,
      backend: model.backend,
      labels: model.labels.length,
      embeddingDim: model.embeddingDim,
      queue: { size: queue.size, capacity: queue.capacity },
      maxBodyBytes,
      maxDurationSeconds: maxDurationSeconds ?? null,
      pageModel: options.pageModel ? { url: '/model/model.json', fingerprint: options.pageModel.fingerprint } : null,
      ...(jobs ? { jobs } : {}),
    };
  });

  app.get('/labels', async () => ({ labels: model.labels.map(labelNames) }));

  app.post('/predict_emotion', async (request, reply) => {
    let input = '';
    let ticket: QueueTicket | undefined;
    let reader: UploadReader | undefined;
    try {
      if (!request.isMultipart()) {
        throw new UsageError(
          'REQUEST_UNSUPPORTED_TYPE',
          `POST /predict_emotion takes multipart/form-data (got ${String(request.headers['content-type'] ?? 'no content type').slice(0, 80)}): send the audio file in the field "audio", e.g. curl -F audio=@speech.wav.`,
        );
      }
      // A place in the queue first: a full server reads no more of the upload than its first bytes (to tell what
      // is not audio so) and holds none of it.
      let refusal: Error | undefined;
      try {
        ticket = queue.reserve();
      } catch (error) {
        refusal = error as Error;
      }
      reader = uploadReader(request, {
        maxBodyBytes,
        budget,
        idleMs: bodyIdleMs,
        retryAfterSeconds: () => queue.retryAfterSeconds,
        ...(refusal ? { refusal } : {}),
      });
      const audio = await reader.read();
      input = audio.fileName;
      const analysisOptions = parseRequestOptions(audio.fields);
      const file = new File([audio.bytes as Uint8Array<ArrayBuffer>], audio.fileName);
      // Answered inline (the embedding's numbers, the frame series and the timeline in the record); with
      // saveOutputs, also written to a run folder.
      const answer = await ticket!.run(() =>
        analyzeUpload(model, modelName, { file, input, key: outputKey(input) }, analysisOptions, {
          ...(options.saveOutputs === undefined ? {} : { saveOutputs: options.saveOutputs }),
          ...(maxDurationSeconds === undefined ? {} : { maxDurationSeconds }),
        }),
      );
      if (answer.folder) void reply.header('X-Output-Folder', encodeURI(answer.folder));
      return answer.record;
    } catch (error) {
      const { status, body } = errorResponse(error, input || (reader?.fileName ?? ''), upload);
      // Server faults go to the log with their cause (an OUTPUT_WRITE_FAILED answer names no path; the log does).
      if (status >= 500 && status !== 503) request.log.error({ err: error }, 'prediction failed');
      if (status === 503) void reply.header('Retry-After', String(queue.retryAfterSeconds));
      // A request refused before its body was read to the end: close the connection rather than read the rest.
      if (!request.raw.readableEnded) void reply.header('Connection', 'close');
      return reply.code(status).send(body);
    } finally {
      ticket?.release();
      reader?.release();
    }
  });

  if (options.jobs && jobsModule) await app.register(jobsModule.jobsRoutes, options.jobs);

  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE_HTML));
  if (options.webRoot) {
    await app.register(fastifyStatic, {
      root: options.webRoot,
      prefix: '/app/',
      decorateReply: false,
      index: false,
      dotfiles: 'deny',
    });
  }
  await app.register(fastifyStatic, {
    root: wasmDirectory(),
    prefix: '/wasm/',
    decorateReply: false,
    index: false,
    allowedPath: (path) => path.endsWith('.wasm'),
  });
  if (options.pageModel) {
    const served = new Set(options.pageModel.files.map((name) => `/${name}`));
    await app.register(fastifyStatic, {
      root: options.pageModel.folder,
      prefix: '/model/',
      decorateReply: false,
      index: false,
      allowedPath: (path) => served.has(path),
    });
  }
  return app;
}

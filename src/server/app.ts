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
import fastifyMultipart, { type MultipartFile } from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import type { Emotion2Vec } from '../model/emotion2vec.js';
import { labelNames } from '../results/record.js';
import { PAGE_HTML } from '../web/page-html.js';
import { errorResponse, type BodyRules } from './http-errors.js';
import type { JobsRoutesOptions } from './jobs-routes.js';
import { outputKey } from '../results/output-key.js';
import { parseRequestOptions } from './options.js';
import type { PageModel } from './page-model.js';
import { logRequests } from './request-log.js';
import { analyzeUpload } from './save-outputs.js';
import { SerialQueue } from './serial-queue.js';

export interface ServerOptions {
  /** A loaded (ideally warmed, see warmUp) model. The server never disposes it. */
  readonly model: Emotion2Vec;
  /** Model id or folder, written into every result record. */
  readonly modelId: string;
  /** Largest request body, in MiB (default 32: about 17 minutes of 16-bit 16 kHz WAV). */
  readonly maxBodyMb?: number;
  /** Most requests waiting for or running an inference; the next gets 503 (default 16). */
  readonly queueSize?: number;
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

/** Option fields are short words; more of them than this is not a real client. */
const MAX_FIELDS = 16;
const MAX_FIELD_BYTES = 1024;
const AUDIO_FIELD = 'audio';
const MAX_FILE_NAME = 255;

interface Upload {
  readonly fileName: string;
  readonly bytes: Buffer;
}

function wasmDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
}

/**
 * Reads every part of a multipart body (the body is always consumed, so the connection stays usable):
 * the one file, and the option fields as strings.
 */
async function readUpload(
  request: FastifyRequest,
): Promise<{ audio: Upload | null; fields: Record<string, string>; extraFiles: string[] }> {
  let audio: Upload | null = null;
  const fields: Record<string, string> = {};
  const extraFiles: string[] = [];
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      const file = part as MultipartFile;
      const bytes = await file.toBuffer();
      // The name is the client's to choose: kept short, since it is echoed in every record.
      if (file.fieldname === AUDIO_FIELD && audio === null)
        audio = { fileName: (file.filename || 'upload').slice(0, MAX_FILE_NAME), bytes };
      else extraFiles.push(file.fieldname);
    } else {
      fields[part.fieldname] = String(part.value);
    }
  }
  return { audio, fields, extraFiles };
}

/** Builds the app (not listening yet). Close it with `app.close()`. */
export async function createServer(options: ServerOptions): Promise<FastifyInstance> {
  const { model, modelId } = options;
  const maxBodyBytes = Math.round((options.maxBodyMb ?? 32) * 2 ** 20);
  const upload: BodyRules = {
    tooLarge:
      `The request is over the server's limit of ${(maxBodyBytes / 2 ** 20).toFixed(1)} MiB (one audio file and a few ` +
      'option fields). Send a shorter file or start the server with a larger --max-body-mb.',
    wrongType:
      'POST /predict_emotion takes multipart/form-data with the audio file in the field "audio" (e.g. curl -F audio=@speech.wav).',
  };
  const queue = new SerialQueue(options.queueSize ?? 16);
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: maxBodyBytes });
  if (options.requestLog) logRequests(app, options.requestLog);

  await app.register(fastifyMultipart, {
    throwFileSizeLimit: true,
    limits: { fileSize: maxBodyBytes, files: 2, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, parts: MAX_FIELDS + 2 },
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

  app.get('/health', async () => ({
    status: 'ok',
    model: modelId,
    backend: model.backend,
    labels: model.labels.length,
    embeddingDim: model.embeddingDim,
    queue: { size: queue.size, capacity: queue.capacity },
    maxBodyBytes,
    pageModel: options.pageModel ? { url: '/model/model.json', fingerprint: options.pageModel.fingerprint } : null,
  }));

  app.get('/labels', async () => ({ labels: model.labels.map(labelNames) }));

  app.post('/predict_emotion', async (request, reply) => {
    let input = '';
    try {
      if (!request.isMultipart()) {
        throw new UsageError(
          'REQUEST_UNSUPPORTED_TYPE',
          `POST /predict_emotion takes multipart/form-data (got ${String(request.headers['content-type'] ?? 'no content type').slice(0, 80)}): send the audio file in the field "audio", e.g. curl -F audio=@speech.wav.`,
        );
      }
      const { audio, fields, extraFiles } = await readUpload(request);
      input = audio?.fileName ?? '';
      if (extraFiles.length > 0) {
        throw new UsageError(
          'REQUEST_UNKNOWN_OPTION',
          `Unexpected file field(s): ${extraFiles.map((name) => `"${name.slice(0, 40)}"`).join(', ')}. Send one file, in the field "audio".`,
        );
      }
      if (!audio)
        throw new UsageError(
          'REQUEST_MISSING_FIELD',
          'The request has no file in the field "audio". Send the recording as multipart/form-data, e.g. curl -F audio=@speech.wav.',
        );
      const analysisOptions = parseRequestOptions(fields);
      const file = new File([audio.bytes as Uint8Array<ArrayBuffer>], audio.fileName);
      // Answered inline (the embedding's numbers, the frame series and the timeline in the record); with
      // saveOutputs, also written to a run folder.
      const answer = await queue.run(() =>
        analyzeUpload(model, modelId, { file, input, key: outputKey(input) }, analysisOptions, options.saveOutputs),
      );
      if (answer.folder) void reply.header('X-Output-Folder', encodeURI(answer.folder));
      return answer.record;
    } catch (error) {
      const { status, body } = errorResponse(error, input, upload);
      if (status >= 500) request.log.error({ err: error }, 'prediction failed');
      if (body.error.code === 'SERVER_BUSY') void reply.header('Retry-After', String(queue.retryAfterSeconds));
      return reply.code(status).send(body);
    }
  });

  if (options.jobs) {
    // Loaded only when asked for, so a server without a queue never loads BullMQ.
    const { jobsRoutes } = await import('./jobs-routes.js');
    await app.register(jobsRoutes, options.jobs);
  }

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

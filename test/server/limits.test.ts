/**
 * The server's bounds on what clients send (src/server/upload.ts, request-guard.ts, app.ts): each client mistake
 * with its own 4xx, capacity and bytes in flight checked before an upload is held, idle bodies timed out, foreign
 * `Host` and cross-site `Origin` refused, decoded length bounded; and the model in a worker thread
 * (inference-thread.ts) answering like the library while `/health` stays live during a long inference.
 */
import '../../src/node.js';
import type { FastifyInstance } from 'fastify';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emotion2Vec } from '../../src/model/emotion2vec.js';
import { createServer, publicModelName } from '../../src/server/app.js';
import { startInferenceThread, type ThreadModel } from '../../src/server/inference-thread.js';
import { warmUp } from '../../src/model/warm-up.js';
import { fixturePath } from '../support/fixtures.js';
import { silentFlac } from '../hostile/make.js';
import {
  audioFixture,
  multipart,
  multipartHead,
  PNG_BYTES,
  rawClient,
  watchedModel,
  wavBytes,
  type Part,
} from './support.js';

let model: Emotion2Vec;

beforeAll(async () => {
  model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
  await warmUp(model);
});

afterAll(() => model?.dispose());

const speech: Part = { name: 'audio', file: audioFixture('speech16k.wav'), fileName: 'speech16k.wav' };

async function post(app: FastifyInstance, parts: readonly Part[], headers: Record<string, string> = {}) {
  const form = await multipart(parts);
  return app.inject({
    method: 'POST',
    url: '/predict_emotion',
    payload: form.body,
    headers: { ...form.headers, ...headers },
  });
}

function codeOf(response: { statusCode: number; json(): unknown }): [number, string] {
  return [response.statusCode, (response.json() as { error?: { code: string } }).error?.code ?? 'ok'];
}

describe('each client mistake gets its own 4xx and message', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await createServer({ model, modelId: 'tiny', maxBodyMb: 1 });
  });
  afterAll(() => app?.close());

  it('three small files, twenty option fields, an option value of 2 KB', async () => {
    const small = { name: 'audio', file: wavBytes(800), fileName: 'a.wav' };
    const files = await post(app, [small, small, small]);
    expect(codeOf(files)).toEqual([400, 'REQUEST_TOO_MANY_FILES']);
    expect(files.json().error.message).toMatch(/one recording per request/);
    const fields = Array.from({ length: 20 }, (_, i) => ({ name: `option${i}`, value: 'x' }));
    const many = await post(app, [speech, ...fields]);
    expect(codeOf(many)).toEqual([400, 'REQUEST_TOO_MANY_FIELDS']);
    expect(many.json().error.message).not.toMatch(/MiB/);
    expect(codeOf(await post(app, [speech, { name: 'granularity', value: 'x'.repeat(2048) }]))).toEqual([
      400,
      'REQUEST_INVALID_OPTION',
    ]);
  });

  it('a multipart body cut short, or without a boundary, is 400 REQUEST_MALFORMED (not 500)', async () => {
    const form = await multipart([speech]);
    const truncated = await app.inject({
      method: 'POST',
      url: '/predict_emotion',
      payload: form.body.subarray(0, form.body.length - 200),
      headers: form.headers,
    });
    expect(codeOf(truncated)).toEqual([400, 'REQUEST_MALFORMED']);
    const noBoundary = await app.inject({
      method: 'POST',
      url: '/predict_emotion',
      payload: form.body,
      headers: { 'content-type': 'multipart/form-data' },
    });
    expect(codeOf(noBoundary)).toEqual([400, 'REQUEST_MALFORMED']);
    expect(noBoundary.json().error.message).toContain('Boundary not found');
  });

  it('what is not audio is refused from its first bytes (415), also when the queue is full', async () => {
    const watched = watchedModel(model);
    const full = await createServer({ model: watched.model, modelId: 'tiny', queueSize: 1 });
    try {
      const release = watched.hold();
      const held = post(full, [speech]);
      while ((await full.inject('/health')).json().queue.size < 1) await new Promise((r) => setImmediate(r));
      expect(codeOf(await post(full, [{ name: 'audio', file: PNG_BYTES, fileName: 'x.png' }]))).toEqual([
        415,
        'AUDIO_UNSUPPORTED_FORMAT',
      ]);
      expect(codeOf(await post(full, [speech]))).toEqual([503, 'SERVER_BUSY']);
      release();
      expect((await held).statusCode).toBe(200);
      expect(watched.stats.calls).toBe(1);
    } finally {
      await full.close();
    }
  });

  it('audio longer than the bound is 422 AUDIO_TOO_LONG: a 260 KB FLAC of 40 hours is refused from its headers', async () => {
    const bounded = await createServer({ model, modelId: 'tiny', maxDurationSeconds: 60 });
    try {
      const bomb = { name: 'audio', file: silentFlac(40 * 3600, 8000), fileName: 'silence.flac' };
      const refused = await post(bounded, [bomb]);
      expect(codeOf(refused)).toEqual([422, 'AUDIO_TOO_LONG']);
      expect(refused.json().error.message).toMatch(/40\.0 h long.*--max-duration/);
      expect(refused.json().input).toBe('silence.flac');
      expect((await post(bounded, [speech])).statusCode).toBe(200);
      // The server's default bound is on: 20 minutes.
      expect(codeOf(await post(app, [bomb]))).toEqual([422, 'AUDIO_TOO_LONG']);
    } finally {
      await bounded.close();
    }
  });
});

describe('requests from elsewhere: Host and Origin', () => {
  let app: FastifyInstance;
  let open: FastifyInstance;
  beforeAll(async () => {
    app = await createServer({ model, modelId: '/home/someone/models/tiny' });
    open = await createServer({
      model,
      modelId: 'tiny',
      allowedHosts: ['emotion.example.org'],
      allowedOrigins: ['https://app.example.org'],
    });
  });
  afterAll(async () => {
    await app?.close();
    await open?.close();
  });

  it('a foreign Host (DNS rebinding) is 403 on every route; IP addresses, localhost and allowed names are answered', async () => {
    for (const url of ['/health', '/', '/labels']) {
      const rebound = await app.inject({ url, headers: { host: 'attacker.example:7860' } });
      expect(codeOf(rebound), url).toEqual([403, 'REQUEST_HOST_NOT_ALLOWED']);
      expect(rebound.json().error.message).toContain('--allowed-hosts');
    }
    expect(codeOf(await post(app, [speech], { host: 'attacker.example' }))).toEqual([403, 'REQUEST_HOST_NOT_ALLOWED']);
    for (const host of ['127.0.0.1:7860', 'localhost:7860', '[::1]:7860', '192.168.1.20:7860', 'LOCALHOST'])
      expect((await app.inject({ url: '/health', headers: { host } })).statusCode, host).toBe(200);
    expect((await open.inject({ url: '/health', headers: { host: 'emotion.example.org' } })).statusCode).toBe(200);
    expect((await open.inject({ url: '/health', headers: { host: 'other.example.org' } })).statusCode).toBe(403);
  });

  it("a cross-site Origin is 403; the server's own origin and allowed ones are answered", async () => {
    const crossSite = await post(app, [speech], { host: '127.0.0.1:7860', origin: 'https://attacker.example' });
    expect(codeOf(crossSite)).toEqual([403, 'REQUEST_ORIGIN_NOT_ALLOWED']);
    expect(crossSite.json().error.message).toContain('--allowed-origins');
    expect(codeOf(await post(app, [speech], { host: '127.0.0.1:7860', origin: 'null' }))).toEqual([
      403,
      'REQUEST_ORIGIN_NOT_ALLOWED',
    ]);
    // Same host, other port: another origin.
    expect((await post(app, [speech], { host: '127.0.0.1:7860', origin: 'http://127.0.0.1:8080' })).statusCode).toBe(
      403,
    );
    expect((await post(app, [speech], { host: '127.0.0.1:7860', origin: 'http://127.0.0.1:7860' })).statusCode).toBe(
      200,
    );
    expect((await post(open, [speech], { host: '127.0.0.1:7860', origin: 'https://app.example.org' })).statusCode).toBe(
      200,
    );
  });

  it('/health and records name the model, never an absolute path of the machine', async () => {
    const health = (await app.inject('/health')).json();
    expect(health.model).toBe('tiny');
    expect(JSON.stringify(health)).not.toContain('/home/someone');
    expect((await post(app, [speech])).json().model).toBe('tiny');
    expect(publicModelName('emotion2vec/emotion2vec_plus_base')).toBe('emotion2vec/emotion2vec_plus_base');
    expect(publicModelName('/srv/models/plus_large/')).toBe('plus_large');
  });
});

describe('on a real socket: capacity, bytes in flight and idle bodies before anything is held', () => {
  let app: FastifyInstance;
  let port: number;
  let watched: ReturnType<typeof watchedModel>;
  beforeAll(async () => {
    watched = watchedModel(model);
    app = await createServer({
      model: watched.model,
      modelId: 'tiny',
      queueSize: 3,
      maxBodyMb: 1,
      maxInflightMb: 0.5,
      bodyTimeoutSeconds: 1,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(() => app?.close());

  it('uploads past the bytes in flight get 503 at once; a body that stops is answered 408 and closed', async () => {
    const slow = rawClient(port);
    const { head } = multipartHead(400_000);
    slow.write(head);
    slow.write(wavBytes(150_000).subarray(0, 300_000)); // 300 KB of the 400 KB file, then nothing
    // Wait until the server holds it (the queue counts it from its first byte).
    while ((await app.inject('/health')).json().queue.size < 1) await new Promise((r) => setTimeout(r, 20));
    const second = rawClient(port);
    second.write(head);
    second.write(wavBytes(150_000).subarray(0, 300_000));
    expect(await second.status).toBe(503);
    await second.closed;
    // The slow one: 408 after a second without bytes, and its connection closed.
    expect(await slow.status).toBe(408);
    await slow.closed;
    expect((await app.inject('/health')).json().queue.size).toBe(0);
    // The server still answers.
    expect((await post(app, [speech])).statusCode).toBe(200);
  }, 30_000);

  it('a full queue answers 503 before the upload is sent (the client never sends the rest)', async () => {
    const release = watched.hold();
    const held = [post(app, [speech]), post(app, [speech]), post(app, [speech])];
    while ((await app.inject('/health')).json().queue.size < 3) await new Promise((r) => setTimeout(r, 20));
    const refused = rawClient(port);
    const { head } = multipartHead(900_000);
    refused.write(head);
    refused.write(wavBytes(4000)); // the file's start only
    expect(await refused.status).toBe(503);
    await refused.closed;
    release();
    for (const response of await Promise.all(held)) expect(response.statusCode).toBe(200);
  }, 30_000);
});

describe('the model in a worker thread', () => {
  let thread: ThreadModel;
  let app: FastifyInstance;
  beforeAll(async () => {
    thread = await startInferenceThread({
      script: new URL('../../src/cli/inference-worker.ts', import.meta.url),
      source: fixturePath('tiny'),
      backend: 'wasm',
    });
    app = await createServer({ model: thread, modelId: 'tiny', queueSize: 1, maxDurationSeconds: 600 });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await thread?.close();
  });

  it('answers what the library answers, typed errors included', async () => {
    expect([thread.backend, thread.labels, thread.embeddingDim]).toEqual([
      model.backend,
      model.labels,
      model.embeddingDim,
    ]);
    const answer = await post(app, [speech, { name: 'embedding', value: 'true' }]);
    const expected = await model.predict(audioFixture('speech16k.wav'), { embedding: true });
    expect(Object.values(answer.json().scores)).toEqual(expected.scores);
    expect(answer.json().embedding.data).toEqual(Array.from(expected.embedding!.data));
    expect(codeOf(await post(app, [{ name: 'audio', file: wavBytes(100), fileName: 'short.wav' }]))).toEqual([
      422,
      'AUDIO_TOO_SHORT',
    ]);
  }, 60_000);

  it('--save-outputs writes the run folder through the thread, as analyze writes one', async () => {
    const root = mkdtempSync(join(tmpdir(), 'e2v-thread-save-'));
    const saving = await createServer({ model: thread, modelId: 'tiny', saveOutputs: root });
    try {
      const answer = await post(saving, [speech, { name: 'timeline', value: 'true' }]);
      expect(answer.statusCode).toBe(200);
      const folder = decodeURI(String(answer.headers['x-output-folder']));
      expect(folder).toMatch(/^output_\d{8}_\d{6}(-\d+)?\/speech16k$/);
      const record = JSON.parse(readFileSync(join(root, folder, 'result.json'), 'utf8'));
      expect(record.scores).toEqual(answer.json().scores);
      expect(Object.values(record.scores)).toEqual((await model.predict(audioFixture('speech16k.wav'))).scores);
      for (const file of ['processed_audio.wav', 'timeline.json', 'timeline.csv', '../summary.csv'])
        expect(existsSync(join(root, folder, file)), file).toBe(true);
    } finally {
      await saving.close();
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);

  it('a thread that dies fails its request with 500 INFERENCE_FAILED; the next request gets a new thread', async () => {
    const crashing = await startInferenceThread({
      script: new URL('./crashing-thread.ts', import.meta.url),
      source: fixturePath('tiny'),
      backend: 'wasm',
    });
    const server = await createServer({ model: crashing, modelId: 'tiny' });
    try {
      // 13 bytes that pass the sniff (a WAV header's start): the test script ends the thread on them.
      const crash = { name: 'audio', file: wavBytes(1000).subarray(0, 13), fileName: 'crash.wav' };
      expect(codeOf(await post(server, [crash]))).toEqual([500, 'INFERENCE_FAILED']);
      const after = await post(server, [speech]);
      expect(after.statusCode).toBe(200);
      expect(Object.values(after.json().scores)).toEqual((await model.predict(audioFixture('speech16k.wav'))).scores);
    } finally {
      await server.close();
      await crashing.close();
    }
  }, 120_000);

  it('while a long prediction runs, /health and a 503 refusal answer within 2 s', async () => {
    // Five minutes of audio: seconds of inference on the tiny model, run in the thread.
    const long = { name: 'audio', file: wavBytes(16_000 * 300), fileName: 'long.wav' };
    let finished = false;
    const running = post(app, [long]).then((response) => {
      finished = true;
      return response;
    });
    while ((await app.inject('/health')).json().queue.size < 1) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300)); // let the upload reach the thread
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      expect((await app.inject('/health')).statusCode).toBe(200);
      expect(codeOf(await post(app, [speech]))).toEqual([503, 'SERVER_BUSY']);
      expect(performance.now() - start).toBeLessThan(2000);
    }
    expect(finished).toBe(false); // the checks above ran during the inference
    expect((await running).statusCode).toBe(200);
  }, 120_000);
});

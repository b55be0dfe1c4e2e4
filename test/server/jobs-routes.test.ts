/**
 * POST /jobs and GET /jobs/:id (src/server/jobs-routes.ts) through fastify's inject, on a real Redis and one
 * in-process worker: on an app of their own and mounted by createServer, with the server's error records.
 */
import { Queue } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emotion2Vec } from '../../src/node.js';
import { createServer } from '../../src/server/app.js';
import { jobsRoutes } from '../../src/server/jobs-routes.js';
import { startAnalysisWorker, type AnalysisWorker } from '../../src/queue/worker.js';
import { fixturePath } from '../support/fixtures.js';
import { writeClip } from '../queue/inputs.js';
import { HAS_REDIS, startRedis, type TestRedis } from '../queue/redis-server.js';

describe.skipIf(!HAS_REDIS)('jobs routes', () => {
  const work = mkdtempSync(join(tmpdir(), 'e2v-jobs-http-'));
  const inputRoot = join(work, 'audio');
  let redis: TestRedis;
  let connection: Redis;
  let queue: Queue;
  let app: FastifyInstance;
  let urlOnly: FastifyInstance;

  beforeAll(async () => {
    mkdirSync(inputRoot);
    redis = await startRedis();
    connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue('http', { connection });
    app = Fastify();
    await app.register(jobsRoutes, { queue, inputRoot });
    urlOnly = Fastify();
    await urlOnly.register(jobsRoutes, { queue });
  });

  afterAll(async () => {
    await app?.close();
    await urlOnly?.close();
    await queue?.close();
    connection?.disconnect();
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const post = (server: FastifyInstance, payload: unknown) =>
    server.inject({ method: 'POST', url: '/jobs', payload: payload as object });

  it('queues a URL or a path inside the input folder (202), and the same input again is the same job (200)', async () => {
    const first = await post(urlOnly, { input: 'https://example.org/calls/call-1.mp3', granularity: 'frame' });
    expect(first.statusCode).toBe(202);
    const { id, key } = first.json();
    expect(key).toMatch(/^call-1-[0-9a-f]{8}$/);
    expect(first.headers.location).toBe(`/jobs/${encodeURIComponent(id)}`);
    const again = await post(urlOnly, { input: 'https://example.org/calls/call-1.mp3', granularity: 'frame' });
    expect([again.statusCode, again.json().id]).toEqual([200, id]);
    // Another input with the same file name gets its own key.
    expect((await post(urlOnly, { input: 'https://example.org/other/call-1.mp3' })).json().key).not.toBe(key);
    const view = await app.inject({ method: 'GET', url: `/jobs/${encodeURIComponent(id)}` });
    expect(view.json()).toEqual({
      id,
      key,
      input: 'https://example.org/calls/call-1.mp3',
      state: 'waiting',
      attempts: 0,
    });
  });

  it('takes the timeline options (as enqueue --timeline --plot) into the job', async () => {
    const posted = await post(urlOnly, { input: 'https://example.org/calls/long.mp3', timeline: true, plot: true });
    expect(posted.statusCode).toBe(202);
    expect((await queue.getJob(posted.json().id))!.data.options).toMatchObject({ timeline: true, plot: true });
    expect((await post(urlOnly, { input: 'https://example.org/calls/long2.mp3', plot: 'yes' })).statusCode).toBe(400);
  });

  it('refuses with a 4xx JSON error: paths outside the input folder (links included), paths on a URL-only server, bad options, a taken key, unknown ids', async () => {
    writeFileSync(join(work, 'secret.wav'), 'outside');
    symlinkSync(join(work, 'secret.wav'), join(inputRoot, 'link.wav'));
    const cases: [FastifyInstance, unknown, number, string][] = [
      [app, { input: '../secret.wav' }, 422, 'AUDIO_FILE_NOT_FOUND'],
      [app, { input: join(work, 'secret.wav') }, 422, 'AUDIO_FILE_NOT_FOUND'],
      [app, { input: 'link.wav' }, 422, 'AUDIO_FILE_NOT_FOUND'],
      [app, { input: 'missing.wav' }, 422, 'AUDIO_FILE_NOT_FOUND'],
      [urlOnly, { input: '/etc/passwd' }, 400, 'JOB_INVALID'],
      [urlOnly, { input: 'https://exa mple.org/a.wav' }, 400, 'JOB_INVALID'],
      [urlOnly, { input: 'https://x/a.wav', granularity: 'word' }, 400, 'JOB_INVALID'],
      [urlOnly, { input: 'https://x/a.wav', model: 'large' }, 400, 'JOB_INVALID'],
      [urlOnly, { input: 'https://x/a.wav', key: '../../etc' }, 400, 'JOB_INVALID'],
      [urlOnly, [1, 2], 400, 'JOB_INVALID'],
      [urlOnly, { input: 42 }, 400, 'JOB_INVALID'],
    ];
    for (const [server, body, status, code] of cases) {
      const response = await post(server, body);
      expect([response.statusCode, response.json().error?.code], JSON.stringify(body)).toEqual([status, code]);
      expect(response.json().error.message.length).toBeGreaterThan(10);
    }
    expect((await post(urlOnly, { input: 'https://x/one.wav', key: 'shared' })).statusCode).toBe(202);
    const taken = await post(urlOnly, { input: 'https://x/two.wav', key: 'shared' });
    expect([taken.statusCode, taken.json().error.code]).toEqual([409, 'JOB_INVALID']);
    const unknown = await app.inject({ method: 'GET', url: '/jobs/key-nope' });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'JOB_NOT_FOUND']);
    const huge = await app.inject({ method: 'POST', url: '/jobs', payload: { input: 'x'.repeat(20_000) } });
    expect(huge.statusCode).toBe(413);
  });

  it("mounted by createServer beside /predict_emotion, the routes answer with the server's error records and their own body rules", async () => {
    const model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
    const server = await createServer({ model, modelId: 'tiny', jobs: { queue, inputRoot } });
    try {
      writeClip(inputRoot, 9);
      const queued = await post(server, { input: 'clip009.wav', key: 'mounted' });
      expect([queued.statusCode, queued.json().key]).toEqual([202, 'mounted']);
      expect(
        (await server.inject({ method: 'GET', url: `/jobs/${encodeURIComponent(queued.json().id)}` })).json(),
      ).toMatchObject({ key: 'mounted', state: 'waiting' });
      const missing = await post(server, { input: 'nowhere.wav', key: 'nowhere' });
      expect([missing.statusCode, missing.json()]).toEqual([
        422,
        { input: 'nowhere.wav', key: 'nowhere', error: { code: 'AUDIO_FILE_NOT_FOUND', message: expect.any(String) } },
      ]);
      // The audio itself instead of its path.
      const audio = await server.inject({
        method: 'POST',
        url: '/jobs',
        payload: Buffer.from('RIFF....WAVE'),
        headers: { 'content-type': 'audio/wav' },
      });
      expect([audio.statusCode, audio.json().error.code]).toEqual([415, 'REQUEST_UNSUPPORTED_TYPE']);
      expect(audio.json().error.message).toContain('POST /jobs takes a JSON object');
      const text = await server.inject({
        method: 'POST',
        url: '/jobs',
        payload: 'clip009.wav',
        headers: { 'content-type': 'text/plain' },
      });
      expect([text.statusCode, text.json().error.code]).toEqual([400, 'JOB_INVALID']);
      const huge = await server.inject({ method: 'POST', url: '/jobs', payload: { input: 'x'.repeat(20_000) } });
      expect([huge.statusCode, huge.json().error.code]).toEqual([413, 'REQUEST_TOO_LARGE']);
      expect(huge.json().error.message).toContain('16 KiB');
      const malformed = await server.inject({
        method: 'POST',
        url: '/jobs',
        payload: '{"input": ',
        headers: { 'content-type': 'application/json' },
      });
      expect([malformed.statusCode, malformed.json().error.code]).toEqual([400, 'REQUEST_INVALID']);
      const unknown = await server.inject({ method: 'GET', url: '/jobs/key-nope' });
      expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'JOB_NOT_FOUND']);
      const noRoute = await server.inject({ method: 'GET', url: '/nothing' });
      expect([noRoute.statusCode, noRoute.json().error.code]).toEqual([404, 'NOT_FOUND']);
      expect(noRoute.json().error.message).toContain('POST /jobs');
      expect((await server.inject('/health')).json().status).toBe('ok');
    } finally {
      await server.close();
      model.dispose();
    }
  });

  it('GET /jobs/:id follows a job to its result, or to its dead-letter code', async () => {
    const good = writeClip(inputRoot, 7);
    writeFileSync(join(inputRoot, 'notes.wav'), 'not audio at all');
    const goodId = (await post(app, { input: 'clip007.wav' })).json().id;
    const badId = (await post(app, { input: 'notes.wav' })).json().id;
    const model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
    const worker: AnalysisWorker = startAnalysisWorker({
      connection,
      queueName: 'http',
      outputDir: join(work, 'out'),
      model,
      modelId: 'tiny',
      concurrency: 1,
      lockMs: 30_000,
      maxStalls: 1,
      log: () => {},
    });
    try {
      const view = async (id: string) =>
        (await app.inject({ method: 'GET', url: `/jobs/${encodeURIComponent(id)}` })).json();
      const deadline = Date.now() + 60_000;
      while (
        Date.now() < deadline &&
        ((await view(goodId)).state !== 'completed' || (await view(badId)).state !== 'failed')
      )
        await new Promise((resolve) => setTimeout(resolve, 200));
      const done = await view(goodId);
      expect(done).toMatchObject({
        state: 'completed',
        input: good,
        result: { key: done.key, folder: done.key, reused: false, duration: 0.4 },
      });
      expect(typeof done.result.emotion).toBe('string');
      const failed = await view(badId);
      expect(failed).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'AUDIO_UNSUPPORTED_FORMAT' } });
    } finally {
      await worker.close({ release: true });
      model.dispose();
    }
  });
});

/**
 * POST /jobs and GET /jobs/:id under hostile input and a failing Redis: URLs on loopback or private hosts refused
 * (unless allowed), the key check shared with enqueue (`summary.csv` is reserved), and with Redis stopped, 503
 * QUEUE_UNAVAILABLE at once, `/health` saying so, and one log line per outage instead of a trace per reconnect.
 */
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emotion2Vec } from '../../src/node.js';
import { checkKey } from '../../src/queue/job.js';
import { connectRedis, openQueue, watchRedis } from '../../src/queue/connection.js';
import { createServer } from '../../src/server/app.js';
import { fixturePath } from '../support/fixtures.js';
import { HAS_REDIS, startRedis, type TestRedis } from '../queue/redis-server.js';

describe.skipIf(!HAS_REDIS)('jobs routes: hostile input and a failing Redis', () => {
  let redis: TestRedis;
  let connection: Redis;
  let queue: Queue;
  let model: Emotion2Vec;
  let app: FastifyInstance;
  const log: string[] = [];
  const stderr: string[] = [];
  const writeStderr = process.stderr.write.bind(process.stderr);

  beforeAll(async () => {
    redis = await startRedis();
    connection = await connectRedis(redis.url);
    watchRedis(connection, (line) => log.push(line));
    queue = openQueue(connection, 'limits');
    model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
    app = await createServer({ model, modelId: 'tiny', jobs: { queue, urls: { allowHosts: ['10.0.0.0/8'] } } });
    // What BullMQ or ioredis would print by themselves (a stack per reconnect) is watched here.
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      stderr.push(String(chunk));
      return writeStderr(chunk, ...rest);
    }) as typeof process.stderr.write;
  }, 60_000);

  afterAll(async () => {
    process.stderr.write = writeStderr;
    await app?.close();
    await queue?.close().catch(() => undefined);
    connection?.disconnect();
    model?.dispose();
    await redis?.stop();
  });

  const post = (payload: unknown) => app.inject({ method: 'POST', url: '/jobs', payload: payload as object });

  it('URLs on loopback, private or link-local hosts are 400 URL_NOT_ALLOWED; allowed ranges are queued', async () => {
    for (const input of [
      'http://127.0.0.1:6379/a.wav',
      'http://localhost/a.wav',
      'http://[::1]/a.wav',
      'http://192.168.1.10/a.wav',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:127.0.0.1]/a.wav',
    ]) {
      const response = await post({ input });
      expect([response.statusCode, response.json().error?.code], input).toEqual([400, 'URL_NOT_ALLOWED']);
      expect(response.json().error.message).toContain('--allow-url-hosts');
    }
    expect((await post({ input: 'http://10.1.2.3/calls/a.wav' })).statusCode).toBe(202);
  });

  it('the key summary.csv is refused by every way in (one check), in any case', async () => {
    for (const key of ['summary.csv', 'SUMMARY.CSV']) {
      const response = await post({ input: 'http://10.1.2.3/b.wav', key });
      expect([response.statusCode, response.json().error.code]).toEqual([400, 'JOB_INVALID']);
      expect(() => checkKey(key)).toThrow(expect.objectContaining({ code: 'JOB_INVALID' }));
    }
    // A key that is not a safe name is quoted, escaped and cut in the message, never echoed raw.
    const forged = await post({
      input: 'http://10.1.2.3/c.wav',
      key: `x\n2024 forged line\u001b[2J${'y'.repeat(10_000)}`,
    });
    expect(forged.statusCode).toBe(400);
    expect(forged.json().error.message).not.toMatch(/[\n\u001b]/);
    expect(forged.json().error.message.length).toBeLessThan(600);
  });

  it('with Redis stopped: POST /jobs and GET /jobs/:id answer 503 QUEUE_UNAVAILABLE at once, /health says so', async () => {
    await redis.stop();
    await new Promise<void>((resolve) => {
      if (connection.status !== 'ready') resolve();
      else connection.once('close', () => resolve());
    });
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      const posted = await post({ input: 'http://10.1.2.3/d.wav' });
      expect([posted.statusCode, posted.json().error.code]).toEqual([503, 'QUEUE_UNAVAILABLE']);
      const viewed = await app.inject({ method: 'GET', url: '/jobs/key-anything' });
      expect([viewed.statusCode, viewed.json().error.code]).toEqual([503, 'QUEUE_UNAVAILABLE']);
      expect(performance.now() - start).toBeLessThan(2000);
      await new Promise((r) => setTimeout(r, 500)); // reconnect attempts go on meanwhile
    }
    const health = (await app.inject('/health')).json();
    expect(health).toMatchObject({ status: 'degraded', jobs: { redis: 'unavailable' } });
    // One line for the outage, nothing per reconnect attempt, no stack traces.
    expect(log.filter((line) => line.startsWith('Redis unavailable'))).toHaveLength(1);
    expect(stderr.join('')).not.toMatch(/\n\s+at /);
    // predictions still work
    expect((await app.inject('/labels')).statusCode).toBe(200);
  }, 30_000);
});

/**
 * The worker against hostile jobs written straight into Redis and hostile job URLs: keys with newlines, terminal
 * escapes or 100,000 characters never reach the log raw or whole; a URL on loopback is dead-lettered as
 * URL_NOT_ALLOWED without a request; a URL that drips a byte at a time is cut off by the download deadline
 * (DOWNLOAD_TIMEOUT) and does not hold the worker; a file over the duration bound is dead-lettered as
 * AUDIO_TOO_LONG before it is decoded.
 */
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emotion2Vec } from '../../src/node.js';
import { DEFAULT_JOB_OPTIONS, jobIdForKey } from '../../src/queue/job.js';
import { ANALYSIS_JOB_NAME, jobOptions } from '../../src/queue/producer.js';
import { startAnalysisWorker, type AnalysisWorker } from '../../src/queue/worker.js';
import { parseFailedReason } from '../../src/queue/dead-letter.js';
import { silentFlac } from '../hostile/make.js';
import { fixturePath } from '../support/fixtures.js';
import { HAS_REDIS, startRedis, type TestRedis } from './redis-server.js';

describe.skipIf(!HAS_REDIS)('worker limits', () => {
  const work = mkdtempSync(join(tmpdir(), 'e2v-worker-limits-'));
  let redis: TestRedis;
  let connection: Redis;
  let model: Emotion2Vec;
  let queue: Queue;
  let worker: AnalysisWorker;
  let http: Server;
  let base: string;
  const drips = new Set<ServerResponse>();
  const log: string[] = [];

  beforeAll(async () => {
    http = createServer((_request, response) => {
      // One byte every 200 ms for ever: never idle long enough to stall.
      response.writeHead(200, { 'content-length': '1000000' });
      drips.add(response);
      const timer = setInterval(() => response.write('x'), 200);
      response.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    redis = await startRedis();
    connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
    queue = new Queue('limits', { connection });
    worker = startAnalysisWorker({
      connection,
      queueName: 'limits',
      outputDir: join(work, 'out'),
      model,
      modelId: 'tiny',
      concurrency: 1,
      lockMs: 30_000,
      maxStalls: 1,
      maxDurationSeconds: 60,
      download: { stallMs: 5_000, deadlineMs: 1_500, allowHosts: ['localhost'] },
      log: (line) => log.push(line),
    });
  }, 60_000);

  afterAll(async () => {
    await worker?.close({ release: true });
    await queue?.close();
    model?.dispose();
    connection?.disconnect();
    await redis?.stop();
    for (const response of drips) response.destroy();
    http?.closeAllConnections();
    await new Promise((resolve) => http?.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  /** Waits for a job's end by BullMQ's events, not by polling. */
  function settled(id: string): Promise<Job> {
    return new Promise((resolve) => {
      const done = async (job: Job) => {
        if (job.id !== id) return;
        if ((await job.getState()) !== 'failed' && (await job.getState()) !== 'completed') return;
        worker.worker.off('failed', done as never);
        worker.worker.off('completed', done as never);
        resolve(job);
      };
      worker.worker.on('failed', done as never);
      worker.worker.on('completed', done as never);
    });
  }

  it('keys written into Redis are logged escaped and cut short; each hostile job ends with its code', async () => {
    const flac = join(work, 'silence.flac');
    writeFileSync(flac, silentFlac(40 * 3600, 8000));
    const hostile = [
      // Key, input, code it must end with.
      [`a\n2024-01-01T00:00:00Z forged done line`, flac, 'JOB_INVALID'],
      [`b\u001b[2J\u001b[31mred`, flac, 'JOB_INVALID'],
      [`c${'y'.repeat(100_000)}`, flac, 'JOB_INVALID'],
      ['loopback', 'http://127.0.0.1:6379/x.wav', 'URL_NOT_ALLOWED'],
      ['drip', `${base.replace('127.0.0.1', 'localhost')}/drip.wav`, 'DOWNLOAD_TIMEOUT'],
      ['forty-hours', flac, 'AUDIO_TOO_LONG'],
    ] as const;
    const ends: Promise<Job>[] = [];
    for (const [key, input] of hostile) {
      const id = jobIdForKey(key.slice(0, 200));
      ends.push(settled(id));
      await queue.add(
        ANALYSIS_JOB_NAME,
        { input, key, options: DEFAULT_JOB_OPTIONS },
        { ...jobOptions('x'), jobId: id, attempts: 1 },
      );
    }
    const jobs = await Promise.all(ends);
    expect(jobs.map((job) => parseFailedReason(job.failedReason).code)).toEqual(hostile.map(([, , code]) => code));
    for (const line of log) {
      expect(line).not.toMatch(/[\n\r\u001b]/);
      expect(line.length).toBeLessThan(400);
    }
    expect(log.some((line) => line.includes('forged done line') && line.startsWith('start "a\\u{a}2024'))).toBe(true);
  }, 60_000);
});

/**
 * The queue commands as a user runs them: enqueue (idempotent, conflicts listed), status output, and clear errors
 * without Redis.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIdForKey } from '../../src/queue/job.js';
import { runCli } from '../cli/run-cli.js';
import { writeClip } from './inputs.js';
import { HAS_REDIS, startRedis, type TestRedis } from './redis-server.js';

describe('queue commands without a reachable Redis', () => {
  it('say what is wrong and how to fix it, with exit code 2 and no stack trace', async () => {
    const down = await runCli(['status', '--redis', 'redis://127.0.0.1:1']);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(
      /QUEUE_UNAVAILABLE: Cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(connect ECONNREFUSED/,
    );
    expect(down.stderr).not.toMatch(/\n\s+at /);
    const notRedis = await runCli(['enqueue', 'a.wav', '--redis', 'http://127.0.0.1:6379']);
    expect([notRedis.code, notRedis.stderr]).toEqual([
      2,
      expect.stringContaining('INVALID_ARGUMENT: --redis must start with redis://'),
    ]);
    const noOutput = await runCli(['worker', '--redis', 'redis://127.0.0.1:1']);
    expect([noOutput.code, noOutput.stderr]).toEqual([
      2,
      expect.stringContaining("required option '-o, --output-dir <dir>'"),
    ]);
  });
});

describe.skipIf(!HAS_REDIS)('enqueue and status on a real Redis', () => {
  const work = mkdtempSync(join(tmpdir(), 'e2v-queue-cli-'));
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('enqueues a folder once however often it is run, refuses a key taken by another input, and reports counts', async () => {
    const folder = join(work, 'calls');
    mkdirSync(join(folder, 'day2'), { recursive: true });
    writeClip(folder, 1);
    writeClip(folder, 2);
    writeClip(join(folder, 'day2'), 3);
    writeFileSync(join(folder, 'notes.txt'), 'not picked up: not an audio extension');
    const first = await runCli(['enqueue', folder, '--redis', redis.url, '--queue', 'cli']);
    expect([first.code, first.stdout]).toEqual([0, 'queue cli: 3 added, 0 already queued, 0 refused\n']);
    const again = await runCli(['enqueue', folder, '--redis', redis.url, '--queue', 'cli', '--json']);
    expect(JSON.parse(again.stdout)).toEqual({ queue: 'cli', added: 0, alreadyQueued: 3, conflicts: [] });
    // Another clip001.wav elsewhere would land in the same folder: refused and named, exit code 1.
    const other = join(work, 'other');
    mkdirSync(other);
    const clash = writeClip(other, 1);
    const conflict = await runCli(['enqueue', clash, '--redis', redis.url, '--queue', 'cli']);
    expect(conflict.code).toBe(1);
    expect(conflict.stdout).toContain(`${clash}: key "clip001" is already queued for ${join(folder, 'clip001.wav')}`);

    const status = await runCli(['status', '--redis', redis.url, '--queue', 'cli']);
    expect([status.code, status.stdout]).toEqual([
      0,
      'queue cli: 0/3 finished — 3 waiting, 0 active, 0 retrying, 0 completed, 0 dead-lettered\n',
    ]);
    const json = JSON.parse(
      (await runCli(['status', '--redis', redis.url, '--queue', 'cli', '--json', '--output-dir', join(work, 'out')]))
        .stdout,
    );
    // Not done yet, so no summary.csv.
    expect(json).toEqual({
      queue: 'cli',
      waiting: 3,
      active: 0,
      delayed: 0,
      completed: 0,
      failed: 0,
      done: false,
      failedKeys: [],
    });
  });

  it('enqueue --timeline --plot, --no-processed-audio / --processed-audio and --reply-language go into the job', async () => {
    const clip = writeClip(work, 9);
    const queued = await runCli([
      'enqueue',
      clip,
      '--redis',
      redis.url,
      '--queue',
      'cli-timeline',
      '--timeline',
      '--plot',
      '--no-processed-audio',
      '--reply-language',
      'en',
    ]);
    expect(queued.code, queued.stderr).toBe(0);
    const float = await runCli(['enqueue', writeClip(work, 10), '--redis', redis.url, '--queue', 'cli-timeline']);
    expect(float.code, float.stderr).toBe(0);
    const explicit = await runCli([
      'enqueue',
      writeClip(work, 11),
      '--redis',
      redis.url,
      '--queue',
      'cli-timeline',
      '--processed-audio',
      'float32',
    ]);
    expect(explicit.code, explicit.stderr).toBe(0);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('cli-timeline', { connection });
    try {
      expect((await queue.getJob(jobIdForKey('clip009')))!.data.options).toMatchObject({
        timeline: true,
        plot: true,
        processedAudio: 'none',
        replyLanguage: 'en',
      });
      expect((await queue.getJob(jobIdForKey('clip010')))!.data.options).toMatchObject({
        processedAudio: 'pcm16',
        replyLanguage: 'zh',
      });
      expect((await queue.getJob(jobIdForKey('clip011')))!.data.options.processedAudio).toBe('float32');
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});

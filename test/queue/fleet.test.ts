/**
 * The fleet on a real Redis: 3 worker processes (the real CLI), 200 jobs of which 10 are poison inputs, and one
 * worker killed with SIGKILL in the middle of a job. Every good job must end with exactly one result folder, every
 * bad one dead-lettered with its error code, and nothing lost. Redis and the workers are stopped by their PIDs.
 */
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath } from '../support/fixtures.js';
import { expectValidResult } from '../support/result-schema.js';
import { jobIdForKey } from '../../src/queue/job.js';
import type { JobResult } from '../../src/queue/worker.js';
import { runCli } from '../cli/run-cli.js';
import { spawnCli, type CliProcess } from './cli-process.js';
import { writeBadInputs, writeClip, writeLongClip } from './inputs.js';
import { HAS_REDIS, startRedis, stopChild, type TestRedis } from './redis-server.js';

const JOBS = 200;
const LONG_AT = new Set([12, 48, 90, 131, 172]);
const BAD_EVERY = 19;

describe.skipIf(!HAS_REDIS)('queue fleet: 3 workers, 200 jobs, 10 poison inputs, one worker SIGKILLed mid-job', () => {
  const work = mkdtempSync(join(tmpdir(), 'e2v-fleet-'));
  const audioDir = join(work, 'audio');
  const outputDir = join(work, 'out');
  let redis: TestRedis;
  let connection: Redis;
  let queue: Queue;
  const workers: CliProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue('fleet', { connection });
  });

  afterAll(async () => {
    for (const worker of workers) await stopChild(worker.child);
    await queue?.close();
    connection?.disconnect();
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('every good job has exactly one result, every bad one is dead-lettered with its code, nothing is lost', async () => {
    mkdirSync(audioDir);
    const bad = writeBadInputs(audioDir);
    const inputs: string[] = [];
    let clip = 0;
    let long = 0;
    for (let i = 0; inputs.length < JOBS; i++) {
      if (
        i % BAD_EVERY === BAD_EVERY - 1 &&
        bad.length > inputs.filter((input) => bad.some((b) => b.path === input)).length
      ) {
        inputs.push(bad[Math.floor(i / BAD_EVERY)]!.path);
      } else if (LONG_AT.has(i)) inputs.push(writeLongClip(audioDir, long++));
      else inputs.push(writeClip(audioDir, clip++));
    }
    expect(inputs.filter((input) => bad.some((b) => b.path === input))).toHaveLength(10);
    // Enqueued through a Kaldi wav.scp: its keys name the result folders and are recorded in result.json.
    const keyOf = (path: string) =>
      `spk1-${path
        .split('/')
        .pop()!
        .replace(/\.wav$/, '')}`;
    const scp = join(work, 'wav.scp');
    writeFileSync(scp, inputs.map((input) => `${keyOf(input)} ${input}\n`).join(''));
    const badKeys = new Map(bad.map((b) => [keyOf(b.path), b.code]));

    const workerArgs = [
      'worker',
      '--redis',
      redis.url,
      '--queue',
      'fleet',
      '--output-dir',
      outputDir,
      '--model',
      fixturePath('tiny'),
      '--backend',
      'wasm',
      '--lock-seconds',
      '8',
      '--max-stalls',
      '2',
    ];
    for (let i = 0; i < 3; i++) workers.push(spawnCli(workerArgs));
    await Promise.all(workers.map((worker) => worker.waitFor(/ ready: /, 120_000)));

    // Kill the first worker that starts a long clip, while that job runs.
    const victim = new Promise<{ worker: CliProcess; key: string }>((resolve) => {
      for (const worker of workers)
        void worker.waitFor(/ start spk1-long\d/, 300_000).then(
          (line) => resolve({ worker, key: / start (spk1-long\d)/.exec(line)![1]! }),
          () => {},
        );
    });

    const enqueued = await runCli([
      'enqueue',
      scp,
      '--redis',
      redis.url,
      '--queue',
      'fleet',
      '--backoff-ms',
      '500',
      '--json',
    ]);
    expect(enqueued.code, enqueued.stderr).toBe(0);
    expect(JSON.parse(enqueued.stdout)).toMatchObject({ added: JOBS, alreadyQueued: 0, conflicts: [] });

    const { worker: killed, key: killedKey } = await victim;
    killed.child.kill('SIGKILL');
    expect(await killed.exited).toBe('SIGKILL');
    // Still active, locked by a worker that no longer exists: it was killed mid-job.
    expect(await queue.getJobState(jobIdForKey(killedKey))).toBe('active');

    // Wait for the run to end: every job completed or dead-lettered.
    const deadline = Date.now() + 240_000;
    let counts: Record<string, number> = {};
    while (Date.now() < deadline) {
      counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed');
      if (counts.completed! + counts.failed! === JOBS) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(counts).toEqual({ waiting: 0, prioritized: 0, active: 0, delayed: 0, completed: JOBS - 10, failed: 10 });

    // The survivors stop gracefully on SIGTERM (first, so no summary.csv write is in flight while the folder is
    // listed).
    for (const worker of workers.filter((w) => w !== killed)) {
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(worker.lines.at(-1)).toMatch(/ stopped$/);
    }

    // The killed worker's job ran again elsewhere and finished once.
    const recovered = (await queue.getJob(jobIdForKey(killedKey))) as Job;
    expect(await recovered.getState()).toBe('completed');
    expect((recovered.returnvalue as JobResult).worker).not.toContain(`:${killed.pid}`);

    // Exactly one result folder per good input, nothing else, no temp files, each result for its own input.
    const goodKeys = inputs.map(keyOf).filter((key) => !badKeys.has(key));
    const entries = readdirSync(outputDir).filter((name) => name !== 'summary.csv');
    expect(entries.sort()).toEqual([...goodKeys].sort());
    for (const key of goodKeys) {
      expect(readdirSync(join(outputDir, key)).sort()).toEqual(['processed_audio.wav', 'result.json']);
      const record = expectValidResult(JSON.parse(readFileSync(join(outputDir, key, 'result.json'), 'utf8')));
      expect(record.key).toBe(key);
      expect(record.input).toBe(join(audioDir, `${key.slice('spk1-'.length)}.wav`));
      expect(Object.keys(record.scores as object)).toHaveLength(9);
    }
    // Each job completed exactly once across the fleet (one "done" line per key in all the logs together).
    const done = workers
      .flatMap((worker) => worker.lines)
      .map((line) => / done (\S+) -> /.exec(line)?.[1])
      .filter(Boolean);
    expect(done.sort()).toEqual([...goodKeys].sort());

    // status --json: the counts and every dead-lettered key with its code, then summary.csv.
    const status = await runCli([
      'status',
      '--redis',
      redis.url,
      '--queue',
      'fleet',
      '--json',
      '--output-dir',
      outputDir,
    ]);
    expect(status.code, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report).toMatchObject({ waiting: 0, active: 0, completed: JOBS - 10, failed: 10, done: true });
    expect(Object.fromEntries(report.failedKeys.map((f: { key: string; code: string }) => [f.key, f.code]))).toEqual(
      Object.fromEntries(badKeys),
    );
    // Poison inputs are not retried.
    expect(report.failedKeys.every((f: { attempts: number }) => f.attempts === 1)).toBe(true);
    const csv = readFileSync(join(outputDir, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(JOBS + 1);
    expect(csv.filter((row) => row.includes(',ok,'))).toHaveLength(JOBS - 10);
    for (const [key, code] of badKeys)
      expect(csv.some((row) => row.startsWith(`,${key},`) && row.includes(',error,') && row.includes(code))).toBe(true);
  }, 420_000);
});

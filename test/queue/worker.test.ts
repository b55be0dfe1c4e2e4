/**
 * The worker in-process on a real Redis: transient failures retried with exponential back-off, attempts running
 * out dead-letter the job, a result already written is reused (not written twice), graceful close finishes the
 * current job, and a release hands it back without spending an attempt. Enqueueing is idempotent.
 */
import { Queue, type Job } from 'bullmq';
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emotion2Vec } from '../../src/node.js';
import { decodeWav } from '../../src/audio/wav.js';
import { encodeNpy } from '../../src/io/npy.js';
import { encodeFloatWav } from '../../src/audio/wav.js';
import { readCompleteResult, writeResultFolder } from '../../src/results/folder.js';
import { jobIdForKey, DEFAULT_JOB_OPTIONS } from '../../src/queue/job.js';
import { enqueueJobs } from '../../src/queue/producer.js';
import { readQueueStatus } from '../../src/queue/status.js';
import {
  startAnalysisWorker,
  type AnalysisWorker,
  type JobResult,
  type ResultFolders,
} from '../../src/queue/worker.js';
import { runCli } from '../cli/run-cli.js';
import { fixturePath } from '../support/fixtures.js';
import { expectValidResult } from '../support/result-schema.js';
import { writeClip } from './inputs.js';
import { HAS_REDIS, startRedis, type TestRedis } from './redis-server.js';

describe.skipIf(!HAS_REDIS)('queue worker', () => {
  const work = mkdtempSync(join(tmpdir(), 'e2v-worker-'));
  let redis: TestRedis;
  let connection: Redis;
  let model: Emotion2Vec;
  let queueCount = 0;
  const opened: { queue: Queue; worker?: AnalysisWorker }[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
  });

  afterAll(async () => {
    for (const { queue, worker } of opened) {
      await worker?.close({ release: true });
      await queue.close();
    }
    model?.dispose();
    connection?.disconnect();
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** A fresh queue, an output folder and a worker on them with the given result folders. */
  function setUp(folders?: ResultFolders, start = true) {
    const name = `q${++queueCount}`;
    const outputDir = join(work, name);
    const queue = new Queue(name, { connection });
    const log: string[] = [];
    const worker = start
      ? startAnalysisWorker({
          connection,
          queueName: name,
          outputDir,
          model,
          modelId: 'tiny',
          folders,
          concurrency: 1,
          lockMs: 30_000,
          maxStalls: 1,
          log: (line) => log.push(line),
        })
      : undefined;
    opened.push({ queue, worker });
    return { queue, outputDir, worker, log };
  }

  async function finished(queue: Queue, id: string, timeoutMs = 60_000): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = (await queue.getJob(id)) as Job;
      const state = await job.getState();
      if (state === 'completed' || state === 'failed') return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${state}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('enqueueing is idempotent per key; the same key for another input is a conflict, not a second job', async () => {
    const { queue } = setUp(undefined, false);
    const a = { input: '/data/a.wav', key: 'a', options: DEFAULT_JOB_OPTIONS };
    expect(await enqueueJobs(queue, [a, { ...a, input: '/data/b.wav', key: 'b' }])).toEqual({
      added: 2,
      alreadyQueued: 0,
      conflicts: [],
    });
    expect(await enqueueJobs(queue, [a, { ...a, input: '/other/a.wav' }])).toEqual({
      added: 0,
      alreadyQueued: 1,
      conflicts: [{ key: 'a', input: '/other/a.wav', queuedInput: '/data/a.wav' }],
    });
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 2 });
    await expect(enqueueJobs(queue, [{ ...a, key: '../x' }])).rejects.toMatchObject({ code: 'JOB_INVALID' });
  });

  it('a transient failure is retried with exponential back-off and the job then completes once', async () => {
    let failures = 0;
    const flaky: ResultFolders = {
      readCompleteResult,
      async writeResultFolder(...args) {
        if (failures++ < 2) throw new Error('EIO: the shared disk hiccuped');
        return writeResultFolder(...args);
      },
    };
    const { queue, outputDir, log } = setUp(flaky);
    const input = writeClip(work, 1);
    await enqueueJobs(queue, [{ input, key: 'clip', options: DEFAULT_JOB_OPTIONS }], { attempts: 3, backoffMs: 300 });
    const job = await finished(queue, jobIdForKey('clip'));
    expect(await job.getState()).toBe('completed');
    // Three tries in all (BullMQ counts the one that succeeded too).
    expect(job.attemptsMade).toBe(3);
    // Back-off: 300 ms, then 600 ms, so the job finished at least 900 ms after it was added.
    expect(job.finishedOn! - job.timestamp).toBeGreaterThanOrEqual(900);
    expect(log.filter((line) => line.startsWith('will retry clip: INTERNAL'))).toHaveLength(2);
    expect((await readCompleteResult(outputDir, 'clip'))?.input).toBe(input);
  });

  it('when the attempts run out the job is dead-lettered with its code; a poison input gets one attempt only', async () => {
    const broken: ResultFolders = {
      readCompleteResult,
      writeResultFolder: async () => Promise.reject(new Error('ENOSPC: no space left on device')),
    };
    const { queue } = setUp(broken);
    const good = writeClip(work, 2);
    const bad = join(work, 'missing.wav');
    await enqueueJobs(
      queue,
      [
        { input: good, key: 'good', options: DEFAULT_JOB_OPTIONS },
        { input: bad, key: 'bad', options: DEFAULT_JOB_OPTIONS },
      ],
      { attempts: 2, backoffMs: 100 },
    );
    const [goodJob, badJob] = [await finished(queue, jobIdForKey('good')), await finished(queue, jobIdForKey('bad'))];
    expect([goodJob.attemptsMade, badJob.attemptsMade]).toEqual([2, 1]);
    const status = await readQueueStatus(queue);
    expect(status).toMatchObject({ completed: 0, failed: 2, done: true });
    expect(Object.fromEntries(status.failedKeys.map((f) => [f.key, f.code]))).toEqual({
      good: 'INTERNAL',
      bad: 'AUDIO_FILE_NOT_FOUND',
    });
  });

  it('a FIFO or a folder as input is poison (a FIFO would block the worker for ever), dead-lettered at once', async () => {
    const { queue } = setUp();
    const fifo = join(work, 'pipe.wav');
    execFileSync('mkfifo', [fifo]);
    await enqueueJobs(queue, [
      { input: fifo, key: 'pipe', options: DEFAULT_JOB_OPTIONS },
      { input: work, key: 'folder', options: DEFAULT_JOB_OPTIONS },
    ]);
    const jobs = [
      await finished(queue, jobIdForKey('pipe'), 20_000),
      await finished(queue, jobIdForKey('folder'), 20_000),
    ];
    expect(jobs.map((job) => [job.attemptsMade, job.failedReason.split(':')[0]])).toEqual([
      [1, 'FILE_NOT_REGULAR'],
      [1, 'FILE_NOT_REGULAR'],
    ]);
  });

  it('a result folder already complete for the same input is reused, not written again', async () => {
    let writes = 0;
    const counting: ResultFolders = {
      readCompleteResult,
      writeResultFolder: async (...args) => (writes++, writeResultFolder(...args)),
    };
    const { queue, outputDir } = setUp(counting);
    const input = writeClip(work, 3);
    const prediction = await model.predict(input);
    const { toResultRecord } = await import('../../src/results/record.js');
    await writeResultFolder(outputDir, 'again', {
      record: toResultRecord(prediction, { input, key: 'again', model: 'tiny', granularity: 'utterance' }),
    });
    await enqueueJobs(queue, [{ input, key: 'again', options: DEFAULT_JOB_OPTIONS }]);
    const job = await finished(queue, jobIdForKey('again'));
    expect((job.returnvalue as JobResult).reused).toBe(true);
    expect(writes).toBe(0);
  });

  it('a job with timeline and plot writes the same timeline.json, .csv and .svg as analyze --timeline --plot', async () => {
    const { queue, outputDir } = setUp();
    const input = fixturePath('long', 'phrases.wav');
    await enqueueJobs(queue, [
      { input, key: 'phrases', options: { ...DEFAULT_JOB_OPTIONS, timeline: true, plot: true } },
    ]);
    expect(await (await finished(queue, jobIdForKey('phrases'), 120_000)).getState()).toBe('completed');
    const analyzed = join(work, 'analyzed');
    const cli = await runCli([
      'analyze',
      input,
      '--model',
      fixturePath('tiny'),
      '--backend',
      'wasm',
      '--output-dir',
      analyzed,
      '--timeline',
      '--plot',
    ]);
    expect(cli.code, cli.stderr).toBe(0);
    const files = ['timeline.json', 'timeline.csv', 'timeline.svg'];
    expect(readdirSync(join(outputDir, 'phrases')).sort()).toEqual(readdirSync(join(analyzed, 'phrases')).sort());
    for (const file of files)
      expect(readFileSync(join(outputDir, 'phrases', file), 'utf8'), file).toBe(
        readFileSync(join(analyzed, 'phrases', file), 'utf8'),
      );
    // result.json lists the same files (its timestamp is the one thing that differs).
    const resultFiles = (root: string) => JSON.parse(readFileSync(join(root, 'phrases', 'result.json'), 'utf8')).files;
    expect(resultFiles(outputDir)).toEqual(resultFiles(analyzed));
    expect(
      JSON.parse(readFileSync(join(outputDir, 'phrases', 'timeline.json'), 'utf8')).segments.length,
    ).toBeGreaterThan(1);
  });

  it('a frame-embedding job on a long file streams embedding.npy, byte-identical to the whole array; a failed write leaves no temp file', async () => {
    const phrases = decodeWav(readFileSync(fixturePath('long', 'phrases.wav'))).channels[0]!;
    const samples = new Float32Array(phrases.length * 3); // 36 s: windows past the 30 s full pass
    for (let i = 0; i < 3; i++) samples.set(phrases, i * phrases.length);
    const input = join(work, 'long-frames.wav');
    writeFileSync(input, encodeFloatWav(samples, 16_000));
    const options = {
      ...DEFAULT_JOB_OPTIONS,
      granularity: 'frame' as const,
      embedding: true,
      processedAudio: 'none' as const,
    };
    const { queue, outputDir } = setUp();
    await enqueueJobs(queue, [{ input, key: 'frames', options }]);
    expect(await (await finished(queue, jobIdForKey('frames'), 120_000)).getState()).toBe('completed');
    const whole = await model.predict(input, { granularity: 'frame', embedding: true });
    expect(whole.segmented?.segments).toBeGreaterThanOrEqual(3);
    // Frame granularity: the frame series beside the embedding, as analyze writes it.
    expect(readdirSync(join(outputDir, 'frames')).sort()).toEqual([
      'embedding.npy',
      'frame_scores.csv',
      'frame_scores.json',
      'result.json',
    ]);
    const record = expectValidResult(JSON.parse(readFileSync(join(outputDir, 'frames', 'result.json'), 'utf8')));
    expect(record.frame_scores).toMatchObject({ frames: whole.frames, step: 1, file: 'frame_scores.json' });
    expect(
      Buffer.compare(
        readFileSync(join(outputDir, 'frames', 'embedding.npy')),
        Buffer.from(encodeNpy(whole.embedding!.data, whole.embedding!.shape)),
      ),
    ).toBe(0);

    const broken: ResultFolders = {
      readCompleteResult,
      writeResultFolder: async () => Promise.reject(new Error('ENOSPC: no space left on device')),
    };
    const failing = setUp(broken);
    await enqueueJobs(failing.queue, [{ input, key: 'frames', options }], { attempts: 1, backoffMs: 100 });
    expect(await (await finished(failing.queue, jobIdForKey('frames'), 120_000)).getState()).toBe('failed');
    expect(readdirSync(failing.outputDir)).toEqual([]);
  });

  it('close() finishes the current job; close({ release: true }) hands it back to the queue without spending an attempt', async () => {
    for (const release of [false, true]) {
      let unblock!: () => void;
      let started!: () => void;
      const isStarted = new Promise<void>((resolve) => (started = resolve));
      const held: ResultFolders = {
        readCompleteResult,
        async writeResultFolder(...args) {
          started();
          await new Promise<void>((resolve) => (unblock = resolve));
          return writeResultFolder(...args);
        },
      };
      const { queue, worker } = setUp(held);
      await enqueueJobs(queue, [{ input: writeClip(work, 4), key: 'held', options: DEFAULT_JOB_OPTIONS }]);
      await isStarted;
      const closing = worker!.close({ release });
      if (release) {
        await closing;
        const job = (await queue.getJob(jobIdForKey('held'))) as Job;
        expect(await job.getState()).toBe('waiting');
        expect(job.attemptsMade).toBe(0);
        unblock();
      } else {
        setTimeout(() => unblock(), 200);
        await closing;
        expect(await (await queue.getJob(jobIdForKey('held')))!.getState()).toBe('completed');
      }
    }
  });
});

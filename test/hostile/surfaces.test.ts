/**
 * The hostile-input corpus of the serving surfaces: `emotion2vec serve` (with --redis) and `emotion2vec worker`,
 * each in a child process (test/hostile/runner.ts reports its peak RSS and CPU time at exit), attacked as a
 * careless or hostile client would on 127.0.0.1. Every case ends with its code while the process keeps answering;
 * at the end each process must have stayed under MAX_RSS_MIB, exit 0 on SIGTERM, print no stack trace and leave
 * nothing outside the folders it was given.
 *
 * Bounds (the whole process: Node, tsx, the tiny model, and serve's inference thread with tfjs' wasm threads):
 * serve idles at about 345 MiB; before these fixes, 20 clients holding 30 MiB uploads added about 600 MB and a
 * 260 KB FLAC of silence took it past 4 GiB. Liveness checks ("answers within 2 s") are generous margins, not
 * timings.
 */
import { Queue, type Job } from 'bullmq';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_JOB_OPTIONS, jobIdForKey } from '../../src/queue/job.js';
import { ANALYSIS_JOB_NAME, jobOptions } from '../../src/queue/producer.js';
import { parseFailedReason } from '../../src/queue/dead-letter.js';
import { fixturePath } from '../support/fixtures.js';
import { HAS_FFMPEG } from '../support/audio.js';
import { HAS_REDIS, startRedis, type TestRedis } from '../queue/redis-server.js';
import { writeClip } from '../queue/inputs.js';
import { audioFixture, multipart, multipartHead, PNG_BYTES, rawClient, wavBytes } from '../server/support.js';
import { silentFlac } from './make.js';

const MAX_RSS_MIB = 640;
const root = fileURLToPath(new URL('../../', import.meta.url));
const HOSTILE_LOG = process.env.HOSTILE_LOG;

interface Child {
  readonly process: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly report: string;
  /** Resolves with the first stdout or stderr line that matches. */
  line(pattern: RegExp): Promise<string>;
  /** SIGTERM, then the runner's report: exit code, peak RSS, CPU seconds. */
  stop(): Promise<{ code: number; maxRssMiB: number; cpuSeconds: number }>;
}

function startChild(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const report = join(dir, `report-${args[0]}.json`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/hostile/runner.ts', report, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const watchers: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const take = (into: string[]) => {
    let partial = '';
    return (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        into.push(line);
        for (const watcher of [...watchers])
          if (watcher.pattern.test(line)) {
            watchers.splice(watchers.indexOf(watcher), 1);
            watcher.resolve(line);
          }
      }
    };
  };
  child.stdout!.on('data', take(stdout));
  child.stderr!.on('data', take(stderr));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    stdout,
    stderr,
    report,
    line(pattern) {
      const seen = [...stdout, ...stderr].find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        watchers.push({ pattern, resolve });
        child.once('exit', (code) =>
          reject(new Error(`exited (${code}) before ${pattern}: ${stderr.slice(-10).join('\n')}`)),
        );
      });
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      const usage = JSON.parse(readFileSync(report, 'utf8')) as { code: number; maxRssMiB: number; cpuSeconds: number };
      if (HOSTILE_LOG)
        writeFileSync(
          HOSTILE_LOG,
          `${args[0]} (surfaces) | ${usage.maxRssMiB.toFixed(0)} MiB | ${usage.cpuSeconds.toFixed(2)} s CPU\n`,
          { flag: 'a' },
        );
      return usage;
    },
  };
}

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter(
    (name) => !statSync(join(folder, name), { throwIfNoEntry: false })?.isDirectory(),
  );
}

/** Peak RSS so far of a running process (Linux), for HOSTILE_LOG's per-case numbers. */
function peakMiB(pid: number | undefined): number | null {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib ? Number(kib) / 1024 : null;
  } catch {
    return null;
  }
}

/** A stack trace line in a log. */
const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;

describe.skipIf(!HAS_REDIS)('serve under hostile clients, in a child process', () => {
  let dir: string;
  let temp: string;
  let redis: TestRedis;
  let serve: Child;
  let origin: string;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2v-hostile-serve-'));
    temp = join(dir, 'tmp');
    mkdirSync(temp);
    redis = await startRedis();
    serve = startChild(
      dir,
      [
        ...['serve', '--model', fixturePath('tiny'), '--backend', 'wasm', '--port', '0', '--no-page-model'],
        ...['--queue-size', '2', '--body-timeout', '3', '--headers-timeout', '3', '--redis', redis.url],
      ],
      { TMPDIR: temp },
    );
    origin = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(await serve.line(/ at http:\/\/127\.0\.0\.1:\d+/))![1]!;
    port = Number(new URL(origin).port);
  }, 180_000);

  afterEach((context) => {
    const peak = peakMiB(serve?.process.pid);
    if (HOSTILE_LOG && peak !== null)
      writeFileSync(HOSTILE_LOG, `serve | ${context.task.name} | peak so far ${peak.toFixed(0)} MiB\n`, { flag: 'a' });
  });

  afterAll(async () => {
    if (serve && serve.process.exitCode === null) serve.process.kill('SIGKILL');
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const health = async () => {
    const start = performance.now();
    const response = await fetch(`${origin}/health`);
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
      ms: performance.now() - start,
    };
  };
  const upload = async (name: string, bytes: Uint8Array, headers: Record<string, string> = {}) => {
    const form = await multipart([{ name: 'audio', file: bytes, fileName: name }]);
    const response = await fetch(`${origin}/predict_emotion`, {
      method: 'POST',
      body: new Uint8Array(form.body),
      headers: { ...form.headers, ...headers },
    });
    return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
  };

  it('decode bombs: a 260 KB FLAC of 40 hours, and the same in Matroska (ffmpeg), are 422 AUDIO_TOO_LONG', async () => {
    const flac = silentFlac(40 * 3600, 8000);
    const refused = await upload('silence.flac', flac);
    expect([refused.status, refused.body.error?.code]).toEqual([422, 'AUDIO_TOO_LONG']);
    if (HAS_FFMPEG) {
      writeFileSync(join(dir, 'silence.flac'), flac);
      execFileSync('ffmpeg', [
        '-loglevel',
        'error',
        '-i',
        join(dir, 'silence.flac'),
        '-c:a',
        'copy',
        join(dir, 'silence.mka'),
      ]);
      const mka = await upload('silence.mka', new Uint8Array(readFileSync(join(dir, 'silence.mka'))));
      expect([mka.status, mka.body.error?.code]).toEqual([422, 'AUDIO_TOO_LONG']);
    }
    expect((await upload('speech.wav', audioFixture('speech16k.wav'))).status).toBe(200);
  }, 120_000);

  it('20 clients holding back the rest of 30 MiB uploads (queue size 2): 18 refused at once, 2 timed out, memory bounded', async () => {
    const { head } = multipartHead(30 * 2 ** 20);
    const piece = wavBytes(2 ** 19); // 1 MiB: a WAV header, then samples
    const clients = Array.from({ length: 20 }, () => rawClient(port));
    await Promise.all(
      clients.map(async (client) => {
        client.write(head);
        // 8 MiB of the 30, then nothing: what a client that holds its last bytes back looks like.
        for (let i = 0; i < 8; i++) {
          if (client.socket.destroyed) break;
          if (!client.socket.write(piece)) await new Promise((r) => client.socket.once('drain', r).once('close', r));
        }
      }),
    );
    const statuses = await Promise.all(clients.map((client) => client.status.catch(() => 0)));
    expect(statuses.filter((s) => s === 503)).toHaveLength(18);
    expect(statuses.filter((s) => s === 408)).toHaveLength(2);
    const after = await health();
    expect(after.status).toBe(200);
    expect(after.body.queue).toEqual({ size: 0, capacity: 2 });
  }, 120_000);

  it('slow headers are cut off; malformed bodies, foreign hosts, other sites and non-audio get their own 4xx', async () => {
    const slow = rawClient(port);
    slow.write('POST /predict_emotion HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // and never the rest of the headers
    expect(await slow.status).toBe(408);
    await slow.closed;

    const form = await multipart([{ name: 'audio', file: audioFixture('speech16k.wav'), fileName: 'speech.wav' }]);
    const cut = rawClient(port);
    cut.write(
      `POST /predict_emotion HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${form.headers['content-type']}\r\n` +
        `Content-Length: ${form.body.length - 100}\r\n\r\n`,
    );
    cut.write(form.body.subarray(0, form.body.length - 100));
    expect(await cut.status).toBe(400);
    const noBoundary = await fetch(`${origin}/predict_emotion`, {
      method: 'POST',
      body: new Uint8Array(form.body),
      headers: { 'content-type': 'multipart/form-data' },
    });
    expect([noBoundary.status, ((await noBoundary.json()) as { error: { code: string } }).error.code]).toEqual([
      400,
      'REQUEST_MALFORMED',
    ]);
    // fetch sets Host itself: a raw request carries the rebound name.
    const rebound = rawClient(port);
    rebound.write('GET /health HTTP/1.1\r\nHost: attacker.example:7860\r\nConnection: close\r\n\r\n');
    expect(await rebound.status).toBe(403);
    const crossSite = await upload('speech.wav', audioFixture('speech16k.wav'), { origin: 'https://attacker.example' });
    expect([crossSite.status, crossSite.body.error?.code]).toEqual([403, 'REQUEST_ORIGIN_NOT_ALLOWED']);
    expect((await upload('image.png', PNG_BYTES)).status).toBe(415);
    const name = (await health()).body.model as string;
    expect(name).toBe('tiny');
  }, 60_000);

  it('during long predictions, /health and 503 refusals answer within 2 s', async () => {
    const long = wavBytes(16_000 * 180); // three minutes each
    const running = [upload('long1.wav', long), upload('long2.wav', long)];
    while (((await health()).body.queue as { size: number }).size < 2) await new Promise((r) => setTimeout(r, 50));
    let done = 0;
    for (const work of running) void work.then(() => done++);
    for (let i = 0; i < 3; i++) {
      const checked = await health();
      expect(checked.status).toBe(200);
      expect(checked.ms).toBeLessThan(2000);
      const start = performance.now();
      const refused = await upload('speech.wav', audioFixture('speech16k.wav'));
      expect([refused.status, refused.body.error?.code]).toEqual([503, 'SERVER_BUSY']);
      expect(performance.now() - start).toBeLessThan(2000);
    }
    expect(done).toBe(0); // the checks ran while the first prediction was still running
    for (const result of await Promise.all(running)) expect(result.status).toBe(200);
  }, 180_000);

  it('POST /jobs: loopback URLs refused; with Redis stopped, 503 at once, /health degraded, one log line', async () => {
    const post = (body: unknown) =>
      fetch(`${origin}/jobs`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
    const ssrf = await post({ input: `http://127.0.0.1:${new URL(redis.url).port}/x.wav` });
    expect([ssrf.status, ((await ssrf.json()) as { error: { code: string } }).error.code]).toEqual([
      400,
      'URL_NOT_ALLOWED',
    ]);
    const reserved = await post({ input: 'http://example.invalid/a.wav', key: 'summary.csv' });
    expect(reserved.status).toBe(400);
    await redis.stop();
    await serve.line(/Redis unavailable/);
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      const queued = await post({ input: 'http://example.invalid/b.wav' });
      expect([queued.status, ((await queued.json()) as { error: { code: string } }).error.code]).toEqual([
        503,
        'QUEUE_UNAVAILABLE',
      ]);
      expect((await fetch(`${origin}/jobs/key-x`)).status).toBe(503);
      expect(performance.now() - start).toBeLessThan(2000);
      await new Promise((r) => setTimeout(r, 700)); // reconnect attempts go on meanwhile
    }
    expect((await health()).body).toMatchObject({ status: 'degraded', jobs: { redis: 'unavailable' } });
    expect(serve.stderr.filter((line) => /Redis unavailable/.test(line))).toHaveLength(1);
  }, 60_000);

  it('at the end: still answering, under the memory bound, no stack trace, exit 0 on SIGTERM, its temp files gone', async () => {
    expect((await health()).status).toBe(200);
    const usage = await serve.stop();
    expect(usage.code).toBe(0);
    expect(usage.maxRssMiB).toBeLessThan(MAX_RSS_MIB);
    expect(serve.stderr.join('\n')).not.toMatch(STACK_LINE);
    expect(serve.stderr.join('\n').length).toBeLessThan(3000);
    // Its own temporary folders (the page bundle) are removed; tsx's compile cache is tsx's.
    expect(filesUnder(temp).filter((name) => !name.startsWith('tsx-'))).toEqual([]);
  }, 60_000);
});

describe.skipIf(!HAS_REDIS)('worker under hostile jobs, in a child process', () => {
  let dir: string;
  let redis: TestRedis;
  let connection: Redis;
  let queue: Queue;
  let http: Server;
  const drips = new Set<ServerResponse>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2v-hostile-worker-'));
    http = createHttpServer((_request, response) => {
      response.writeHead(200, { 'content-length': '1000000' });
      drips.add(response);
      const timer = setInterval(() => response.write('x'), 1000); // a byte a second, for ever
      response.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    redis = await startRedis();
    connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue('hostile', { connection });
  }, 60_000);

  afterAll(async () => {
    await queue?.close();
    connection?.disconnect();
    await redis?.stop();
    for (const response of drips) response.destroy();
    http?.closeAllConnections();
    await new Promise((resolve) => http?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('hostile keys, a loopback URL, a dripping URL and a 40-hour FLAC each end with their code; the good job is done', async () => {
    const out = join(dir, 'out');
    const audio = join(dir, 'audio');
    mkdirSync(audio);
    const good = writeClip(audio, 1);
    const flac = join(audio, 'silence.flac');
    writeFileSync(flac, silentFlac(40 * 3600, 8000));
    const drip = `http://localhost:${(http.address() as { port: number }).port}/drip.wav`;
    const jobs = [
      [`forged\n2024-01-01T00:00:00Z host:1 done victim -> happy`, good, 'JOB_INVALID'],
      [`ansi\u001b[2J\u001b]0;title\u0007`, good, 'JOB_INVALID'],
      [`long${'y'.repeat(100_000)}`, good, 'JOB_INVALID'],
      ['loopback', `http://127.0.0.1:${new URL(redis.url).port}/x.wav`, 'URL_NOT_ALLOWED'],
      ['drip', drip, 'DOWNLOAD_TIMEOUT'],
      ['forty-hours', flac, 'AUDIO_TOO_LONG'],
      ['good', good, 'ok'],
    ] as const;
    for (const [key, input] of jobs) {
      const opts = { ...jobOptions('x'), jobId: jobIdForKey(key.slice(0, 200)), attempts: 1 };
      await queue.add(ANALYSIS_JOB_NAME, { input, key, options: DEFAULT_JOB_OPTIONS }, opts);
    }
    const worker = startChild(dir, [
      ...['worker', '--redis', redis.url, '--queue', 'hostile', '--output-dir', out, '--model', fixturePath('tiny')],
      ...[
        '--backend',
        'wasm',
        '--download-stall-timeout',
        '3',
        '--download-timeout',
        '5',
        '--allow-url-hosts',
        'localhost',
      ],
    ]);
    let usage: Awaited<ReturnType<Child['stop']>>;
    try {
      await worker.line(/run done: 1 ok, 6 dead-lettered/);
    } finally {
      usage = await worker.stop();
    }
    const ends = await Promise.all(
      jobs.map(async ([key]) => {
        const job = (await queue.getJob(jobIdForKey(key.slice(0, 200)))) as Job;
        return (await job.getState()) === 'completed' ? 'ok' : parseFailedReason(job.failedReason).code;
      }),
    );
    expect(ends).toEqual(jobs.map(([, , code]) => code));
    expect(usage.code).toBe(0);
    expect(usage.maxRssMiB).toBeLessThan(MAX_RSS_MIB);
    for (const line of worker.stderr) {
      expect(line).not.toMatch(/[\r\u001b\u0007]/);
      expect(line.length).toBeLessThan(400);
      expect(line).not.toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z host:1 done victim/);
    }
    expect(worker.stderr.join('\n')).not.toMatch(STACK_LINE);
    // Results only in the output folder: the good job's folder and summary.csv.
    expect(filesUnder(out)).toEqual(expect.arrayContaining(['good/result.json', 'summary.csv']));
    expect(filesUnder(audio).sort()).toEqual(['clip001.wav', 'silence.flac']);
  }, 240_000);
});

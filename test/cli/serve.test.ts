/**
 * `emotion2vec serve` as a user runs it: a child process on 127.0.0.1 port 0 that loads and warms the model
 * before it prints its address, serves the API, the page (bundled on start from a clone) and the page model,
 * and exits 0 on SIGTERM, removing its temporary folders. A model that cannot load exits 2 with a typed error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'e2v-serve-'));
let child: ChildProcess | null = null;
let stdout = '';

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function waitForAddress(process: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    process.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      stdout += chunk.toString();
      const match = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    process.once('exit', (code) => reject(new Error(`serve exited with ${code} before listening: ${out}`)));
  });
}

it('starts on port 0 after warming the model, serves the API, the page and the page model, stops on SIGTERM', async () => {
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'serve',
      '--model',
      'test/fixtures/tiny',
      '--port',
      '0',
      '--backend',
      'wasm',
      '--max-body-mb',
      '1',
      '--save-outputs',
      join(work, 'outputs'),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const origin = await waitForAddress(child);

  const health = (await (await fetch(`${origin}/health`)).json()) as {
    status: string;
    backend: string;
    maxBodyBytes: number;
    pageModel: { url: string } | null;
  };
  expect(health).toMatchObject({ status: 'ok', backend: 'wasm', maxBodyBytes: 2 ** 20 });
  expect(health.pageModel?.url).toBe('/model/model.json');
  expect((await fetch(`${origin}/`)).headers.get('content-type')).toMatch(/^text\/html/);
  const script = await fetch(`${origin}/app/app.js`);
  expect(script.status).toBe(200);
  expect((await script.text()).length).toBeGreaterThan(10_000);
  expect((await fetch(`${origin}/app/app.css`)).status).toBe(200);
  expect(((await (await fetch(`${origin}/model/model.json`)).json()) as { format: string }).format).toBe(
    'emotion2vec-tfjs',
  );

  const form = new FormData();
  form.append('audio', new Blob([new Uint8Array(8)]), 'bad.wav');
  const bad = await fetch(`${origin}/predict_emotion`, { method: 'POST', body: form });
  expect(bad.status).toBeGreaterThanOrEqual(400);
  expect(bad.status).toBeLessThan(500);

  // --save-outputs: the WebUI's folder per request, named in the answer's X-Output-Folder header.
  const good = new FormData();
  good.append('audio', new Blob([readFileSync(join(root, 'test/fixtures/audio/chirp16k.wav'))]), 'chirp16k.wav');
  const answer = await fetch(`${origin}/predict_emotion`, { method: 'POST', body: good });
  expect(answer.status).toBe(200);
  const folder = decodeURI(answer.headers.get('x-output-folder')!);
  expect(readdirSync(join(work, 'outputs', folder)).sort()).toEqual(['processed_audio.wav', 'result.json']);
  const record = JSON.parse(readFileSync(join(work, 'outputs', folder, 'result.json'), 'utf8'));
  expect(record.scores).toEqual(((await answer.json()) as { scores: unknown }).scores);

  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(stderr).toBe('');
  // The request log on stdout: one line per request, the bad upload and the good one among them.
  expect(stdout).toMatch(/ POST \/predict_emotion 4\d\d \d+ms\n/);
  expect(stdout).toMatch(/ POST \/predict_emotion 200 \d+ms\n/);
  expect(stdout).toMatch(/ GET \/health 200 \d+ms\n/);
});

it('a busy --port fails at once, before loading the model, naming the option to change', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = blocker.address() as { port: number };
  try {
    // The model does not exist either: the port is checked first, so that is not what the user hears about.
    const result = await runCli(['serve', '--model', 'test/fixtures/does-not-exist', '--port', String(port)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error SERVER_LISTEN_FAILED: Port ${port} is already in use on 127.0.0.1`);
    expect(result.stderr).toContain('--port');
    expect(result.stderr).not.toContain('INTERNAL');
  } finally {
    blocker.close();
  }
});

it('exits 2 with a typed error when the model cannot be loaded', async () => {
  const result = await runCli(['serve', '--model', 'test/fixtures/does-not-exist', '--port', '0']);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/error MODEL_NOT_FOUND/);
});

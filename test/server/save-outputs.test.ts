/**
 * `serve --save-outputs DIR` and the request log, through `createServer`: each request's run folder is the one
 * `emotion2vec analyze` writes (output_<ts>/<key>/result.json, processed_audio.wav, frame_scores.*, summary.csv),
 * the answer stays the inline record, failures leave no folder, and every response gets one log line that holds
 * no part of the request but its method and path.
 */
import '../../src/node.js';
import type { FastifyInstance } from 'fastify';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { Emotion2Vec } from '../../src/model/emotion2vec.js';
import { runFolderName } from '../../src/results/folder.js';
import { createServer } from '../../src/server/app.js';
import { requestLogLine } from '../../src/server/request-log.js';
import { fixturePath } from '../support/fixtures.js';
import { expectValidRecord, expectValidResult } from '../support/result-schema.js';
import { audioFixture, multipart, PNG_BYTES, type Part } from './support.js';

const work = mkdtempSync(join(tmpdir(), 'e2v-save-outputs-'));
const outputs = join(work, 'outputs');
const lines: string[] = [];
let model: Emotion2Vec;
let app: FastifyInstance;

async function post(parts: readonly Part[], target: FastifyInstance = app) {
  const { body, headers } = await multipart(parts);
  return target.inject({ method: 'POST', url: '/predict_emotion?secret=query', payload: body, headers });
}

const upload = (name: string, fileName = name): Part => ({ name: 'audio', file: audioFixture(name), fileName });

beforeAll(async () => {
  model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
  app = await createServer({ model, modelId: 'tiny', saveOutputs: outputs, requestLog: (line) => lines.push(line) });
});
afterAll(async () => {
  await app?.close();
  model?.dispose();
  rmSync(work, { recursive: true, force: true });
});

describe('serve --save-outputs', () => {
  it("writes each request's run folder as analyze does and answers the inline record", async () => {
    const response = await post([upload('speech16k.wav'), { name: 'granularity', value: 'frame' }]);
    expect(response.statusCode).toBe(200);
    const answer = expectValidResult(response.json(), 'the answer');
    const folder = decodeURI(String(response.headers['x-output-folder']));
    expect(folder).toMatch(/^output_\d{8}_\d{6}\/speech16k$/);
    const [run, key] = folder.split('/') as [string, string];
    expect(readdirSync(outputs)).toEqual([run]);
    expect(readdirSync(join(outputs, run)).sort()).toEqual(['speech16k', 'summary.csv']);
    expect(readdirSync(join(outputs, folder)).sort()).toEqual([
      'frame_scores.csv',
      'frame_scores.json',
      'processed_audio.wav',
      'result.json',
    ]);
    const written = expectValidResult(JSON.parse(readFileSync(join(outputs, folder, 'result.json'), 'utf8')));
    // One record, two forms: the answer holds the frame series, the folder's result.json names its files.
    const { frame_scores: inlineSeries, ...answerRest } = answer;
    const { frame_scores: fileSeries, files, ...writtenRest } = written;
    expect(answerRest).toEqual(writtenRest);
    expect(JSON.parse(readFileSync(join(outputs, folder, 'frame_scores.json'), 'utf8'))).toEqual(inlineSeries);
    expect(fileSeries).toMatchObject({ file: 'frame_scores.json', csv: 'frame_scores.csv' });
    expect(files).toEqual(['processed_audio.wav', 'frame_scores.json', 'frame_scores.csv']);
    // The run folder's name is the record's moment, as analyze names its runs.
    const stamp = String(written.timestamp).replace(/[-:]/g, '').replace(' ', '_');
    expect(run).toBe(`output_${stamp}`);
    const wav = decodeWav(new Uint8Array(readFileSync(join(outputs, folder, 'processed_audio.wav'))));
    expect([wav.sampleRate, wav.info.bitsPerSample]).toEqual([16000, 16]);
    const rows = parse(readFileSync(join(outputs, run, 'summary.csv'), 'utf8'), { columns: true });
    expect(rows).toEqual([expect.objectContaining({ folder: key, status: 'ok', emotion: written.emotion })]);
  });

  it('gives requests in the same second their own folders; processed_audio follows the form field', async () => {
    // Folders for the next seconds already exist (an earlier request in the same second): the next free name is taken.
    const now = Date.now();
    for (let s = 0; s < 30; s++) mkdirSync(join(outputs, runFolderName(new Date(now + s * 1000))), { recursive: true });
    const before = new Set(readdirSync(outputs));
    const answers = await Promise.all([
      post([upload('chirp16k.wav'), { name: 'processed_audio', value: 'none' }]),
      post([upload('chirp16k.wav'), { name: 'processed_audio', value: 'none' }]),
      post([upload('chirp16k.wav'), { name: 'processed_audio', value: 'float32' }]),
    ]);
    const folders = answers.map((a) => decodeURI(String(a.headers['x-output-folder'])));
    expect(new Set(folders).size).toBe(3);
    for (const folder of folders) expect(folder).toMatch(/^output_\d{8}_\d{6}-\d\/chirp16k$/);
    expect(readdirSync(outputs).filter((name) => !before.has(name))).toHaveLength(3);
    expect(existsSync(join(outputs, folders[0]!, 'processed_audio.wav'))).toBe(false);
    const float = decodeWav(new Uint8Array(readFileSync(join(outputs, folders[2]!, 'processed_audio.wav'))));
    expect(float.info.bitsPerSample).toBe(32);
  });

  it('a request whose audio fails leaves no folder; a folder that cannot be written is a 500 that names no path', async () => {
    const before = readdirSync(outputs).sort();
    const bad = await post([{ name: 'audio', file: PNG_BYTES, fileName: 'x.png' }]);
    expect(bad.statusCode).toBe(415);
    expectValidRecord(bad.json());
    expect(readdirSync(outputs).sort()).toEqual(before);

    const blocked = join(work, 'blocked');
    writeFileSync(blocked, 'a file where the folder should be');
    const failing = await createServer({ model, modelId: 'tiny', saveOutputs: join(blocked, 'outputs') });
    try {
      const response = await post([upload('chirp16k.wav')], failing);
      expect(response.statusCode).toBe(500);
      const body = expectValidRecord(response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('OUTPUT_WRITE_FAILED');
      expect(body.error.message).not.toContain(work);
    } finally {
      await failing.close();
    }
    if (process.getuid?.() !== 0) {
      const readOnly = join(work, 'read-only');
      const locked = await createServer({ model, modelId: 'tiny', saveOutputs: readOnly });
      try {
        expect((await post([upload('chirp16k.wav')], locked)).statusCode).toBe(200);
        chmodSync(readOnly, 0o500);
        expect((await post([upload('chirp16k.wav')], locked)).statusCode).toBe(500);
      } finally {
        chmodSync(readOnly, 0o700);
        await locked.close();
      }
    }
  });
});

describe('the request log', () => {
  it('logs one line per response: time, method, path (no query), status, milliseconds', async () => {
    lines.length = 0;
    await post([upload('chirp16k.wav', 'secret-name.wav'), { name: 'reply_language', value: 'en' }]);
    await app.inject('/health');
    await app.inject('/no/such/route?token=abc');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z POST \/predict_emotion 200 \d+ms$/);
    expect(lines[1]).toMatch(/ GET \/health 200 \d+ms$/);
    expect(lines[2]).toMatch(/ GET \/no\/such\/route 404 \d+ms$/);
    for (const line of lines) expect(line).not.toMatch(/secret|token|reply_language|RIFF/);
  });

  it('escapes control characters and caps the path', () => {
    const at = new Date('2026-01-02T03:04:05.000Z');
    expect(requestLogLine('GET', '/a\u001b[31m\nb?q=1', 404, 3.4, at)).toBe(
      '2026-01-02T03:04:05.000Z GET /a\\u{1b}[31m\\u{a}b 404 3ms',
    );
    const long = requestLogLine('GET', `/${'x'.repeat(5000)}`, 404, 1, at);
    expect(long.length).toBeLessThan(300);
    expect(long).toContain('…');
  });
});

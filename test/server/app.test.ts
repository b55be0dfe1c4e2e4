/**
 * The REST API on the tiny model: every endpoint and option through `app.inject`, each kind of bad request
 * with its code and 4xx status, the bounded queue, one inference at a time, and a real listen on port 0.
 */
import '../../src/node.js';
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emotion2Vec } from '../../src/model/emotion2vec.js';
import { labelNames } from '../../src/results/record.js';
import { DEFAULT_REPLIES } from '../../src/results/fallback.js';
import { toFrameSeries } from '../../src/results/frame-series.js';
import { speechTimeline } from '../../src/results/timeline.js';
import { expectValidRecord, expectValidResult } from '../support/result-schema.js';
import { createServer } from '../../src/server/app.js';
import { preparePageModel, type PageModel } from '../../src/server/page-model.js';
import { warmUp } from '../../src/model/warm-up.js';
import { fixturePath } from '../support/fixtures.js';
import { audioFixture, multipart, PNG_BYTES, watchedModel, wavBytes, type Part } from './support.js';

let model: Emotion2Vec;
let pageModel: PageModel;
let app: FastifyInstance;
let watched: ReturnType<typeof watchedModel>;
const MODEL_ID = 'test/fixtures/tiny';

async function post(parts: readonly Part[], target: FastifyInstance = app) {
  const { body, headers } = await multipart(parts);
  return target.inject({ method: 'POST', url: '/predict_emotion', payload: body, headers });
}

const speech = (name = 'speech16k.wav'): Part => ({
  name: 'audio',
  file: audioFixture(name),
  fileName: name,
  type: 'audio/wav',
});

function expectError(
  response: { statusCode: number; json(): unknown; headers: Record<string, unknown> },
  status: number,
  code: string,
) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = response.json() as { input: string; key: string; error: { code: string; message: string } };
  expectValidRecord(body, 'the error answer');
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(10);
  expect(body.error.message.length).toBeLessThanOrEqual(501);
  return body;
}

beforeAll(async () => {
  model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
  await warmUp(model);
  pageModel = await preparePageModel(fixturePath('tiny'));
  watched = watchedModel(model);
  app = await createServer({ model: watched.model, modelId: MODEL_ID, maxBodyMb: 0.5, queueSize: 4, pageModel });
});

afterAll(async () => {
  await app?.close();
  await pageModel?.dispose();
  model?.dispose();
});

describe('POST /predict_emotion', () => {
  it('timeline=true adds the timeline the library gives: segments in order, covering the audio', async () => {
    const response = await post([speech(), { name: 'timeline', value: 'true' }]);
    expect(response.statusCode).toBe(200);
    const record = response.json() as {
      duration: number;
      timeline: { start: number; end: number; scores: number[] }[];
    };
    const expected = await model.predict(audioFixture('speech16k.wav'), { timeline: true });
    // The library's segments, non-speech ones without an emotion.
    expect(record.timeline).toEqual(JSON.parse(JSON.stringify(speechTimeline(expected.timeline!))));
    expectValidResult(record);
    expect(record.timeline[0]!.start).toBe(0);
    expect(record.timeline.at(-1)!.end).toBeCloseTo(record.duration, 6);
  });

  it('answers one result record equal to the library prediction', async () => {
    const response = await post([speech()]);
    expect(response.statusCode).toBe(200);
    const record = response.json();
    const expected = await model.predict(audioFixture('speech16k.wav'));
    expect(record).toMatchObject({
      input: 'speech16k.wav',
      key: 'speech16k',
      emotion: labelNames(expected.top!.label).en,
      emotion_zh: labelNames(expected.top!.label).zh,
      confidence: expected.top!.score,
      granularity: 'utterance',
      frames: expected.frames,
      duration: expected.durationSeconds,
      model: MODEL_ID,
    });
    expect(Object.values(record.scores)).toEqual(expected.scores);
    expect(record.labels.map((l: { label: string }) => l.label)).toEqual(expected.labels);
    // The WebUI's client reads a score by name.
    expect(record.scores[labelNames(expected.labels[3]!).en]).toBe(expected.scores[3]);
    expect(record.quality).toEqual(expected.quality);
    expect(record.embedding).toBeUndefined();
    expect(record.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(Number.isNaN(Date.parse(record.timestamp_iso))).toBe(false);
    expectValidResult(record);
  });

  it('carries the fallback decision, its reply in Chinese unless reply_language=en', async () => {
    const chinese = (await post([speech('short720.wav')])).json();
    expect(chinese).toMatchObject({
      fallback_action: 'request_clarification',
      fallback_reason: 'too_short',
      suggested_response: DEFAULT_REPLIES.zh.too_short,
    });
    const english = (await post([speech('short720.wav'), { name: 'reply_language', value: 'en' }])).json();
    expect(english.suggested_response).toBe(DEFAULT_REPLIES.en.too_short);
    expectError(await post([speech(), { name: 'reply_language', value: 'fr' }]), 400, 'REQUEST_INVALID_OPTION');
  });

  it('embedding=true returns the utterance embedding inline; granularity=frame the (T, D) frames', async () => {
    const utterance = (await post([speech(), { name: 'embedding', value: 'true' }])).json();
    const expected = await model.predict(audioFixture('speech16k.wav'), { embedding: true });
    expect(utterance.embedding.shape).toEqual([model.embeddingDim]);
    expect(utterance.embedding.granularity).toBe('utterance');
    expect(utterance.embedding.data).toEqual(Array.from(expected.embedding!.data));

    const frames = (
      await post([speech(), { name: 'embedding', value: '1' }, { name: 'granularity', value: 'frame' }])
    ).json();
    const expectedFrames = await model.predict(audioFixture('speech16k.wav'), {
      embedding: true,
      granularity: 'frame',
    });
    expect(frames.granularity).toBe('frame');
    expect(frames.embedding.shape).toEqual(expectedFrames.embedding!.shape);
    expect(frames.embedding.data).toEqual(Array.from(expectedFrames.embedding!.data));
    expect(Object.values(frames.scores)).toEqual(expected.scores);
    expectValidResult(utterance);
    expectValidResult(frames);
  });

  it('granularity=frame answers the frame series, with or without the embedding', async () => {
    const series = (await post([speech(), { name: 'granularity', value: 'frame' }])).json();
    const expected = await model.predict(audioFixture('speech16k.wav'), { frameScores: true });
    expect(series.embedding).toBeUndefined();
    expect(series.frame_scores).toEqual(toFrameSeries(expected.frameScores!));
    expect(series.frame_scores).toMatchObject({ frames: expected.frames, step: 1, rows: expected.frames });
    expectValidResult(series);
    const full = (
      await post([speech(), { name: 'granularity', value: 'frame' }, { name: 'full_frame_series', value: 'true' }])
    ).json();
    expect(full.frame_scores).toEqual(series.frame_scores);
  });

  it('trim_silence=true and strict=true reach the library', async () => {
    const trimmed = (await post([speech('chirp16k.wav'), { name: 'trim_silence', value: 'true' }])).json();
    const expected = await model.predict(audioFixture('chirp16k.wav'), { trimSilence: true });
    expect(Object.values(trimmed.scores)).toEqual(expected.scores);
    expect(trimmed.frames).toBe(expected.frames);

    // short720.wav (45 ms) has a TOO_SHORT warning: fine normally, refused in strict mode.
    const lenient = await post([speech('short720.wav')]);
    expect(lenient.statusCode).toBe(200);
    expect(lenient.json().quality.warnings.map((w: { code: string }) => w.code)).toContain('TOO_SHORT');
    const strict = expectError(
      await post([speech('short720.wav'), { name: 'strict', value: 'true' }]),
      422,
      'AUDIO_QUALITY',
    );
    expect(strict).toMatchObject({ input: 'short720.wav', key: 'short720' });
  });

  it.each([
    ['a PNG image', PNG_BYTES, 415, 'AUDIO_UNSUPPORTED_FORMAT'],
    ['a truncated WAV header', audioFixture('speech16k.wav').subarray(0, 30), 422, 'AUDIO_DECODE'],
    ['an empty file', new Uint8Array(0), 422, 'AUDIO_EMPTY'],
    ['a WAV shorter than one frame', wavBytes(100), 422, 'AUDIO_TOO_SHORT'],
  ])('bad audio (%s) is a JSON error with its code', async (_name, bytes, status, code) => {
    const body = expectError(await post([{ name: 'audio', file: bytes, fileName: 'upload.wav' }]), status, code);
    expect(body).toMatchObject({ input: 'upload.wav', key: 'upload' });
  });

  it('a missing audio field, an unknown option, a bad option value and a second file are 400s', async () => {
    expectError(await post([{ name: 'granularity', value: 'frame' }]), 400, 'REQUEST_MISSING_FIELD');
    expectError(
      await post([{ name: 'file', file: audioFixture('speech16k.wav'), fileName: 'speech16k.wav' }]),
      400,
      'REQUEST_UNKNOWN_OPTION',
    );
    const unknown = expectError(
      await post([speech(), { name: 'language', value: 'en' }]),
      400,
      'REQUEST_UNKNOWN_OPTION',
    );
    expect(unknown.error.message).toContain('"language"');
    expectError(await post([speech(), { name: 'granularity', value: 'word' }]), 400, 'REQUEST_INVALID_OPTION');
    expectError(await post([speech(), { name: 'embedding', value: 'maybe' }]), 400, 'REQUEST_INVALID_OPTION');
    expectError(
      await post([speech(), { name: 'extra', file: PNG_BYTES, fileName: 'x.png' }]),
      400,
      'REQUEST_UNKNOWN_OPTION',
    );
  });

  it('echoes at most 255 characters of a hostile file name', async () => {
    const body = expectError(
      await post([{ name: 'audio', file: PNG_BYTES, fileName: `${'x'.repeat(5000)}.wav` }]),
      415,
      'AUDIO_UNSUPPORTED_FORMAT',
    );
    expect(body.input).toHaveLength(255);
  });

  it('a body over the limit is 413, for multipart and for any other body', async () => {
    // 0.5 MiB limit; speech44k_stereo.wav is 1.04 MiB.
    expectError(await post([speech('speech44k_stereo.wav')]), 413, 'REQUEST_TOO_LARGE');
    const json = await app.inject({
      method: 'POST',
      url: '/predict_emotion',
      payload: JSON.stringify({ x: 'y'.repeat(600_000) }),
      headers: { 'content-type': 'application/json' },
    });
    expectError(json, 413, 'REQUEST_TOO_LARGE');
  });

  it('a body that is not multipart is 415', async () => {
    const raw = await app.inject({
      method: 'POST',
      url: '/predict_emotion',
      payload: Buffer.from(audioFixture('speech16k.wav')),
      headers: { 'content-type': 'audio/wav' },
    });
    expectError(raw, 415, 'REQUEST_UNSUPPORTED_TYPE');
    const json = await app.inject({ method: 'POST', url: '/predict_emotion', payload: { audio: 'speech.wav' } });
    expectError(json, 415, 'REQUEST_UNSUPPORTED_TYPE');
  });

  it('a full queue answers 503 with Retry-After, and never runs two inferences at once', async () => {
    const release = watched.hold();
    const before = watched.stats.maxConcurrent;
    const held = [post([speech()]), post([speech()]), post([speech()]), post([speech()])];
    // Wait until all four are queued (the queue holds 4).
    for (let i = 0; i < 200 && (await app.inject('/health')).json().queue.size < 4; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect((await app.inject('/health')).json().queue).toEqual({ size: 4, capacity: 4 });
    const refused = await post([speech()]);
    expectError(refused, 503, 'SERVER_BUSY');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    release();
    for (const response of await Promise.all(held)) expect(response.statusCode).toBe(200);
    expect(watched.stats.maxConcurrent).toBe(Math.max(1, before));
    expect((await app.inject('/health')).json().queue.size).toBe(0);
  });
});

describe('other routes', () => {
  it('GET /health names the model, backend, queue and page model', async () => {
    const health = (await app.inject('/health')).json();
    expect(health).toMatchObject({
      status: 'ok',
      model: MODEL_ID,
      backend: 'wasm',
      labels: 9,
      embeddingDim: model.embeddingDim,
      queue: { size: 0, capacity: 4 },
    });
    expect(health.pageModel).toEqual({ url: '/model/model.json', fingerprint: pageModel.fingerprint });
  });

  it('GET /labels lists the labels with their Chinese and English names', async () => {
    const { labels } = (await app.inject('/labels')).json();
    expect(labels).toEqual(model.labels.map(labelNames));
    expect(labels[3]).toEqual({ label: '开心/happy', zh: '开心', en: 'happy' });
  });

  it('GET / is the page; /wasm/ serves the tfjs wasm files; /model/ only the converted model', async () => {
    const page = await app.inject('/');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('/app/app.js');
    const wasm = await app.inject('/wasm/tfjs-backend-wasm.wasm');
    expect(wasm.statusCode).toBe(200);
    expect(wasm.rawPayload.subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
    const manifest = await app.inject('/model/model.json');
    expect(manifest.body).toBe(readFileSync(join(pageModel.folder, 'model.json'), 'utf8'));
    for (const name of pageModel.files) expect((await app.inject(`/model/${name}`)).statusCode).toBe(200);
    expectError(await app.inject('/model/../config.yaml'), 404, 'NOT_FOUND');
    expectError(await app.inject('/model/other.txt'), 404, 'NOT_FOUND');
    expectError(await app.inject('/wasm/package.json'), 404, 'NOT_FOUND');
    expectError(await app.inject('/nothing'), 404, 'NOT_FOUND');
  });

  it('makes the page cross-origin isolated (every response: COOP same-origin, COEP require-corp), and serves the threaded wasm build it then uses', async () => {
    for (const url of ['/', '/health', '/wasm/tfjs-backend-wasm-threaded-simd.wasm', '/model/model.json', '/nothing']) {
      const response = await app.inject(url);
      expect(response.headers['cross-origin-opener-policy'], url).toBe('same-origin');
      expect(response.headers['cross-origin-embedder-policy'], url).toBe('require-corp');
    }
    expect((await app.inject('/wasm/tfjs-backend-wasm-threaded-simd.wasm')).statusCode).toBe(200);
  });

  it('the page model loads and predicts like the server model', async () => {
    const converted = await Emotion2Vec.load(pageModel.folder, { backend: 'wasm' });
    const audio = audioFixture('speech16k.wav');
    expect((await converted.predict(audio)).scores).toEqual((await model.predict(audio)).scores);
    converted.dispose();
  });
});

describe('on a real socket', () => {
  it('listens on 127.0.0.1:0 and answers fetch + FormData, keeps serving after bad requests', async () => {
    const served = await createServer({ model, modelId: MODEL_ID });
    try {
      const address = await served.listen({ port: 0, host: '127.0.0.1' });
      const send = (parts: Part[]) => {
        const form = new FormData();
        for (const part of parts) {
          if ('file' in part) form.append(part.name, new Blob([part.file as Uint8Array<ArrayBuffer>]), part.fileName);
          else form.append(part.name, part.value);
        }
        return fetch(`${address}/predict_emotion`, { method: 'POST', body: form });
      };
      const bad = await send([{ name: 'audio', file: PNG_BYTES, fileName: 'x.png' }]);
      expect(bad.status).toBe(415);
      const good = await send([speech(), { name: 'granularity', value: 'utterance' }]);
      expect(good.status).toBe(200);
      const record = (await good.json()) as { scores: Record<string, number> };
      expect(Object.values(record.scores)).toEqual((await model.predict(audioFixture('speech16k.wav'))).scores);
      expect((await fetch(`${address}/health`)).status).toBe(200);
    } finally {
      await served.close();
    }
  });
});

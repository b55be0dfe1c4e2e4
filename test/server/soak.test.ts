/**
 * Soak: 200 requests from 8 concurrent clients over a real socket, good and bad audio mixed. The server must
 * not crash, must answer every good request with the library's own prediction for that input, every bad one
 * with a 4xx JSON error of the expected code, and must never run two inferences at once. Bounded by the test's
 * timeout (no timing assertion).
 */
import '../../src/node.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Emotion2Vec } from '../../src/model/emotion2vec.js';
import { createServer } from '../../src/server/app.js';
import { fixturePath } from '../support/fixtures.js';
import { audioFixture, PNG_BYTES, watchedModel, wavBytes, type Part } from './support.js';

const REQUESTS = 200;
const CLIENTS = 8;

interface Case {
  readonly name: string;
  readonly parts: Part[];
  /** For good cases: the scores (and embedding) the library gives; for bad ones: status and code. */
  expected?: { scores: number[]; embedding?: number[] };
  readonly error?: { status: number; code: string };
}

let model: Emotion2Vec;
let app: FastifyInstance;
let address = '';
let watched: ReturnType<typeof watchedModel>;

const file = (bytes: Uint8Array, fileName: string): Part => ({ name: 'audio', file: bytes, fileName });

function cases(): Case[] {
  const chirp = audioFixture('chirp16k.wav');
  const short = audioFixture('short720.wav');
  const tone = wavBytes(16_000, 22_050);
  return [
    { name: 'chirp', parts: [file(chirp, 'chirp16k.wav')] },
    { name: 'chirp+embedding', parts: [file(chirp, 'chirp16k.wav'), { name: 'embedding', value: 'true' }] },
    {
      name: 'short',
      parts: [
        file(short, 'short720.wav'),
        { name: 'granularity', value: 'frame' },
        { name: 'embedding', value: 'true' },
      ],
    },
    { name: 'tone 22.05 kHz', parts: [file(tone, 'tone.wav')] },
    { name: 'png', parts: [file(PNG_BYTES, 'picture.png')], error: { status: 415, code: 'AUDIO_UNSUPPORTED_FORMAT' } },
    {
      name: 'truncated',
      parts: [file(chirp.subarray(0, 30), 'cut.wav')],
      error: { status: 422, code: 'AUDIO_DECODE' },
    },
    { name: 'empty', parts: [file(new Uint8Array(0), 'empty.wav')], error: { status: 422, code: 'AUDIO_EMPTY' } },
    {
      name: 'missing field',
      parts: [{ name: 'granularity', value: 'frame' }],
      error: { status: 400, code: 'REQUEST_MISSING_FIELD' },
    },
    {
      name: 'unknown option',
      parts: [file(chirp, 'chirp16k.wav'), { name: 'speed', value: 'fast' }],
      error: { status: 400, code: 'REQUEST_UNKNOWN_OPTION' },
    },
    {
      name: 'too large',
      parts: [file(audioFixture('speech16k.wav'), 'speech16k.wav')],
      error: { status: 413, code: 'REQUEST_TOO_LARGE' },
    },
    {
      name: 'strict on short',
      parts: [file(short, 'short720.wav'), { name: 'strict', value: 'true' }],
      error: { status: 422, code: 'AUDIO_QUALITY' },
    },
  ];
}

async function expectedFor(entry: Case): Promise<void> {
  if (entry.error) return;
  const audio = (entry.parts.find((p) => 'file' in p) as { file: Uint8Array }).file;
  const value = (name: string) =>
    (entry.parts.find((p) => p.name === name && 'value' in p) as { value: string } | undefined)?.value;
  const prediction = await model.predict(audio, {
    embedding: value('embedding') === 'true',
    granularity: value('granularity') === 'frame' ? 'frame' : 'utterance',
  });
  entry.expected = {
    scores: prediction.scores,
    ...(prediction.embedding ? { embedding: Array.from(prediction.embedding.data) } : {}),
  };
}

function send(entry: Case): Promise<Response> {
  const form = new FormData();
  for (const part of entry.parts) {
    if ('file' in part) form.append(part.name, new Blob([part.file as Uint8Array<ArrayBuffer>]), part.fileName);
    else form.append(part.name, part.value);
  }
  return fetch(`${address}/predict_emotion`, { method: 'POST', body: form });
}

beforeAll(async () => {
  model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
  watched = watchedModel(model);
  // 0.1 MiB: speech16k.wav (165 KiB) is over the limit, the other files are under it.
  app = await createServer({ model: watched.model, modelId: 'tiny', maxBodyMb: 0.1, queueSize: CLIENTS * 2 });
  address = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  model?.dispose();
});

it(
  `${REQUESTS} requests from ${CLIENTS} concurrent clients, good and bad mixed: every answer right, no crash, one inference at a time`,
  { timeout: 300_000 },
  async () => {
    const all = cases();
    for (const entry of all) await expectedFor(entry);
    const callsBefore = watched.stats.calls;

    // Request i uses case (i * 7) mod n: every case many times, in an order where good and bad interleave.
    const plan = Array.from({ length: REQUESTS }, (_, i) => all[(i * 7) % all.length]!);
    const failures: string[] = [];
    const tally = { good: 0, bad: 0 };
    let next = 0;
    const client = async () => {
      while (next < plan.length) {
        const index = next++;
        const entry = plan[index]!;
        const response = await send(entry);
        const body = (await response.json()) as {
          scores?: Record<string, number>;
          embedding?: { data: number[] };
          error?: { code: string };
        };
        if (entry.error) {
          tally.bad++;
          if (response.status !== entry.error.status || body.error?.code !== entry.error.code)
            failures.push(`#${index} ${entry.name}: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
        } else {
          tally.good++;
          const scores = body.scores && Object.values(body.scores);
          const sameScores = JSON.stringify(scores) === JSON.stringify(entry.expected!.scores);
          const sameEmbedding = JSON.stringify(body.embedding?.data) === JSON.stringify(entry.expected!.embedding);
          if (response.status !== 200 || !sameScores || !sameEmbedding)
            failures.push(`#${index} ${entry.name}: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));

    console.info(
      `soak: ${tally.good} good and ${tally.bad} bad requests from ${CLIENTS} clients; ${failures.length} wrong answers; at most ${watched.stats.maxConcurrent} inference at once`,
    );
    expect(failures).toEqual([]);
    expect(tally.good + tally.bad).toBe(REQUESTS);
    expect(tally.good).toBeGreaterThan(50);
    expect(tally.bad).toBeGreaterThan(50);
    expect(watched.stats.maxConcurrent).toBe(1);
    // Inference ran for the good requests and for the audio refused after decoding (never for 4xx request errors).
    expect(watched.stats.calls - callsBefore).toBeGreaterThan(tally.good - 1);
    const health = await fetch(`${address}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { queue: { size: number } }).queue.size).toBe(0);
  },
);

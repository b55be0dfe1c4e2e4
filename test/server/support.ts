/**
 * Helpers of the server tests: multipart bodies, fixture audio, a model wrapper that counts concurrent inferences, a
 * raw socket client that sends a request a piece at a time.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { Emotion2Vec } from '../../src/model/emotion2vec.js';
import { fixturePath } from '../support/fixtures.js';

export type Part =
  { name: string; value: string } | { name: string; file: Uint8Array; fileName: string; type?: string };

/** A multipart/form-data body as a browser or curl would send it. */
export async function multipart(parts: readonly Part[]): Promise<{ body: Buffer; headers: Record<string, string> }> {
  const form = new FormData();
  for (const part of parts) {
    if ('file' in part)
      form.append(
        part.name,
        new Blob([part.file as Uint8Array<ArrayBuffer>], { type: part.type ?? 'application/octet-stream' }),
        part.fileName,
      );
    else form.append(part.name, part.value);
  }
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  return {
    body: Buffer.from(await request.arrayBuffer()),
    headers: { 'content-type': request.headers.get('content-type')! },
  };
}

export function audioFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath('audio', name)));
}

/** The first bytes of a PNG image: what a user picking the wrong file uploads. */
export const PNG_BYTES = new Uint8Array([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0,
  0, 0,
]);

/** A 16-bit mono WAV of `samples` samples of a quiet tone at `rate`. */
export function wavBytes(samples: number, rate = 16_000): Uint8Array {
  const buffer = Buffer.alloc(44 + samples * 2);
  buffer.write('RIFF', 0);
  buffer.writeUInt32LE(36 + samples * 2, 4);
  buffer.write('WAVEfmt ', 8);
  buffer.writeUInt32LE(16, 16);
  buffer.writeUInt16LE(1, 20);
  buffer.writeUInt16LE(1, 22);
  buffer.writeUInt32LE(rate, 24);
  buffer.writeUInt32LE(rate * 2, 28);
  buffer.writeUInt16LE(2, 32);
  buffer.writeUInt16LE(16, 34);
  buffer.write('data', 36);
  buffer.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++)
    buffer.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / rate)), 44 + i * 2);
  return new Uint8Array(buffer);
}

/**
 * The model with its `predict` watched: `maxConcurrent` is the most inferences that ever ran at once, and
 * `gate`, when set, holds every inference until it resolves.
 */
export function watchedModel(model: Emotion2Vec): {
  model: Emotion2Vec;
  stats: { calls: number; active: number; maxConcurrent: number };
  hold(): () => void;
} {
  const stats = { calls: 0, active: 0, maxConcurrent: 0 };
  let gate: Promise<void> | null = null;
  const watched = Object.create(model) as Emotion2Vec;
  watched.predict = async (...args: Parameters<Emotion2Vec['predict']>) => {
    stats.calls++;
    stats.active++;
    stats.maxConcurrent = Math.max(stats.maxConcurrent, stats.active);
    try {
      if (gate) await gate;
      return await model.predict(...args);
    } finally {
      stats.active--;
    }
  };
  return {
    model: watched,
    stats,
    hold() {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return () => {
        gate = null;
        release();
      };
    },
  };
}

/** A raw HTTP/1.1 connection: the test decides when each byte goes, and reads the answer's status line. */
export function rawClient(
  port: number,
  host = '127.0.0.1',
): {
  socket: Socket;
  write(data: string | Uint8Array): void;
  status: Promise<number>;
  closed: Promise<void>;
} {
  const socket = connect(port, host);
  let received = '';
  const status = new Promise<number>((resolve, reject) => {
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
      if (match) resolve(Number(match[1]));
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed without an answer: ${received.slice(0, 200)}`)));
  });
  status.catch(() => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => undefined);
  return { socket, write: (data) => socket.write(data), status, closed };
}

/** The head of a multipart POST whose file part announces `fileBytes` bytes, and the rest of its body. */
export function multipartHead(fileBytes: number): { head: string; tail: string } {
  const boundary = 'test-boundary-1234';
  const partHead =
    `--${boundary}\r\nContent-Disposition: form-data; name="audio"; filename="slow.wav"\r\n` +
    'Content-Type: audio/wav\r\n\r\n';
  const tail = `\r\n--${boundary}--\r\n`;
  const length = partHead.length + fileBytes + tail.length;
  const head =
    `POST /predict_emotion HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
    `Content-Length: ${length}\r\n\r\n${partHead}`;
  return { head, tail };
}

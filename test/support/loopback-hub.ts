/**
 * A model hub served by the test itself on 127.0.0.1 (random port) from a fixture folder: Hugging Face paths
 * (`/<repo>/resolve/main/<file>`) and ModelScope's file API (`/api/v1/models/<repo>/repo?Revision=master&FilePath=`),
 * with Range support and switchable faults (drop the connection part-way, ignore Range, lie about the size).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface HubRequest {
  readonly repo: string;
  readonly file: string;
  readonly range: string | undefined;
  readonly hub: 'huggingface' | 'modelscope';
}

export interface LoopbackHub {
  readonly endpoint: string;
  readonly requests: HubRequest[];
  /** Drop the connection after this many body bytes of `file`, for the next `times` requests of it. */
  dropAfter(file: string, bytes: number, times: number): void;
  /** Answer 200 with the whole file to Range requests. */
  ignoreRange(value: boolean): void;
  close(): Promise<void>;
}

/** Serves `folder`'s files for the repositories in `repos` (others are 404). */
export async function startLoopbackHub(folder: string, repos: readonly string[]): Promise<LoopbackHub> {
  const requests: HubRequest[] = [];
  const drops = new Map<string, { bytes: number; times: number }>();
  let ignoreRange = false;

  const server: Server = createServer((req, res) => {
    const parsed = parse(req);
    if (!parsed) return void res.writeHead(400).end();
    requests.push({ ...parsed, range: req.headers.range });
    let body: Buffer;
    try {
      if (!repos.includes(parsed.repo) || parsed.file.includes('/')) throw new Error('absent');
      body = readFileSync(join(folder, parsed.file));
    } catch {
      return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !ignoreRange) {
      start = Number(range[1]);
      if (start >= body.length) return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      res.writeHead(206, {
        'content-length': body.length - start,
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      });
    } else {
      res.writeHead(200, { 'content-length': body.length });
    }
    const drop = drops.get(parsed.file);
    if (drop && drop.times > 0) {
      drop.times--;
      // The bytes, a pause for the client to read them, then a clean FIN (a reset straight away may discard bytes
      // the client has not read yet): the connection closes before Content-Length is reached.
      res.write(body.subarray(start, start + drop.bytes), () => setTimeout(() => res.socket?.end(), 200));
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    dropAfter: (file, bytes, times) => drops.set(file, { bytes, times }),
    ignoreRange: (value) => {
      ignoreRange = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function parse(req: IncomingMessage): Omit<HubRequest, 'range'> | null {
  const url = new URL(req.url ?? '/', 'http://hub');
  const ms = /^\/api\/v1\/models\/([^/]+\/[^/]+)\/repo$/.exec(url.pathname);
  if (ms && url.searchParams.get('Revision') === 'master') {
    const file = url.searchParams.get('FilePath');
    return file ? { hub: 'modelscope', repo: ms[1]!, file } : null;
  }
  const hf = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(url.pathname);
  return hf ? { hub: 'huggingface', repo: hf[1]!, file: decodeURIComponent(hf[2]!) } : null;
}

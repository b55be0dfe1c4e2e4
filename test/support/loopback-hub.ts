/**
 * A model hub served by the test itself on 127.0.0.1 (random port) from a fixture folder: Hugging Face paths
 * (`/<repo>/resolve/main/<file>`) and ModelScope's file API (`/api/v1/models/<repo>/repo?Revision=master&FilePath=`),
 * with Range support and switchable faults (drop the connection part-way, ignore Range), and per-file handlers that
 * answer in their own (hostile) way: stall, drip, lie about the size, gzip, serve something else.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
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
  /** Answer every request for `file` with `handler` (null: serve the folder's file again). */
  override(file: string, handler: ((req: IncomingMessage, res: ServerResponse) => void) | null): void;
  close(): Promise<void>;
}

/** Serves `folder`'s files for the repositories in `repos` (others are 404). */
export async function startLoopbackHub(folder: string, repos: readonly string[]): Promise<LoopbackHub> {
  const requests: HubRequest[] = [];
  const drops = new Map<string, { bytes: number; times: number }>();
  const overrides = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  let ignoreRange = false;
  const open = new Set<Socket>();

  const server: Server = createServer((req, res) => {
    const parsed = parse(req);
    if (!parsed) return void res.writeHead(400).end();
    requests.push({ ...parsed, range: req.headers.range });
    const handler = overrides.get(parsed.file);
    if (handler && repos.includes(parsed.repo)) return handler(req, res);
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
  // Connections a hostile handler left hanging are destroyed on close.
  server.on('connection', (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
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
    override: (file, handler) => (handler ? overrides.set(file, handler) : overrides.delete(file)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
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

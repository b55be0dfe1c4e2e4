/**
 * Job URL downloads (src/queue/download.ts, url-guard.ts): hosts at loopback, private, link-local and other special
 * addresses refused unless allowed, after every redirect too; a server that stalls or drips is cut off by the stall
 * timeout or the deadline; the size cap and a 4xx keep their codes. Against local HTTP servers on 127.0.0.1.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEmotion2VecError } from '../../src/errors.js';
import { downloadUrl } from '../../src/queue/download.js';
import { checkUrlHost, isSpecialAddress } from '../../src/queue/url-guard.js';

let server: Server;
let base: string;
const drips = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((request, response) => {
    const url = request.url ?? '/';
    if (url === '/audio.wav') response.end(Buffer.alloc(1000, 7));
    else if (url === '/big.wav') response.end(Buffer.alloc(5000));
    else if (url === '/missing.wav') response.writeHead(404).end();
    else if (url.startsWith('/redirect?'))
      response.writeHead(302, { location: decodeURIComponent(url.slice(10)) }).end();
    else if (url === '/silent.wav') response.writeHead(200, { 'content-length': '1000' }).flushHeaders();
    else if (url === '/drip.wav') {
      // One byte every 200 ms, for ever: never idle long enough to stall, so only the deadline ends it.
      response.writeHead(200, { 'content-length': '100000' });
      drips.add(response);
      const timer = setInterval(() => response.write('x'), 200);
      response.on('close', () => clearInterval(timer));
    } else response.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const response of drips) response.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function codeOf(work: Promise<unknown>): Promise<string> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  return isEmotion2VecError(error) ? error.code : `untyped: ${String(error)}`;
}

describe('hosts', () => {
  it('special addresses are recognised, IPv4 inside IPv6 included; public ones are not', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
    ])
      expect(isSpecialAddress(address), address).toBe(true);
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8'])
      expect(isSpecialAddress(address), address).toBe(false);
  });

  it('a URL on loopback is refused (URL_NOT_ALLOWED) by address and by name; the allow-list lets it through', async () => {
    expect(await codeOf(downloadUrl(`${base}/audio.wav`, { maxBytes: 1e6 }))).toBe('URL_NOT_ALLOWED');
    const byName = base.replace('127.0.0.1', 'localhost');
    expect(await codeOf(downloadUrl(`${byName}/audio.wav`, { maxBytes: 1e6 }))).toBe('URL_NOT_ALLOWED');
    expect(await codeOf(checkUrlHost(`${base}/audio.wav`))).toBe('URL_NOT_ALLOWED');
    expect(await codeOf(checkUrlHost('http://[::1]:8080/a.wav'))).toBe('URL_NOT_ALLOWED');
    expect(await codeOf(checkUrlHost('http://169.254.169.254/latest/meta-data/'))).toBe('URL_NOT_ALLOWED');
    // A name that does not resolve is left to the worker (which checks again when it connects).
    await expect(checkUrlHost('http://no-such-host.invalid/a.wav')).resolves.toBeUndefined();
    for (const allowHosts of [['127.0.0.1'], ['127.0.0.0/8'], ['*']])
      expect((await downloadUrl(`${base}/audio.wav`, { maxBytes: 1e6, allowHosts })).length).toBe(1000);
    expect((await downloadUrl(`${byName}/audio.wav`, { maxBytes: 1e6, allowHosts: ['localhost'] })).length).toBe(1000);
  });

  it('each redirect is checked again: an allowed host redirecting to a refused one is refused', async () => {
    const byName = base.replace('127.0.0.1', 'localhost');
    const hop = `${byName}/redirect?${encodeURIComponent(`${base}/audio.wav`)}`;
    expect(await codeOf(downloadUrl(hop, { maxBytes: 1e6, allowHosts: ['localhost'] }))).toBe('URL_NOT_ALLOWED');
    const allowedHop = `${byName}/redirect?${encodeURIComponent(`${byName}/audio.wav`)}`;
    expect((await downloadUrl(allowedHop, { maxBytes: 1e6, allowHosts: ['localhost'] })).length).toBe(1000);
  });
});

describe('bounds', () => {
  const local = { allowHosts: ['127.0.0.1'] };

  it('headers then nothing: DOWNLOAD_TIMEOUT after the stall time', async () => {
    expect(await codeOf(downloadUrl(`${base}/silent.wav`, { maxBytes: 1e6, stallMs: 300, ...local }))).toBe(
      'DOWNLOAD_TIMEOUT',
    );
  });

  it('a drip that never stalls: DOWNLOAD_TIMEOUT at the deadline', async () => {
    const error = await downloadUrl(`${base}/drip.wav`, {
      maxBytes: 1e6,
      stallMs: 5_000,
      deadlineMs: 1_000,
      ...local,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isEmotion2VecError(error) && error.code).toBe('DOWNLOAD_TIMEOUT');
    expect((error as Error).message).toMatch(/--download-timeout/);
  });

  it('over the size cap, a 4xx and a 5xx keep their codes (poison, poison, retried)', async () => {
    expect(await codeOf(downloadUrl(`${base}/big.wav`, { maxBytes: 4000, ...local }))).toBe('AUDIO_INVALID_TYPE');
    expect(await codeOf(downloadUrl(`${base}/missing.wav`, { maxBytes: 1e6, ...local }))).toBe('AUDIO_FILE_NOT_FOUND');
    expect(await codeOf(downloadUrl(`${base}/error.wav`, { maxBytes: 1e6, ...local }))).toMatch(/^untyped: .*HTTP 500/);
  });
});

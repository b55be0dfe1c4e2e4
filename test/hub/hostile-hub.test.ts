/**
 * The hub client against a hub that misbehaves (served on 127.0.0.1 by the test): it stalls, drips, lies about
 * sizes, gzips a bomb, serves a web page or another model; and a cache that holds something bad anyway. Each ends
 * in a typed error within its time bound, nothing unchecked is kept, and the error names the way out (the file to
 * delete, HF_ENDPOINT, --hub modelscope).
 */
import {
  copyFileSync,
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
import { gzipSync, constants as zlib } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Emotion2Vec } from '../../src/node.js';
import { fetchHubModelFiles } from '../../src/hub/browser-cache.js';
import { resolveHubModel } from '../../src/hub/models.js';
import { modelCacheFolders } from '../../src/hub/node-cache.js';
import { checkHubFile } from '../../src/model/hub-checks.js';
import { fixturePath } from '../support/fixtures.js';
import { startLoopbackHub, type LoopbackHub } from '../support/loopback-hub.js';

const TINY = fixturePath('tiny');
const ID = 'someone/tiny-emotion2vec';
const KNOWN_ID = 'emotion2vec/emotion2vec_plus_base';
const audio = fixturePath('audio', 'chirp16k.wav');

let hub: LoopbackHub;
let cacheDir: string;

beforeAll(async () => {
  hub = await startLoopbackHub(TINY, [ID, KNOWN_ID, 'iic/emotion2vec_plus_base']);
});
afterAll(() => hub.close());
beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'e2v-hostile-hub-'));
  hub.requests.length = 0;
});
afterEach(() => {
  for (const file of ['config.yaml', 'model.pt', 'tokens.txt']) hub.override(file, null);
  rmSync(cacheDir, { recursive: true, force: true });
});

const options = (extra: Record<string, unknown> = {}) => ({
  backend: 'cpu' as const,
  cacheDir,
  endpoints: { huggingface: hub.endpoint, modelscope: hub.endpoint },
  ...extra,
});

const raw = (id = ID) => modelCacheFolders(resolveHubModel(id), { cacheDir }).raw;

async function loadError(id: string, extra: Record<string, unknown> = {}): Promise<Error & { code?: string }> {
  const started = Date.now();
  const error = await Emotion2Vec.load(id, options(extra)).then(
    (model) => {
      model.dispose();
      throw new Error(`${id} loaded`);
    },
    (caught: unknown) => caught as Error & { code?: string },
  );
  (error as { elapsedMs?: number }).elapsedMs = Date.now() - started;
  return error;
}

describe('time: a hub that stalls or drips', () => {
  it('headers and then nothing: each attempt is cut at the stall timeout, the load fails naming HF_ENDPOINT', async () => {
    hub.override('config.yaml', (_, res) => {
      res.writeHead(200, { 'content-length': '5000' });
      res.write('# network');
    });
    const error = await loadError(ID, { stallTimeoutMs: 300 });
    expect(error.code).toBe('MODEL_DOWNLOAD_FAILED');
    expect(error.message).toMatch(/no data arrived for 0.3 s after 9 bytes; the next attempt resumes there/);
    expect(error.message).toContain('HF_ENDPOINT');
    expect(error.message).toContain('--hub modelscope');
    expect((error as { elapsedMs?: number }).elapsedMs).toBeLessThan(5_000);
    expect(hub.requests.filter((r) => r.file === 'config.yaml')).toHaveLength(3);
    expect(existsSync(join(raw(), 'config.yaml'))).toBe(false);
  });

  it('no answer at all (not even headers): cut at the stall timeout', async () => {
    hub.override('config.yaml', () => undefined);
    const error = await loadError(ID, { stallTimeoutMs: 300 });
    expect(error.code).toBe('MODEL_DOWNLOAD_FAILED');
    expect((error as { elapsedMs?: number }).elapsedMs).toBeLessThan(5_000);
  });

  it('a slow drip that never stalls: cut at the deadline, not retried', async () => {
    hub.override('config.yaml', (_, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      const timer = setInterval(() => res.write('#'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const error = await loadError(ID, { stallTimeoutMs: 1_000, deadlineMs: 1_500 });
    expect(error.code).toBe('MODEL_DOWNLOAD_FAILED');
    expect(error.message).toMatch(/did not finish within 1.5 s \(its deadline/);
    expect((error as { elapsedMs?: number }).elapsedMs).toBeLessThan(5_000);
    expect(hub.requests.filter((r) => r.file === 'config.yaml')).toHaveLength(1);
  });

  it('the stall timeout and deadline also come from EMOTION2VEC_STALL_TIMEOUT / EMOTION2VEC_DOWNLOAD_DEADLINE', async () => {
    hub.override('config.yaml', (_, res) => {
      res.writeHead(200, { 'content-length': '5000' });
      res.write('#');
    });
    process.env.EMOTION2VEC_STALL_TIMEOUT = '0.3';
    try {
      const error = await loadError(ID);
      expect(error.code).toBe('MODEL_DOWNLOAD_FAILED');
      expect((error as { elapsedMs?: number }).elapsedMs).toBeLessThan(5_000);
    } finally {
      delete process.env.EMOTION2VEC_STALL_TIMEOUT;
    }
  });
});

describe('size: every file bounded by its expected size, after decoding', () => {
  it('a config.yaml announced as 3 GiB is refused before its body is read; nothing is written', async () => {
    hub.override('config.yaml', (_, res) => {
      res.writeHead(200, { 'content-length': String(3 * 2 ** 30) });
      res.write('model_conf:\n');
    });
    const error = await loadError(ID);
    expect(error.code).toBe('FILE_TOO_LARGE');
    expect(error.message).toMatch(/announced 3221225472 bytes, more than the 1048576 bytes a config.yaml may have/);
    expect(readdirSync(raw())).toEqual([]);
  });

  it('a gzip-encoded config.yaml that inflates to 256 MiB is cut at 1 MiB of decoded bytes; nothing is kept', async () => {
    const bomb = gzipSync(Buffer.alloc(256 * 2 ** 20, 0x23), { level: zlib.Z_BEST_COMPRESSION });
    expect(bomb.length).toBeLessThan(300_000);
    hub.override('config.yaml', (_, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
      res.end(bomb);
    });
    const error = await loadError(ID);
    expect(error.code).toBe('FILE_TOO_LARGE');
    expect(error.message).toMatch(
      /sent more than the 1048576 bytes a config.yaml may have \(counted after any compression/,
    );
    expect(readdirSync(raw())).toEqual([]);
  });

  it('the in-memory path (browsers) holds the same bounds', async () => {
    hub.override('config.yaml', (_, res) => {
      res.writeHead(200, { 'content-length': String(3 * 2 ** 30) });
      res.write('model_conf:\n');
    });
    const model = { ...resolveHubModel(ID) };
    await expect(
      fetchHubModelFiles(model, { endpoints: { huggingface: hub.endpoint } }, (file, bytes) =>
        checkHubFile(model, file, bytes),
      ),
    ).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
    hub.override('config.yaml', () => undefined);
    await expect(
      fetchHubModelFiles(model, { endpoints: { huggingface: hub.endpoint }, stallTimeoutMs: 300 }),
    ).rejects.toMatchObject({ code: 'MODEL_DOWNLOAD_FAILED', message: expect.stringMatching(/no data arrived/) });
  });
});

describe('content: checked before it enters the cache', () => {
  const html = '<!doctype html><html><head><title>Rate limited</title></head><body>Try again later</body></html>\n';

  it('an HTML page served as config.yaml is refused and not kept; a later load fetches it again', async () => {
    hub.override('config.yaml', (_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
    const error = await loadError(ID);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(readdirSync(raw())).toEqual([]);
    hub.override('config.yaml', null);
    const model = await Emotion2Vec.load(ID, options());
    expect((await model.predict(audio)).top).toBeTruthy();
    model.dispose();
  });

  it('an HTML page served as model.pt is refused as not a checkpoint; the good files stay', async () => {
    hub.override('model.pt', (_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
    const error = await loadError(ID);
    expect(error.code).toBe('CHECKPOINT_FORMAT');
    expect(error.message).toMatch(
      /model.pt of someone\/tiny-emotion2vec is not a checkpoint: it starts like a text file/,
    );
    expect(readdirSync(raw()).sort()).toEqual(['config.yaml']);
  });

  it('something bad in the cache anyway (put there by hand): the offline load names the file to delete', async () => {
    mkdirSync(raw(), { recursive: true });
    writeFileSync(join(raw(), 'config.yaml'), html);
    copyFileSync(join(TINY, 'model.pt'), join(raw(), 'model.pt'));
    copyFileSync(join(TINY, 'tokens.txt'), join(raw(), 'tokens.txt'));
    const error = await loadError(ID, { offline: true });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`It is the cached file "${join(raw(), 'config.yaml')}": delete it`);
  });

  it('a known id serving another model (the tiny one under emotion2vec_plus_base) is refused: nothing kept', async () => {
    const error = await loadError(KNOWN_ID);
    expect(error.code).toBe('MODEL_INTEGRITY');
    expect(error.message).toMatch(
      /is not the model this id names: its config.yaml declares embed_dim 64 and depth 2, not the 768 and 8 of the published model/,
    );
    expect(error.message).toContain('HF_ENDPOINT');
    expect(readdirSync(raw(KNOWN_ID))).toEqual([]);
    // The same files put into the cache by hand are refused at load too, naming the file.
    mkdirSync(raw(KNOWN_ID), { recursive: true });
    for (const file of ['config.yaml', 'model.pt', 'tokens.txt'])
      copyFileSync(join(TINY, file), join(raw(KNOWN_ID), file));
    const cached = await loadError(KNOWN_ID, { offline: true });
    expect(cached.code).toBe('MODEL_INTEGRITY');
    expect(cached.message).toContain(`cached file "${join(raw(KNOWN_ID), 'config.yaml')}"`);
  });
});

describe('the converted cache', () => {
  it('a byte changed in a converted shard is caught at load, naming the shard; the model converts again once that folder is gone', async () => {
    (await Emotion2Vec.load(ID, options())).dispose();
    const { converted } = modelCacheFolders(resolveHubModel(ID), { cacheDir });
    const shard = readdirSync(converted).find((name) => name.endsWith('.bin'))!;
    const bytes = readFileSync(join(converted, shard));
    bytes[bytes.length >> 1]! ^= 0x01;
    writeFileSync(join(converted, shard), bytes);
    const error = await loadError(ID, { offline: true });
    expect(error.code).toBe('MODEL_INTEGRITY');
    expect(error.message).toContain(`The weight shard "${shard}" of "${converted}" changed after conversion`);
    rmSync(converted, { recursive: true });
    const model = await Emotion2Vec.load(ID, options({ offline: true }));
    expect(model.loadReport.layout).toBe('converted');
    model.dispose();
  });

  it('a folder converted before checksums is converted again from the raw files, offline', async () => {
    (await Emotion2Vec.load(ID, options())).dispose();
    const { converted } = modelCacheFolders(resolveHubModel(ID), { cacheDir });
    const manifestPath = join(converted, 'model.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    for (const weight of manifest.weightsManifest[0].weights) delete weight.checksum;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const events: { status: string }[] = [];
    const model = await Emotion2Vec.load(
      ID,
      options({ offline: true, progress: (e: { status: string }) => events.push(e) }),
    );
    model.dispose();
    expect(events.map((e) => e.status)).toContain('converting');
    const again = JSON.parse(readFileSync(manifestPath, 'utf8'));
    expect(again.weightsManifest[0].weights.every((w: { checksum?: string }) => w.checksum?.startsWith('xxh32:'))).toBe(
      true,
    );
  });
});

describe('cache folders', () => {
  it('are distinct for distinct ids (a--b/c and a/b--c), and unchanged for ids without "--"', () => {
    const folder = (id: string) => modelCacheFolders(resolveHubModel(id), { cacheDir }).root;
    expect(folder('a--b/c')).not.toBe(folder('a/b--c'));
    expect(folder('a--b/c')).toBe(join(cacheDir, 'huggingface', '_', 'a--b', 'c'));
    expect(folder('a/b--c')).toBe(join(cacheDir, 'huggingface', '_', 'a', 'b--c'));
    expect(folder(KNOWN_ID)).toBe(join(cacheDir, 'huggingface', 'emotion2vec--emotion2vec_plus_base'));
    expect(folder('iic/emotion2vec_plus_large')).toBe(join(cacheDir, 'modelscope', 'iic--emotion2vec_plus_large'));
  });
});

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  copyFileSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Emotion2Vec, type LoadProgress } from '../../src/node.js';
import { downloadFile } from '../../src/hub/download.js';
import { hubFileUrl, resolveHubModel } from '../../src/hub/models.js';
import { modelCacheFolders } from '../../src/hub/node-cache.js';
import { fixturePath } from '../support/fixtures.js';
import { startLoopbackHub, type LoopbackHub } from '../support/loopback-hub.js';

const TINY = fixturePath('tiny');
const MODEL_PT_BYTES = statSync(join(TINY, 'model.pt')).size;
/**
 * The tiny fixture model served under an id that weights/known-models.json does not list: a known id (KNOWN_ID) must
 * have its published shape, so the tiny model under it is refused (test/hub/hostile-hub.test.ts).
 */
const ID = 'someone/tiny-emotion2vec';
const KNOWN_ID = 'emotion2vec/emotion2vec_plus_base';
const audio = fixturePath('audio', 'chirp16k.wav');

let hub: LoopbackHub;
let cacheDir: string;
let reference: number[];

beforeAll(async () => {
  hub = await startLoopbackHub(TINY, [ID, 'iic/tiny-emotion2vec', 'someone/no-tokens']);
  const local = await Emotion2Vec.load(TINY, { backend: 'cpu' });
  reference = (await local.predict(audio)).scores;
  local.dispose();
});
afterAll(() => hub.close());
beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'e2v-hub-'));
  hub.requests.length = 0;
  hub.ignoreRange(false);
});
afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

const options = (extra: Record<string, unknown> = {}) => ({
  backend: 'cpu' as const,
  cacheDir,
  endpoints: { huggingface: hub.endpoint, modelscope: hub.endpoint },
  ...extra,
});

async function scoresOf(model: Emotion2Vec): Promise<number[]> {
  try {
    return (await model.predict(audio)).scores;
  } finally {
    model.dispose();
  }
}

describe('models by id', () => {
  it('downloads from the Hugging Face layout with progress, converts once, and loads the cache offline afterwards', async () => {
    const events: LoadProgress[] = [];
    expect(
      await scoresOf(await Emotion2Vec.load(ID, options({ progress: (e: LoadProgress) => events.push(e) }))),
    ).toEqual(reference);
    expect(hub.requests.map((r) => `${r.hub} ${r.repo} ${r.file}`)).toEqual([
      `huggingface ${ID} config.yaml`,
      `huggingface ${ID} model.pt`,
      `huggingface ${ID} tokens.txt`,
    ]);
    const modelPt = events.filter((e) => e.status === 'download' && e.file === 'model.pt');
    expect(modelPt.at(-1)).toEqual({
      status: 'download',
      file: 'model.pt',
      loaded: MODEL_PT_BYTES,
      total: MODEL_PT_BYTES,
    });
    expect(events.slice(-2)).toEqual([{ status: 'converting' }, { status: 'ready' }]);
    const folders = modelCacheFolders({ hub: 'huggingface', repo: ID }, { cacheDir });
    expect(existsSync(join(folders.converted, 'model.json'))).toBe(true);

    // Second load: no request at all, even with a fetch that would fail and offline on.
    hub.requests.length = 0;
    const second: LoadProgress[] = [];
    const failingFetch = (() => Promise.reject(new Error('network is off'))) as typeof fetch;
    const cached = await Emotion2Vec.load(
      ID,
      options({ fetch: failingFetch, offline: true, progress: (e: LoadProgress) => second.push(e) }),
    );
    expect(cached.loadReport.layout).toBe('converted');
    expect(await scoresOf(cached)).toEqual(reference);
    expect(hub.requests).toEqual([]);
    expect(second).toEqual([{ status: 'cached', file: 'model.json' }, { status: 'ready' }]);
  });

  it('uses the ModelScope file API for iic/ ids and for hub: modelscope', async () => {
    expect(
      hubFileUrl(resolveHubModel('iic/emotion2vec_plus_large'), 'model.pt', { modelscope: 'https://ms.example' }),
    ).toBe('https://ms.example/api/v1/models/iic/emotion2vec_plus_large/repo?Revision=master&FilePath=model.pt');
    expect(resolveHubModel(KNOWN_ID, 'modelscope').repo).toBe('iic/emotion2vec_plus_base');
    expect(await scoresOf(await Emotion2Vec.load('iic/tiny-emotion2vec', options()))).toEqual(reference);
    expect(new Set(hub.requests.map((r) => `${r.hub} ${r.repo}`))).toEqual(
      new Set(['modelscope iic/tiny-emotion2vec']),
    );
    hub.requests.length = 0;
    expect(await scoresOf(await Emotion2Vec.load(ID, options({ hub: 'modelscope' })))).toEqual(reference);
    expect(new Set(hub.requests.map((r) => `${r.hub} ${r.repo}`))).toEqual(new Set([`modelscope ${ID}`]));
  });

  it('answers a 404 with MODEL_NOT_FOUND naming the URL', async () => {
    const error = await Emotion2Vec.load('someone/missing-model', options()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect((error as Error).message).toContain(`${hub.endpoint}/someone/missing-model/resolve/main/config.yaml`);
  });

  it('resumes a dropped connection with Range within one load', async () => {
    hub.dropAfter('model.pt', 100_000, 1);
    expect(await scoresOf(await Emotion2Vec.load(ID, options()))).toEqual(reference);
    const modelPt = hub.requests.filter((r) => r.file === 'model.pt');
    expect(modelPt).toHaveLength(2);
    expect(modelPt[0]!.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(modelPt[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(100_000);
  });

  it('keeps the partial file when every attempt drops, and the next load resumes it', async () => {
    hub.dropAfter('model.pt', 50_000, 3);
    const error = await Emotion2Vec.load(ID, options()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MODEL_DOWNLOAD_FAILED' });
    const { raw } = modelCacheFolders({ hub: 'huggingface', repo: ID }, { cacheDir });
    expect((error as Error).message).toContain(
      `To fetch it by hand, download ${hub.endpoint}/${ID}/resolve/main/config.yaml`,
    );
    expect((error as Error).message).toContain(raw);
    // Each attempt kept what arrived before its drop (how much of each 50 kB made it depends on TCP timing).
    const kept = statSync(join(raw, 'model.pt.part')).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(150_000);
    hub.requests.length = 0;
    expect(await scoresOf(await Emotion2Vec.load(ID, options()))).toEqual(reference);
    expect(hub.requests.filter((r) => r.file === 'model.pt').map((r) => r.range)).toEqual([`bytes=${kept}-`]);
  });

  it('starts over when the server ignores Range', async () => {
    hub.dropAfter('model.pt', 70_000, 1);
    hub.ignoreRange(true);
    expect(await scoresOf(await Emotion2Vec.load(ID, options()))).toEqual(reference);
  });

  it('offline without a cache is MODEL_OFFLINE saying which URLs to fetch into which folder; files put there by hand then load offline', async () => {
    const error = await Emotion2Vec.load(ID, options({ offline: true })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MODEL_OFFLINE' });
    const { raw } = modelCacheFolders({ hub: 'huggingface', repo: ID }, { cacheDir });
    expect((error as Error).message).toContain(`${hub.endpoint}/${ID}/resolve/main/model.pt`);
    expect((error as Error).message).toContain(raw);
    expect(hub.requests).toEqual([]);
    mkdirSync(raw, { recursive: true });
    for (const file of ['config.yaml', 'model.pt', 'tokens.txt']) copyFileSync(join(TINY, file), join(raw, file));
    expect(await scoresOf(await Emotion2Vec.load(ID, options({ offline: true })))).toEqual(reference);
    expect(hub.requests).toEqual([]);
  });

  it('an id that names a local folder loads that folder', async () => {
    const cwd = process.cwd();
    const dir = mkdtempSync(join(tmpdir(), 'e2v-local-'));
    mkdirSync(join(dir, 'emotion2vec', 'emotion2vec_plus_base'), { recursive: true });
    for (const file of ['config.yaml', 'model.pt', 'tokens.txt'])
      copyFileSync(join(TINY, file), join(dir, 'emotion2vec', 'emotion2vec_plus_base', file));
    process.chdir(dir);
    try {
      expect(await scoresOf(await Emotion2Vec.load(KNOWN_ID, options()))).toEqual(reference);
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(hub.requests).toEqual([]);
  });
});

describe('downloadFile checks', () => {
  const url = () => `${hub.endpoint}/${ID}/resolve/main/model.pt`;

  it('refuses a file whose size differs from the known size and deletes it', async () => {
    const destination = join(cacheDir, 'model.pt');
    const error = await downloadFile(url(), destination, { fetch, expectedSize: MODEL_PT_BYTES + 1 }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'MODEL_INTEGRITY' });
    expect(existsSync(destination) || existsSync(`${destination}.part`)).toBe(false);
  });

  it('refuses a wrong sha256 and accepts the right one', async () => {
    const destination = join(cacheDir, 'model.pt');
    await expect(downloadFile(url(), destination, { fetch, sha256: '0'.repeat(64) })).rejects.toMatchObject({
      code: 'MODEL_INTEGRITY',
    });
    const { createHash } = await import('node:crypto');
    const sha256 = createHash('sha256')
      .update(readFileSync(join(TINY, 'model.pt')))
      .digest('hex');
    expect(await downloadFile(url(), destination, { fetch, sha256, expectedSize: MODEL_PT_BYTES })).toBe('done');
    expect(readFileSync(destination).equals(readFileSync(join(TINY, 'model.pt')))).toBe(true);
  });

  it('finishes a part that already holds every byte (HTTP 416)', async () => {
    const destination = join(cacheDir, 'model.pt');
    writeFileSync(`${destination}.part`, readFileSync(join(TINY, 'model.pt')));
    expect(await downloadFile(url(), destination, { fetch })).toBe('done');
    expect(statSync(destination).size).toBe(MODEL_PT_BYTES);
  });
});

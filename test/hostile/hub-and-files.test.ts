/**
 * Hostile input to the hub client, train-head / evaluate, the CSV and SVG writers and the FLAC decoder, each run
 * through the real CLI in a child process (test/hostile/child.ts): every case ends by itself with its typed error
 * (or its bounded result) under the memory and CPU bounds, and writes nothing outside the folders it was given.
 * The hostile hub is served by this test on 127.0.0.1 and reached through HF_ENDPOINT, as a user would point the CLI
 * at a mirror.
 */
import { parse } from 'csv-parse/sync';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync, constants as zlib } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emotion2Vec } from '../../src/node.js';
import { resolveHubModel } from '../../src/hub/models.js';
import { modelCacheFolders } from '../../src/hub/node-cache.js';
import { encodeHeadFiles } from '../../src/model/trained-head.js';
import { fixturePath } from '../support/fixtures.js';
import { startLoopbackHub, type LoopbackHub } from '../support/loopback-hub.js';
import { expectWellFormedXml } from '../support/xml.js';
import { expectBounded, runCli, type Run } from './child.js';

const ID = 'someone/tiny-emotion2vec';
const KNOWN_ID = 'emotion2vec/emotion2vec_plus_base';
const HTML = '<!doctype html><html><body>Too many requests</body></html>\n';

let dir: string;
let good: string;
let goodWav: string;
let otherWav: string;
let hub: LoopbackHub;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'e2v-hostile-surfaces-'));
  good = join(dir, 'good');
  mkdirSync(good);
  for (const file of ['config.yaml', 'model.pt', 'tokens.txt'])
    copyFileSync(fixturePath('tiny', file), join(good, file));
  goodWav = join(dir, 'good.wav');
  copyFileSync(fixturePath('audio', 'chirp16k.wav'), goodWav);
  otherWav = join(dir, 'other.wav');
  copyFileSync(fixturePath('audio', 'short720.wav'), otherWav);
  hub = await startLoopbackHub(fixturePath('tiny'), [ID, KNOWN_ID]);
}, 60_000);

afterAll(async () => {
  await hub?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every file under `folder`, relative to it. */
function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter(
    (name) => !statSync(join(folder, name), { throwIfNoEntry: false })?.isDirectory(),
  );
}

/**
 * Runs `work` and checks that every file it made under the test folder lies in one of `allowed` (report files of the
 * runner aside).
 */
async function writesOnlyInto<T>(allowed: readonly string[], work: () => Promise<T>): Promise<T> {
  const before = new Set(filesUnder(dir));
  const result = await work();
  const made = filesUnder(dir).filter((name) => !before.has(name) && !name.startsWith('report-'));
  for (const name of made) {
    const path = join(dir, name);
    expect(
      allowed.some((folder) => !relative(folder, path).startsWith('..')),
      `${name} was written outside ${allowed.join(', ')}`,
    ).toBe(true);
  }
  return result;
}

function expectError(run: Run, code: string, exit: number): void {
  expectBounded(run);
  expect(run.stderr).toContain(`error ${code}:`);
  expect(run.code).toBe(exit);
}

describe('the hub client, through `emotion2vec download` against a hostile hub', () => {
  const download = (cache: string, env: Record<string, string> = {}) =>
    writesOnlyInto([cache], () =>
      runCli(dir, ['download', ID], { HF_ENDPOINT: hub.endpoint, EMOTION2VEC_CACHE: cache, ...env }),
    );

  it('headers and then nothing: MODEL_DOWNLOAD_FAILED at the stall timeout, naming HF_ENDPOINT and --hub', async () => {
    hub.override('config.yaml', (_, res) => {
      res.writeHead(200, { 'content-length': '4000' });
      res.write('# model');
    });
    try {
      const started = Date.now();
      const run = await download(join(dir, 'cache-stall'), { EMOTION2VEC_STALL_TIMEOUT: '0.5' });
      expectError(run, 'MODEL_DOWNLOAD_FAILED', 1);
      expect(run.stderr).toMatch(/no data arrived for 0.5 s/);
      expect(run.stderr).toContain('HF_ENDPOINT');
      expect(run.stderr).toContain('--hub modelscope');
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      hub.override('config.yaml', null);
    }
  }, 60_000);

  it('a slow drip: MODEL_DOWNLOAD_FAILED at the deadline', async () => {
    hub.override('config.yaml', (_, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      const timer = setInterval(() => res.write('#'), 100);
      res.on('close', () => clearInterval(timer));
    });
    try {
      const run = await download(join(dir, 'cache-drip'), { EMOTION2VEC_DOWNLOAD_DEADLINE: '2' });
      expectError(run, 'MODEL_DOWNLOAD_FAILED', 1);
      expect(run.stderr).toMatch(/did not finish within 2 s/);
    } finally {
      hub.override('config.yaml', null);
    }
  }, 60_000);

  it('config.yaml announced as 3 GiB, or gzipped to inflate to 256 MiB: FILE_TOO_LARGE, nothing kept', async () => {
    hub.override('config.yaml', (_, res) => {
      res.writeHead(200, { 'content-length': String(3 * 2 ** 30) });
      res.write('model_conf:\n');
    });
    const bomb = gzipSync(Buffer.alloc(256 * 2 ** 20, 0x23), { level: zlib.Z_BEST_COMPRESSION });
    try {
      const announced = join(dir, 'cache-3gib');
      expectError(await download(announced), 'FILE_TOO_LARGE', 1);
      expect(filesUnder(announced).filter((name) => name.includes('config.yaml'))).toEqual([]);
      hub.override('config.yaml', (_, res) => {
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
        res.end(bomb);
      });
      const gzipped = join(dir, 'cache-gzip');
      const run = await download(gzipped);
      expectError(run, 'FILE_TOO_LARGE', 1);
      expect(run.stderr).toMatch(/after any compression is undone/);
      expect(filesUnder(gzipped).filter((name) => name.includes('config.yaml'))).toEqual([]);
    } finally {
      hub.override('config.yaml', null);
    }
  }, 90_000);

  it('an HTML page as config.yaml: CONFIG_INVALID, not kept', async () => {
    hub.override('config.yaml', (_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(HTML));
    try {
      const cache = join(dir, 'cache-html');
      expectError(await download(cache), 'CONFIG_INVALID', 1);
      expect(filesUnder(cache).filter((name) => name.includes('config.yaml'))).toEqual([]);
    } finally {
      hub.override('config.yaml', null);
    }
  }, 60_000);

  it('another model under a known id: MODEL_INTEGRITY naming the mismatch, nothing kept', async () => {
    const cache = join(dir, 'cache-known');
    const run = await writesOnlyInto([cache], () =>
      runCli(dir, ['download', KNOWN_ID], { HF_ENDPOINT: hub.endpoint, EMOTION2VEC_CACHE: cache }),
    );
    expectError(run, 'MODEL_INTEGRITY', 1);
    expect(run.stderr).toMatch(/declares embed_dim 64 and depth 2, not the 768 and 8/);
    expect(filesUnder(cache).filter((name) => name.includes('raw/'))).toEqual([]);
  }, 60_000);

  it('a byte changed in the cached converted model: MODEL_INTEGRITY at load, naming the shard', async () => {
    const cache = join(dir, 'cache-changed');
    (
      await Emotion2Vec.load(ID, { backend: 'cpu', cacheDir: cache, endpoints: { huggingface: hub.endpoint } })
    ).dispose();
    const { converted } = modelCacheFolders(resolveHubModel(ID), { cacheDir: cache });
    const shard = readdirSync(converted).find((name) => name.endsWith('.bin'))!;
    const bytes = readFileSync(join(converted, shard));
    bytes[bytes.length >> 1]! ^= 0x01;
    writeFileSync(join(converted, shard), bytes);
    const run = await writesOnlyInto([], () =>
      runCli(dir, ['analyze', goodWav, '--model', ID, '--cache-dir', cache, '--offline', '--json', '--no-output']),
    );
    expectError(run, 'MODEL_INTEGRITY', 2);
    expect(run.stderr).toContain(`"${shard}"`);
  }, 90_000);
});

describe('train-head and evaluate', () => {
  /** A CSV of 2 classes x 3 recordings (copies of two fixture recordings). */
  function labelledSet(name: string, label: (i: number) => string = (i) => (i < 3 ? 'calm' : 'tense')): string {
    const folder = join(dir, name);
    mkdirSync(folder);
    const rows = Array.from({ length: 6 }, (_, i) => {
      copyFileSync(i < 3 ? goodWav : otherWav, join(folder, `${i}.wav`));
      return `${i}.wav,"${label(i).replace(/"/g, '""')}"`;
    });
    writeFileSync(join(folder, 'data.csv'), `path,label\n${rows.join('\n')}\n`);
    return join(folder, 'data.csv');
  }

  it('a label with a line break: TRAIN_DATA_INVALID before training, nothing written', async () => {
    const data = labelledSet('newline', (i) => (i < 3 ? 'calm' : 'tense\nhappy'));
    const out = join(dir, 'newline-out');
    const run = await writesOnlyInto([], () =>
      runCli(dir, ['train-head', '--data', data, '--model', good, '--out', out, '--quiet']),
    );
    expectError(run, 'TRAIN_DATA_INVALID', 2);
    expect(run.stderr).toMatch(/line break/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it("--out naming a model's folder: OUTPUT_UNSAFE_PATH, its tokens.txt untouched", async () => {
    const data = labelledSet('into-model');
    const model = join(dir, 'model-as-out');
    mkdirSync(model);
    for (const file of readdirSync(good)) copyFileSync(join(good, file), join(model, file));
    const run = await writesOnlyInto([], () =>
      runCli(dir, ['train-head', '--data', data, '--model', good, '--out', model, '--quiet', '--force']),
    );
    expectError(run, 'OUTPUT_UNSAFE_PATH', 2);
    expect(readFileSync(join(model, 'tokens.txt'))).toEqual(readFileSync(fixturePath('tiny', 'tokens.txt')));
  }, 60_000);

  it('links planted in --out are replaced, never written through; everything lands in --out', async () => {
    const data = labelledSet('planted');
    const out = join(dir, 'planted-out');
    mkdirSync(out);
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'untouched');
    for (const file of ['tokens.txt', 'head.json', 'layers.0.weight.npy']) symlinkSync(victim, join(out, file));
    const run = await writesOnlyInto([out], () =>
      runCli(dir, ['train-head', '--data', data, '--model', good, '--out', out, '--quiet', '--epochs', '5']),
    );
    expectBounded(run);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(readFileSync(join(out, 'tokens.txt'), 'utf8')).toBe('calm\ntense\n');
  }, 120_000);

  it('evaluate with a 3000-label head: bounded memory, a confusion.svg of at most 40 classes with a note', async () => {
    const labels = Array.from({ length: 3000 }, (_, c) => `class-${c}`);
    const headDir = join(dir, 'head-3000');
    mkdirSync(headDir);
    const weight = new Float32Array(3000 * 64);
    for (let i = 0; i < weight.length; i++) weight[i] = Math.sin(i) * 0.1;
    for (const [name, bytes] of encodeHeadFiles({
      inputDim: 64,
      labels,
      layers: [{ inFeatures: 64, outFeatures: 3000, weight, bias: new Float32Array(3000) }],
    }))
      writeFileSync(join(headDir, name), bytes);
    const data = labelledSet('eval-3000', (i) => `class-${i * 7}`);
    const out = join(dir, 'eval-3000-out');
    const run = await writesOnlyInto([out], () =>
      runCli(dir, ['evaluate', '--data', data, '--model', good, '--head', headDir, '--out', out]),
    );
    expectBounded(run);
    expect(run.code, run.stderr).toBe(0);
    const svg = readFileSync(join(out, 'confusion.svg'), 'utf8');
    expect(svg.length).toBeLessThan(400_000);
    expect(svg).toContain('40 of 3000 classes shown');
    expectWellFormedXml(svg);
    const report = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8'));
    expect(report.confusion).toHaveLength(3000);
    expect(run.stdout).toContain('40 of 3000 classes shown');
  }, 120_000);
});

describe('rendering labels a hostile tokens.txt holds', () => {
  it('summary.csv and timeline.csv carry no formula; timeline.svg is well-formed XML', async () => {
    const labels = [
      '=HYPERLINK("http://evil/","x")/=1+1',
      '@SUM(A1)/+cmd',
      '-2+3/-cmd',
      'esc\u001b[31m/bel\u0007',
      'nul\u0000/\u0001start',
      '\tTAB/tab',
      'fine/fine',
      '开心/happy',
      '<unk>',
    ];
    const model = join(dir, 'hostile-labels');
    mkdirSync(model);
    for (const file of ['config.yaml', 'model.pt']) copyFileSync(join(good, file), join(model, file));
    writeFileSync(join(model, 'tokens.txt'), `${labels.join('\n')}\n`);
    const out = join(dir, 'hostile-labels-out');
    const run = await writesOnlyInto([out], () =>
      runCli(dir, ['analyze', goodWav, '--model', model, '--output-dir', out, '--timeline', '--plot']),
    );
    expectBounded(run);
    expect(run.code, run.stderr).toBe(0);
    const formulaCells = (csv: string) =>
      (parse(csv, { relax_column_count: true }) as string[][])
        .flat()
        .filter((cell) => /^[=+\-@\t\r]/.test(cell) && !/^[+-]?\d+(\.\d+)?$/.test(cell));
    const summary = readFileSync(join(out, 'summary.csv'), 'utf8');
    expect(formulaCells(summary)).toEqual([]);
    const folder = readdirSync(out).find((name) => name !== 'summary.csv')!;
    expect(formulaCells(readFileSync(join(out, folder, 'timeline.csv'), 'utf8'))).toEqual([]);
    const svg = readFileSync(join(out, folder, 'timeline.svg'), 'utf8');
    expectWellFormedXml(svg);
  }, 60_000);
});

describe('FLAC as ffmpeg writes it', () => {
  it('a file ending in short silent blocks is analysed whole', async () => {
    const flac = join(dir, 'ffmpeg.flac');
    copyFileSync(fixturePath('flac-blocks', 'ffmpeg_s16_22k.flac'), flac);
    const run = await runCli(dir, ['analyze', flac, '--model', good, '--json', '--no-output']);
    expectBounded(run);
    expect(run.code, run.stderr).toBe(0);
    const record = JSON.parse(run.stdout);
    expect(record.emotion).toBeTruthy();
    expect(record.duration).toBeCloseTo(13230 / 22050, 3);
  }, 60_000);
});

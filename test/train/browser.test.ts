/**
 * A head trained in Node runs in the browser: headless Chromium loads the tiny model and the head by URL (and the
 * head from File objects, as a file picker gives them) and must give Node's scores on the same recordings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emotion2Vec, type EmotionPrediction } from '../../src/node.js';
import { trainHead, writeHead } from '../../src/train/train-head.js';
import { useBackend } from '../support/backend.js';
import { HAS_CHROMIUM, startBrowserHarness, type BrowserHarness } from '../support/browser-harness.js';
import { fixturePath, maxAbsDiff } from '../support/fixtures.js';
import type { HeadScenarios } from './head-page.js';
import { CLASSES, HAS_SOX, writeCsv, writeRecordings, type Recording } from './labelled-set.js';

const PAGE = fileURLToPath(new URL('./head-page.ts', import.meta.url));
if (!HAS_CHROMIUM || !HAS_SOX) console.warn('head browser test skipped: it needs Chromium (CHROMIUM_PATH) and sox');

describe.skipIf(!HAS_CHROMIUM || !HAS_SOX)('a trained head in Chromium (wasm)', () => {
  let dir = '';
  let harness: BrowserHarness<HeadScenarios>;
  let recordings: Recording[] = [];
  let headFiles: string[] = [];

  beforeAll(async () => {
    await useBackend('wasm');
    dir = mkdtempSync(join(tmpdir(), 'e2v-head-browser-'));
    recordings = writeRecordings(dir, 6);
    const trained = await trainHead({
      data: writeCsv(dir, 'train.csv', recordings),
      model: fixturePath('tiny'),
      backend: 'wasm',
      out: join(dir, 'head'),
      hiddenUnits: 8,
      seed: 0,
    });
    headFiles = trained.files;
    await writeHead(
      {
        inputDim: 32,
        labels: ['a', 'b'],
        layers: [{ inFeatures: 32, outFeatures: 2, weight: new Float32Array(64), bias: new Float32Array(2) }],
      },
      join(dir, 'narrow'),
    );
    harness = await startBrowserHarness<HeadScenarios>(PAGE, { '/work/': `${dir}/` });
  });

  afterAll(async () => {
    await harness?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gives Node's scores for the head loaded by URL and from File objects", async () => {
    const chosen = [recordings[0]!, recordings[7]!, recordings[14]!];
    const model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm', head: join(dir, 'head') });
    const inNode: EmotionPrediction[] = [];
    for (const recording of chosen) inNode.push(await model.predict(join(dir, recording.file)));
    model.dispose();

    const audios = chosen.map((r) => `/work/${r.file}`);
    const byUrl = await harness.run('predictWithHead', { model: '/test/fixtures/tiny/', head: '/work/head/', audios });
    const byFiles = await harness.run('predictWithHead', {
      model: '/test/fixtures/tiny/',
      head: '/work/head/',
      headFiles,
      audios,
    });
    expect(byUrl.backend).toBe('wasm');
    let worst = 0;
    chosen.forEach((_, i) => {
      expect(byUrl.predictions[i]!.labels).toEqual([...CLASSES]);
      expect(byUrl.predictions[i]!.top!.label).toBe(inNode[i]!.top!.label);
      worst = Math.max(worst, maxAbsDiff(byUrl.predictions[i]!.scores, inNode[i]!.scores));
      expect(byFiles.predictions[i]!.scores).toEqual(byUrl.predictions[i]!.scores);
    });
    console.info(`train-head browser-wasm vs Node: scores max |diff| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-5);
    expect(byUrl.tensorsLeft).toBe(0);
    expect(byFiles.tensorsLeft).toBe(0);
  });

  it('refuses a head whose width does not match the model with HEAD_DIM_MISMATCH', async () => {
    const result = await harness.run('loadMismatchedHead', { model: '/test/fixtures/tiny/', head: '/work/narrow/' });
    expect(result).toMatchObject({ ok: false, name: 'ConfigError', code: 'HEAD_DIM_MISMATCH' });
  });

  it('raised no uncaught error in the page', () => {
    expect(harness.pageErrors).toEqual([]);
  });
});

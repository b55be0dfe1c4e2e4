/**
 * Each control of the page changes what it shows (headless Chromium, the server mode on the tiny model): the example
 * button loads and runs the bundled recording, with a processing log and progress; the embedding switch adds the
 * embedding.npy download; frame granularity draws the emotion curve; a file over 30 s gets its timeline without
 * being asked, non-speech drawn without an emotion; a new run clears the old result and an error leaves none.
 * Skipped (with a note) where no Chromium is installed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav, encodeFloatWav } from '../../src/audio/wav.js';
import { decodeNpy } from '../../src/io/npy.js';
import type { EmotionPrediction } from '../../src/model/emotion2vec.js';
import type { ResultRecord } from '../../src/results/record.js';
import { CHROMIUM, HAS_CHROMIUM } from '../browser/chromium.js';
import { fixturePath } from '../support/fixtures.js';
import { loadFile, runExample, servePage, startRun, type ServedPage } from './served-page.js';

const EXAMPLE = fileURLToPath(new URL('../../src/web/assets/example.ogg', import.meta.url));
if (!HAS_CHROMIUM) console.warn(`page controls test skipped: no Chromium at ${CHROMIUM}`);

/** What the result panel shows, and which of its parts are on screen. */
async function shown(page: Page) {
  return page.evaluate(() => {
    const visible = (id: string) => !document.getElementById(id)!.hidden;
    return {
      result: visible('result-panel'),
      bars: Array.from(document.querySelectorAll<HTMLElement>('#score-bars li'), (li) => Number(li.dataset.score)),
      top: document.getElementById('top-name')!.textContent,
      confidence: document.getElementById('top-confidence')!.textContent,
      curve: visible('curve-panel'),
      curveSource: document.getElementById('curve-panel')!.dataset.source,
      timeline: visible('timeline-panel'),
      downloads: ['download-json', 'download-npy', 'download-frames', 'download-timeline'].filter(visible),
    };
  });
}

/** The processing log's steps (their tags) and texts. */
async function logged(page: Page): Promise<{ tag: string; text: string; kind: string }[]> {
  return page.$$eval('#log li', (items) =>
    items.map((li) => ({
      tag: li.querySelector('.tag')!.textContent!,
      text: li.textContent!,
      kind: (li as HTMLElement).dataset.kind!,
    })),
  );
}

/** Starts recording every state the progress line goes through (phase and text), for {@link progressSeen}. */
async function watchProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { progressSeen: string[] }).progressSeen = seen;
    const progress = document.getElementById('progress')!;
    const note = () => seen.push(`${progress.dataset.phase}|${document.getElementById('progress-text')!.textContent}`);
    new MutationObserver(note).observe(progress, { attributes: true, subtree: true, childList: true });
  });
}

async function progressSeen(page: Page): Promise<{ phase: string; text: string }[]> {
  const seen = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
  return seen.map((entry) => ({ phase: entry.split('|')[0]!, text: entry.slice(entry.indexOf('|') + 1) }));
}

/** The record of the current result, as the result.json download holds it. */
async function downloadedRecord(page: Page): Promise<ResultRecord> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-json')]);
  return JSON.parse(readFileSync((await download.path())!, 'utf8')) as ResultRecord;
}

/** How many runs of consecutive entries with `speech` equal to `speech` a timeline has. */
function runsOf(timeline: readonly { speech: boolean }[], speech: boolean): number {
  return timeline.filter((entry, i) => entry.speech === speech && (i === 0 || timeline[i - 1]!.speech !== speech))
    .length;
}

describe.skipIf(!HAS_CHROMIUM)('the page controls', () => {
  let served: ServedPage;
  let page: Page;
  let errors: string[];
  let example: EmotionPrediction;

  beforeAll(async () => {
    served = await servePage();
    ({ page, errors } = await served.open());
    example = await served.model.predict(EXAMPLE, { embedding: true });
  }, 120_000);
  afterAll(() => served?.close());

  it('"load example audio" loads the bundled recording and runs it, with the processing log and progress', async () => {
    await watchProgress(page);
    expect(await runExample(page)).toBe('done');
    expect(await page.textContent('#file-name')).toBe('example.ogg');
    expect(await page.textContent('#file-facts')).toMatch(/^\d+\.\d KB · \d+\.\d\d s$/);
    const result = await shown(page);
    expect(result.bars).toEqual(example.scores);
    expect(result.confidence).toBe(`置信度 confidence: ${(example.top!.score * 100).toFixed(1)}%`);
    expect(result).toMatchObject({ result: true, curve: false, timeline: false, downloads: ['download-json'] });
    expect((await logged(page)).map((step) => step.tag)).toEqual([
      '文件 file',
      '设置 options',
      '上传 upload',
      '服务器 server',
      '音频 audio',
      '结果 result',
    ]);
    // Measured upload, then the server's time; no estimate before this browser has timed a run of this model.
    const first = await progressSeen(page);
    expect(first[0]!.phase).toBe('upload');
    expect(first.find((step) => step.phase === 'server')!.text).toContain('no estimate yet');
    expect(first.at(-1)!.phase).toBe('done');
    expect(await page.evaluate(() => document.getElementById('progress')!.hidden)).toBe(true);

    // The same file again: now with an estimate from the first run's speed.
    await watchProgress(page);
    expect(await startRun(page)).toBe('done');
    expect((await progressSeen(page)).find((step) => step.phase === 'server')!.text).toMatch(
      /estimate from the last runs|longer than the .* estimated/,
    );
  });

  it('the embedding switch adds the embedding.npy download, and takes it away', async () => {
    await page.setChecked('#embedding-switch', true);
    expect(await startRun(page)).toBe('done');
    expect((await shown(page)).downloads).toEqual(['download-json', 'download-npy']);
    const [npy] = await Promise.all([page.waitForEvent('download'), page.click('#download-npy')]);
    expect(npy.suggestedFilename()).toBe('example.embedding.npy');
    const embedding = decodeNpy(new Uint8Array(readFileSync((await npy.path())!)));
    expect(embedding.shape).toEqual([served.model.embeddingDim]);
    expect(Array.from(embedding.data as Float32Array)).toEqual(Array.from(example.embedding!.data));

    await page.setChecked('#embedding-switch', false);
    expect(await startRun(page)).toBe('done');
    expect((await shown(page)).downloads).toEqual(['download-json']);
    expect((await downloadedRecord(page)).embedding).toBeUndefined();
  });

  it('frame granularity draws the emotion curve; utterance takes it away', async () => {
    await page.check('input[name="granularity"][value="frame"]');
    expect(await startRun(page)).toBe('done');
    const frame = await shown(page);
    expect(frame).toMatchObject({ curve: true, timeline: false });
    // This server's answers carry no per-frame scores: the curve follows the speech segments.
    expect(frame.curveSource).toBe('segments');
    expect(await page.$$eval('#curve svg path[data-label]', (paths) => paths.length)).toBe(example.labels.length);
    expect((await downloadedRecord(page)).granularity).toBe('frame');

    await page.check('input[name="granularity"][value="utterance"]');
    expect(await startRun(page)).toBe('done');
    expect(await shown(page)).toMatchObject({ curve: false, timeline: false });
  });

  it('a file over 30 s gets its timeline without being asked, non-speech drawn without an emotion', async () => {
    // Three times test/fixtures/long/phrases.wav (three phrases between pauses): 36 s.
    const phrases = decodeWav(new Uint8Array(readFileSync(fixturePath('long', 'phrases.wav')))).channels[0]!;
    const long = new Float32Array(phrases.length * 3);
    for (let i = 0; i < 3; i++) long.set(phrases, i * phrases.length);
    await loadFile(page, {
      name: 'long.wav',
      mimeType: 'audio/wav',
      buffer: Buffer.from(encodeFloatWav(long, 16_000)),
    });
    expect(await page.textContent('#file-facts')).toMatch(/ · 36\.\d\d s$/);
    expect(await startRun(page)).toBe('done');
    const options = (await logged(page)).find((step) => step.tag === '设置 options')!;
    expect(options.text).toContain('timeline on (over 30 s)');
    const result = await shown(page);
    expect(result).toMatchObject({ timeline: true, curve: false });
    expect(result.downloads).toEqual(['download-json', 'download-timeline']);

    const { timeline } = await downloadedRecord(page);
    const speechRuns = runsOf(timeline!, true);
    expect(speechRuns).toBeGreaterThanOrEqual(3);
    expect(runsOf(timeline!, false)).toBeGreaterThanOrEqual(2);
    // Each label's line is broken at every pause: one piece per run of speech, none through the silence.
    const pieces = await page.$$eval('#timeline svg path[data-label]', (paths) =>
      paths.map((path) => (path.getAttribute('d')!.match(/M/g) ?? []).length),
    );
    expect(pieces).toEqual(example.labels.map(() => speechRuns));
    expect(await page.$$eval('#timeline svg rect.no-speech', (rects) => rects.length)).toBe(runsOf(timeline!, false));
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#download-timeline')]);
    expect(csv.suggestedFilename()).toBe('long.timeline.csv');
  });

  it('a new run clears the old result while it runs, and an error leaves none', async () => {
    expect(await runExample(page)).toBe('done');
    // The result panel hides as the run starts and shows the new result at its end.
    await page.evaluate(() => {
      const panel = document.getElementById('result-panel')!;
      const seen: boolean[] = [];
      (window as unknown as { panelSeen: boolean[] }).panelSeen = seen;
      new MutationObserver(() => seen.push(panel.hidden)).observe(panel, { attributes: true });
    });
    expect(await startRun(page)).toBe('done');
    const panelSeen = await page.evaluate(() => (window as unknown as { panelSeen: boolean[] }).panelSeen);
    expect(panelSeen[0]).toBe(true);
    expect(panelSeen.at(-1)).toBe(false);

    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
    await loadFile(page, { name: 'notes.png', mimeType: 'image/png', buffer: png });
    expect((await shown(page)).result).toBe(false); // a new file takes the old result away
    expect(await startRun(page)).toBe('error');
    expect(await page.textContent('#status')).toMatch(/^AUDIO_UNSUPPORTED_FORMAT: /);
    expect(await shown(page)).toMatchObject({ result: false, bars: [], top: '', confidence: '' });
    expect((await logged(page)).at(-1)).toMatchObject({ tag: '错误 error', kind: 'error' });
    expect(errors).toEqual([]);
  });
});

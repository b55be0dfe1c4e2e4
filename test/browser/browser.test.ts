/**
 * The library in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core) loads
 * the browser entry point bundled by esbuild from a server on 127.0.0.1, parses the tiny model.pt in the
 * page, decodes audio with the same decoders as Node and runs the model on the wasm backend (and on WebGL,
 * which headless Chromium renders in software). Results are checked here against the upstream fixtures and
 * against Node's own decoding of the same files.
 *
 * Set CHROMIUM_PATH to use another Chromium; the suite is skipped (with a note) where none is installed.
 */
import '../../src/node.js';
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../../src/audio/decode.js';
import { alignedCorrelation } from '../support/audio.js';
import { loadNpy, manifestInputs } from '../support/fixtures.js';
import { CHROMIUM, HAS_CHROMIUM, launchChromium, openPage as openTab, runScenario, serveFolders } from './chromium.js';
import type { Scenarios } from './page.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
if (!HAS_CHROMIUM)
  console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

let bundleDir = '';
let server: Server;
let origin = '';
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
/** Paths the pages asked the test's model hub (/hub/<repo>/resolve/main/<file>) for. */
const hubRequests: string[] = [];

/**
 * A new tab with page.ts loaded and ready (in a new browser context unless told); its uncaught errors are collected in
 * `pageErrors`.
 */
function openPage(context?: BrowserContext): Promise<Page> {
  return openTab(context ?? browser, `${origin}/bundle/page.html`, pageErrors);
}

/** Runs one scenario of page.ts inside `target`. */
async function runIn<K extends keyof Scenarios>(
  target: Page,
  name: K,
  ...args: Parameters<Scenarios[K]>
): Promise<Awaited<ReturnType<Scenarios[K]>>> {
  return runScenario<Awaited<ReturnType<Scenarios[K]>>>(target, name, args);
}

/** Runs one scenario of page.ts in the shared page. */
function run<K extends keyof Scenarios>(
  name: K,
  ...args: Parameters<Scenarios[K]>
): Promise<Awaited<ReturnType<Scenarios[K]>>> {
  return runIn(page, name, ...args);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe.skipIf(!HAS_CHROMIUM)('in Chromium (browser entry point, wasm and WebGL backends)', () => {
  beforeAll(async () => {
    bundleDir = mkdtempSync(join(tmpdir(), 'e2v-browser-'));
    await build({
      entryPoints: [join(REPO, 'test/browser/page.ts')],
      bundle: true,
      format: 'esm',
      splitting: true, // each codec (and the WebGL backend) is loaded with import(): one chunk each
      platform: 'browser',
      target: 'es2022',
      outdir: bundleDir,
      logLevel: 'error',
    });
    writeFileSync(
      join(bundleDir, 'page.html'),
      '<!doctype html><meta charset="utf-8"><script type="module" src="/bundle/page.js"></script>',
    );
    ({ server, origin } = await serveFolders({ '/bundle/': bundleDir, '': REPO }, (req, res) => {
      if (!req.url?.startsWith('/hub/')) return false;
      hubRequests.push(req.url);
      const hubFile = /^\/hub\/someone\/tiny-emotion2vec\/resolve\/main\/(config\.yaml|model\.pt|tokens\.txt)$/.exec(
        req.url,
      );
      if (!hubFile) res.writeHead(404).end();
      else
        res
          .writeHead(200, { 'content-type': 'application/octet-stream' })
          .end(readFileSync(join(REPO, 'test/fixtures/tiny', hubFile[1]!)));
      return true;
    }));
    browser = await launchChromium();
    page = await openPage();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  it('loads a model by id from a hub into the Cache API; a second page loads it with no request for weights', async () => {
    const args = {
      // The tiny model under an id known-models.json does not list: a known id must have its published shape.
      id: 'someone/tiny-emotion2vec',
      endpoint: '/hub',
      audio: '/test/fixtures/audio/chirp16k.wav',
    };
    const context = await browser.newContext();
    const first = await runIn(await openPage(context), 'loadById', args);
    expect(hubRequests.sort()).toEqual(
      ['config.yaml', 'model.pt', 'tokens.txt'].map((file) => `/hub/${args.id}/resolve/main/${file}`),
    );
    expect(first.events).toEqual(['download config.yaml', 'download model.pt', 'download tokens.txt', 'ready']);
    expect(first.cachedUrls.sort()).toEqual([...hubRequests]);
    const expected = manifestInputs('tiny').find((input) => input.id === 'chirp16k')!;
    expect(maxAbsDiff(first.scores, expected.scores)).toBeLessThanOrEqual(1e-4);

    hubRequests.length = 0;
    const second = await runIn(await openPage(context), 'loadById', args);
    await context.close();
    expect(hubRequests).toEqual([]);
    expect(second.events).toEqual(['cached config.yaml', 'cached model.pt', 'cached tokens.txt', 'ready']);
    expect(second.scores).toEqual(first.scores);
  });

  it('installs the browser platform (no file paths, decodeAudioData as the fallback)', async () => {
    expect(await run('platform')).toBe('browser');
  });

  it('reads tiny/model.pt by URL and matches upstream on the 44.1 kHz stereo input, from bytes and from a Blob', async () => {
    const result = await run('predictFromUrl', {
      model: '/test/fixtures/tiny/',
      audio: '/test/fixtures/audio/speech44k_stereo.wav',
    });
    const expected = manifestInputs('tiny').find((input) => input.id === 'speech44k_stereo')!;
    const frames = loadNpy('tiny', 'speech44k_stereo.frames');
    const utterance = loadNpy('tiny', 'speech44k_stereo.utterance');

    expect(result.backend).toBe('wasm');
    expect(result.frameLevel.labels).toEqual(expected.labels);
    expect(result.frameLevel.top?.label).toBe(expected.top);
    expect(result.frameLevel.embeddingShape).toEqual(frames.shape);
    const framesDiff = maxAbsDiff(result.frameLevel.embedding!, frames.data as Float32Array);
    const scoresDiff = maxAbsDiff(result.frameLevel.scores, expected.scores);
    console.info(
      `parity tiny browser-wasm speech44k_stereo: frames max |diff| ${framesDiff.toExponential(2)}, scores max |diff| ${scoresDiff.toExponential(2)}`,
    );
    expect(framesDiff).toBeLessThanOrEqual(1e-4);
    expect(scoresDiff).toBeLessThanOrEqual(1e-4);

    expect(result.utterance.embeddingShape).toEqual(utterance.shape);
    expect(maxAbsDiff(result.utterance.embedding!, utterance.data as Float32Array)).toBeLessThanOrEqual(1e-4);
    expect(result.utterance.scores).toEqual(result.frameLevel.scores);

    expect(result.tensorsLeakedByPredict).toBe(0);
    expect(result.tensorsLeftAfterDispose).toBe(0);
  });

  it('runs on WebGL (software WebGL2 in headless Chromium): auto picks it without the page importing it, within the tiny bars, padded batch = single, no leaks', async () => {
    // A page of its own, so that registering the webgl backend cannot change what the other scenarios run on.
    const webglPage = await openPage();
    try {
      const ids = ['speech44k_stereo', 'chirp16k'];
      const args = { model: '/test/fixtures/tiny/', audios: ids.map((id) => `/test/fixtures/audio/${id}.wav`) };
      const result = await runIn(webglPage, 'predictOnWebgl', args);

      expect(result.backend).toBe('webgl');
      expect(result.floatPrecision).toBe(32);
      ids.forEach((id, i) => {
        const expected = manifestInputs('tiny').find((input) => input.id === id)!;
        const single = result.singles[i]!;
        expect(single.top?.label).toBe(expected.top);
        const framesDiff = maxAbsDiff(single.embedding!, loadNpy('tiny', `${id}.frames`).data as Float32Array);
        const scoresDiff = maxAbsDiff(single.scores, expected.scores);
        console.info(
          `parity tiny browser-webgl ${id}: frames max |diff| ${framesDiff.toExponential(2)}, scores max |diff| ${scoresDiff.toExponential(2)}`,
        );
        expect(framesDiff).toBeLessThanOrEqual(1e-4);
        expect(scoresDiff).toBeLessThanOrEqual(1e-4);
        // The padded batch item (the two inputs differ in length) equals the single result.
        const item = result.batch[i]!;
        expect('embedding' in item && item.embeddingShape).toEqual(single.embeddingShape);
        if ('embedding' in item) expect(maxAbsDiff(item.embedding!, single.embedding!)).toBeLessThanOrEqual(1e-5);
      });
      expect(result.tensorsLeakedByPredict).toBe(0);
      expect(result.tensorsLeftAfterDispose).toBe(0);
    } finally {
      await webglPage.close();
    }
  });

  it('loads a model from File objects (a file picker) and gives the same scores as by URL', async () => {
    const viaUrl = await run('predictFromUrl', {
      model: '/test/fixtures/tiny/',
      audio: '/test/fixtures/audio/speech16k.wav',
    });
    const viaFiles = await run('predictFromFiles', {
      folder: '/test/fixtures/tiny/',
      names: ['config.yaml', 'model.pt', 'tokens.txt'],
      audio: '/test/fixtures/audio/speech16k.wav',
    });
    expect(viaFiles.scores).toEqual(viaUrl.utterance.scores);
    const upstream = manifestInputs('tiny').find((input) => input.id === 'speech16k')!;
    expect(viaFiles.top?.label).toBe(upstream.top);
    expect(maxAbsDiff(viaFiles.scores, upstream.scores)).toBeLessThanOrEqual(1e-4);
  });

  describe('decodes every bundled format exactly as Node does', () => {
    const files = [
      'pcm_s16_stereo_48k.wav',
      'mulaw_8k.wav',
      'flac24_8k.flac',
      'mp3_44k_stereo.mp3',
      'vorbis_16k.ogg',
      'opus_44k_stereo.ogg',
      'opus_16k.webm',
      'aac_16k.m4a',
    ];
    for (const file of files) {
      it(file, async () => {
        const bytes = new Uint8Array(readFileSync(join(REPO, 'test/fixtures/formats', file)));
        const inNode = await decodeAudio(bytes, { fileName: file });
        const inBrowser = await run('decode', { url: `/test/fixtures/formats/${file}`, fileName: file });
        expect(inBrowser.ok).toBe(true);
        if (!inBrowser.ok) return;
        expect(inBrowser).toMatchObject({
          sampleRate: inNode.sampleRate,
          format: inNode.format,
          decoder: inNode.decoder,
        });
        expect(inBrowser.channels.length).toBe(inNode.channels.length);
        // Same code and the same WebAssembly decoders on both sides: identical samples.
        inBrowser.channels.forEach((channel, c) => expect(maxAbsDiff(channel, inNode.channels[c]!)).toBe(0));
      });
    }
  });

  it("hands what no bundled decoder reads to the browser's decodeAudioData, at the file's own rate (MP3 in WAV)", async () => {
    const decoded = await run('decode', {
      url: '/test/fixtures/formats/mp3_in_wav_16k.wav',
      fileName: 'mp3_in_wav_16k.wav',
    });
    expect(decoded).toMatchObject({ ok: true, sampleRate: 16000, format: 'wav', decoder: 'fallback' });
    if (!decoded.ok) return;
    const source = (await decodeAudio(new Uint8Array(readFileSync(join(REPO, 'test/fixtures/audio/speech16k.wav')))))
      .channels[0]!;
    const { correlation } = alignedCorrelation(
      Float32Array.from(decoded.channels[0]!),
      source.subarray(0, 16000),
      2048,
    );
    expect(correlation).toBeGreaterThan(0.9);
  });

  it('refuses what the browser cannot decode with a typed error naming the decoders tried (Sun .au)', async () => {
    const decoded = await run('decode', {
      url: '/test/fixtures/formats/pcm_s16be_16k.au',
      fileName: 'pcm_s16be_16k.au',
    });
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.error.name).toBe('AudioInputError');
    expect(decoded.error.code).toBe('AUDIO_DECODE');
    expect(decoded.error.message).toMatch(/no bundled decoder reads this format; the browser's decodeAudioData failed/);
    expect(decoded.error.message).toMatch(/convert/i);
  });

  it('gives typed errors for a file path, a PNG and NaN samples', async () => {
    const path = await run('predictError', { model: '/test/fixtures/tiny/', input: 'path' });
    expect(path).toMatchObject({
      ok: false,
      error: { code: 'AUDIO_INVALID_TYPE', message: expect.stringMatching(/browser platform cannot read files/) },
    });
    const png = await run('predictError', { model: '/test/fixtures/tiny/', input: 'png' });
    expect(png).toMatchObject({
      ok: false,
      error: { code: 'AUDIO_UNSUPPORTED_FORMAT', message: expect.stringMatching(/PNG image/) },
    });
    const nan = await run('predictError', { model: '/test/fixtures/tiny/', input: 'nan' });
    expect(nan).toMatchObject({ ok: false, error: { name: 'AudioInputError', message: expect.stringMatching(/NaN/) } });
  });

  it('explains a wasm backend that the page started without its .wasm files, instead of a tfjs stack trace', async () => {
    const fresh = await openPage();
    try {
      const result = await runIn(fresh, 'loadAfterPageStartedWasm', { model: '/test/fixtures/tiny/' });
      expect(result).toMatchObject({
        started: false,
        ok: false,
        error: { name: 'BackendError', code: 'BACKEND_UNAVAILABLE' },
      });
      if (!result.ok) expect(result.error.message).toMatch(/pass `wasmPaths`/);
    } finally {
      await fresh.close();
    }
  });

  it('raised no uncaught error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});

/**
 * The package as users get it: `npm run build`, `npm pack`, then the tarball installed (one `npm install`) into
 * a fresh project outside the repository, used from every kind of consumer:
 *
 * - a fresh process that imports the package and loads a model on wasm: the import changes no global and no
 *   tfjs kernel, the load only what docs/performance.md says (test/support/process-changes.child.mjs);
 * - ESM (.mjs) and CommonJS (.cjs) Node scripts, and TypeScript under `strict` with `module: node16` (a .cts
 *   and a .mts file, compiled by tsc and run) and with `moduleResolution: bundler` (type-checked, with the
 *   docs/examples files): each predicts WAV, MP3, FLAC, Ogg Vorbis/Opus, WebM, M4A and mu-law WAV on
 *   test/fixtures/tiny with ffmpeg off the PATH, and
 *   must give exactly the numbers the sources give here;
 * - `attw` (are the types wrong) on the tarball: no problems;
 * - the browser entry bundled by stock esbuild (no config, no externals) into a page that predicts on WebGL
 *   (loaded by the package itself), on wasm, and in a Web Worker (a worker module bundled the same way) in
 *   headless Chromium (skipped, with a note, without Chromium).
 *
 * Needs the npm registry or a warm npm cache for the tarball's dependencies (CI has both).
 */
import '../../src/node.js';
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emotion2Vec } from '../../src/node.js';
import { CHROMIUM, HAS_CHROMIUM, launchChromium, openPage, runScenario, serveFolders } from '../browser/chromium.js';
import { AFTER_THREADED_WASM_LOAD, UNCHANGED, type ProcessChanges } from '../support/process-changes.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TINY = join(REPO, 'test/fixtures/tiny');
// One file per bundled decoder: each is a dynamic import() that CommonJS builds once got wrong.
const AUDIO = [
  'audio/speech16k.wav',
  'formats/mp3_44k_stereo.mp3',
  'formats/flac24_8k.flac',
  'formats/vorbis_16k.ogg',
  'formats/opus_16k.opus',
  'formats/opus_16k.webm',
  'formats/aac_16k.m4a',
  'formats/mulaw_8k.wav',
].map((file) => join(REPO, 'test/fixtures', file));
const BIN = join(REPO, 'node_modules/.bin');

interface Prediction {
  readonly file: string;
  readonly scores: number[];
  readonly top: string | null;
  readonly durationSeconds: number;
}

/** Runs a command; rejects with its output when it fails. */
function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? process.env, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(`${command} ${args.join(' ')} failed (${error.code}):\n${stdout}\n${stderr}`.slice(0, 8000)),
          );
        else resolve(stdout);
      },
    );
  });
}

/** The prediction script every Node consumer runs, in the module syntax of each. */
function predictionBody(): string {
  return `
  const model = await Emotion2Vec.load(${JSON.stringify(TINY)}, { backend: 'wasm' });
  const results = [];
  for (const file of ${JSON.stringify(AUDIO)}) {
    const result = await model.predict(file);
    results.push({ file, scores: result.scores, top: result.top ? result.top.label : null, durationSeconds: result.durationSeconds });
  }
  model.dispose();
  console.log(JSON.stringify(results));`;
}

/** The same script in strict TypeScript: `top` may be null, nothing is `any`. */
function typedPredictionBody(): string {
  return `
  const model: Emotion2Vec = await Emotion2Vec.load(${JSON.stringify(TINY)}, { backend: 'wasm' });
  const results: { file: string; scores: number[]; top: string | null; durationSeconds: number }[] = [];
  for (const file of ${JSON.stringify(AUDIO)}) {
    const result: EmotionPrediction = await model.predict(file);
    results.push({ file, scores: result.scores, top: result.top?.label ?? null, durationSeconds: result.durationSeconds });
  }
  model.dispose();
  console.log(JSON.stringify(results));`;
}

const CONSUMER_FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'emotion2vec-consumer', private: true, version: '0.0.0' }),
  'esm.mjs': `import { Emotion2Vec } from 'emotion2vec-tfjs';\n${predictionBody()}\n`,
  'cjs.cjs': `const { Emotion2Vec } = require('emotion2vec-tfjs');\n(async () => {${predictionBody()}\n})().catch((error) => { console.error(error); process.exit(1); });\n`,
  'ts/cjs.cts': `import { Emotion2Vec, type EmotionPrediction } from 'emotion2vec-tfjs';\nasync function main(): Promise<void> {${typedPredictionBody()}\n}\nvoid main();\n`,
  'ts/esm.mts': `import { Emotion2Vec, type EmotionPrediction } from 'emotion2vec-tfjs';\n${typedPredictionBody()}\nexport {};\n`,
  // No @types/node installed: the package's types need none (console comes from the DOM lib); tfjs-core's own
  // @types/* dependencies are picked up automatically, as in any project.
  'tsconfig.node16.json': JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'node16',
      moduleResolution: 'node16',
      lib: ['ES2022', 'DOM'],
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: false,
      outDir: 'out',
    },
    files: ['ts/cjs.cts', 'ts/esm.mts'],
  }),
  'tsconfig.bundler.json': JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'ESNext',
      moduleResolution: 'bundler',
      lib: ['ES2022', 'DOM'],
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: false,
      noEmit: true,
    },
    include: ['examples/*.ts', 'ts/esm.mts'],
  }),
  // The page for the browser: the package's browser entry, chosen by esbuild through the `browser` condition.
  'page.mjs': `import { Emotion2Vec, Emotion2VecWorker } from 'emotion2vec-tfjs';
globalThis.consumer = {
  async predictInWorker(modelUrl, audioUrl) {
    const worker = new Worker('/worker/worker.js', { type: 'module' });
    const model = await Emotion2VecWorker.load(worker, new URL(modelUrl, location.href).href, { backend: 'wasm', wasmPaths: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/' });
    const audio = new Uint8Array(await (await fetch(audioUrl)).arrayBuffer());
    const result = await model.predict(audio);
    model.dispose();
    return { backend: model.backend, scores: result.scores, top: result.top ? result.top.label : null };
  },
  async predict(backend, modelUrl, audioUrl) {
    const model = await Emotion2Vec.load(new URL(modelUrl, location.href).href, { backend, wasmPaths: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/' });
    const audio = new Uint8Array(await (await fetch(audioUrl)).arrayBuffer());
    const result = await model.predict(audio);
    model.dispose();
    return { backend: model.backend, scores: result.scores, top: result.top ? result.top.label : null };
  },
};
`,
  // The app's worker module: esbuild does not follow new Worker(new URL(...)), so it is a second bundle.
  'worker.mjs': `import { serveModelInWorker } from 'emotion2vec-tfjs';\nserveModelInWorker();\n`,
  'page.html': '<!doctype html><meta charset="utf-8"><script src="/app/page.js"></script>',
};

describe('the packed package in fresh projects', () => {
  let project = '';
  let tarball = '';
  let noFfmpegEnv: NodeJS.ProcessEnv = {};
  let fromSources: Prediction[] = [];

  beforeAll(async () => {
    project = mkdtempSync(join(tmpdir(), 'e2v-consumer-'));
    await run('npm', ['run', 'build'], { cwd: REPO });
    const packed = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: REPO })) as {
      filename: string;
    }[];
    tarball = join(project, packed[0]!.filename);
    for (const [name, text] of Object.entries(CONSUMER_FILES)) {
      mkdirSync(join(project, name, '..'), { recursive: true });
      writeFileSync(join(project, name), text);
    }
    copyFileSync(join(REPO, 'test/support/process-changes.child.mjs'), join(project, 'process-changes.mjs'));
    mkdirSync(join(project, 'examples'));
    for (const name of readdirSync(join(REPO, 'docs/examples')).filter((file) => file.endsWith('.ts')))
      copyFileSync(join(REPO, 'docs/examples', name), join(project, 'examples', name));
    await run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: project,
    });
    // A PATH with node and nothing else: no ffmpeg, so every format must decode with the bundled decoders.
    const bin = join(project, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    noFfmpegEnv = { ...process.env, PATH: bin };

    const model = await Emotion2Vec.load(TINY, { backend: 'wasm' });
    for (const file of AUDIO) {
      const result = await model.predict(file);
      fromSources.push({
        file,
        scores: result.scores,
        top: result.top?.label ?? null,
        durationSeconds: result.durationSeconds,
      });
    }
    model.dispose();
  });

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  const predictions = async (script: string): Promise<Prediction[]> =>
    JSON.parse(await run(process.execPath, [script], { cwd: project, env: noFfmpegEnv })) as Prediction[];

  it('the tarball holds the built entry points, types for both module systems, the LICENSE and no sources or tests', () => {
    const installed = join(project, 'node_modules/emotion2vec-tfjs');
    for (const file of [
      'LICENSE',
      'README.md',
      'dist/node.js',
      'dist/node.cjs',
      'dist/node.d.ts',
      'dist/node.d.cts',
      'dist/browser.js',
      'dist/browser.d.cts',
      'dist/cli.js',
    ]) {
      expect(statSync(join(installed, file)).isFile(), file).toBe(true);
    }
    expect(readdirSync(installed).sort()).toEqual(['LICENSE', 'README.md', 'dist', 'package.json', 'weights']);
  });

  it("ESM (.mjs), ffmpeg off the PATH: every bundled format gives exactly the sources' numbers", async () => {
    const esm = await predictions('esm.mjs');
    expect(esm).toEqual(fromSources);
    // The MP3 is exactly 1 s here (ffmpeg's decoder, the old CommonJS fallback, made it 1.020 s).
    expect(esm.find((p) => p.file.endsWith('.mp3'))!.durationSeconds).toBe(1);
  });

  it('importing the built package changes nothing in the process; a wasm load only what docs/performance.md says', async () => {
    const output = await run(process.execPath, ['process-changes.mjs', 'emotion2vec-tfjs', TINY, AUDIO[0]!], {
      cwd: project,
      env: { ...noFfmpegEnv, EMOTION2VEC_WASM_THREADS: '' },
    });
    const seen = JSON.parse(output.trim().split('\n').pop()!) as ProcessChanges;
    expect(seen.import).toEqual(UNCHANGED);
    expect(seen.load).toEqual(AFTER_THREADED_WASM_LOAD);
  });

  it('CommonJS (.cjs), ffmpeg off the PATH: the same numbers as ESM', async () => {
    expect(await predictions('cjs.cjs')).toEqual(fromSources);
  });

  it('TypeScript strict, module node16: a .cts and a .mts file compile (skipLibCheck off, no @types/node) and give the same numbers', async () => {
    await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.node16.json'], {
      cwd: project,
    });
    expect(await predictions('out/cjs.cjs')).toEqual(fromSources);
    expect(await predictions('out/esm.mjs')).toEqual(fromSources);
  });

  it('TypeScript strict, moduleResolution bundler: the docs/examples files and the ESM script type-check', async () => {
    await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.bundler.json'], {
      cwd: project,
    });
  });

  it('are the types wrong (attw) finds no problem in the tarball', async () => {
    const output = await run(join(BIN, 'attw'), [tarball, '--format', 'ascii'], { cwd: project });
    expect(output).toContain('No problems found');
  });

  describe.skipIf(!HAS_CHROMIUM)('the browser entry, bundled by stock esbuild, in headless Chromium', () => {
    let browser: Browser;
    let server: Server;
    let origin = '';
    const pageErrors: string[] = [];

    beforeAll(async () => {
      // Stock esbuild: no config file, no externals, no plugins; the `browser` condition picks dist/browser.js.
      await run(join(BIN, 'esbuild'), ['page.mjs', '--bundle', '--outfile=app/page.js', '--log-level=error'], {
        cwd: project,
      });
      await run(join(BIN, 'esbuild'), ['worker.mjs', '--bundle', '--outfile=worker/worker.js', '--log-level=error'], {
        cwd: project,
      });
      ({ server, origin } = await serveFolders({
        '/app/': join(project, 'app'),
        '/worker/': join(project, 'worker'),
        '/fixtures/': join(REPO, 'test/fixtures'),
        '': project,
      }));
      writeFileSync(join(project, 'app/page.html'), CONSUMER_FILES['page.html']!);
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    });

    it('the bundle is self-contained: one file, no codec or backend left to resolve', () => {
      expect(readdirSync(join(project, 'app')).sort()).toEqual(['page.html', 'page.js']);
      const megabytes = statSync(join(project, 'app/page.js')).size / 2 ** 20;
      console.info(`consumer browser bundle (stock esbuild, unminified): ${megabytes.toFixed(2)} MiB`);
    });

    for (const backend of ['auto', 'wasm'] as const) {
      it(`predicts on ${backend === 'auto' ? 'WebGL, which auto loads without the page importing it' : 'wasm'}, matching Node`, async () => {
        const page = await openPage(browser, `${origin}/app/page.html`, pageErrors, 'consumer');
        try {
          const result = await runScenario<{ backend: string; scores: number[]; top: string | null }>(
            page,
            'predict',
            [backend, '/fixtures/tiny/', '/fixtures/audio/speech16k.wav'],
            'consumer',
          );
          expect(result.backend).toBe(backend === 'auto' ? 'webgl' : 'wasm');
          expect(result.top).toBe(fromSources[0]!.top);
          const diff = Math.max(...result.scores.map((score, i) => Math.abs(score - fromSources[0]!.scores[i]!)));
          expect(diff).toBeLessThanOrEqual(backend === 'wasm' ? 1e-6 : 1e-4);
        } finally {
          await page.close();
        }
        expect(pageErrors).toEqual([]);
      }, 360_000); // software WebGL2 on a busy 2-core machine is slow
    }

    it('predicts in a Web Worker (the worker module a second stock esbuild bundle), matching Node', async () => {
      const page = await openPage(browser, `${origin}/app/page.html`, pageErrors, 'consumer');
      try {
        const result = await runScenario<{ backend: string; scores: number[]; top: string | null }>(
          page,
          'predictInWorker',
          ['/fixtures/tiny/', '/fixtures/audio/speech16k.wav'],
          'consumer',
        );
        expect(result.backend).toBe('wasm');
        expect(result.top).toBe(fromSources[0]!.top);
        const diff = Math.max(...result.scores.map((score, i) => Math.abs(score - fromSources[0]!.scores[i]!)));
        expect(diff).toBeLessThanOrEqual(1e-6);
      } finally {
        await page.close();
      }
      expect(pageErrors).toEqual([]);
    }, 360_000);
  });
});

if (!HAS_CHROMIUM)
  console.warn(
    `consumer browser checks skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );

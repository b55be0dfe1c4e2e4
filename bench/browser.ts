/**
 * `npm run bench:browser`: the model in headless Chromium, in a module worker (`Emotion2VecWorker`), per backend:
 *
 * - files: load time with the files in the Cache API (a second visit), the first predict (shaders compiled, weights
 *   uploaded), latency per audio length and the real-time factor;
 * - live: test/fixtures/long/phrases.wav pushed into `model.stream()` in real time; for each speech segment, the
 *   time from the push of its last sample to its result (it includes the segmenter's 0.3 s hangover).
 *
 * Every model is served and cached as a real page gets it: a converted folder (model.json and its shards of at most
 * 4 MiB, each its own Cache API entry), tiny converted from its fixture checkpoint on each run, base (or large)
 * the synthetic model converted once into .bench-cache/threads/<name> (bench/converted-cache.ts).
 *
 * The page is cross-origin isolated (COOP/COEP), so wasm runs tfjs' threaded build. Without a GPU (the default,
 * --disable-gpu) Chromium runs WebGL and WebGPU in software (SwiftShader): the table names the renderer it got.
 * There base takes minutes per row on webgl and webgpu: --skip lists model/backend pairs to leave out, and the
 * tables say so in their rows.
 *
 *   npm run bench:browser                                             # tiny and base; wasm, webgl, webgpu
 *   npm run bench:browser -- --models tiny --backends webgpu --durations 5 --runs 1
 *   npm run bench:browser -- --skip base/webgl,base/webgpu            # without a GPU: base on wasm only
 *   npm run bench:browser -- --gpu                                    # a machine with a GPU: drop --disable-gpu
 *   npm run bench:browser -- --gpu --chromium-args="--use-angle=vulkan"
 *   npm run bench:browser -- --write bench/RESULTS.md                 # also append the markdown tables there
 *
 * CHROMIUM_PATH picks another Chromium (default /usr/bin/chromium).
 */
import { build } from 'esbuild';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CONVERTED_MANIFEST, type ConvertedManifest } from '../src/model/converted.js';
import {
  CHROMIUM,
  CHROMIUM_FLAGS,
  HAS_CHROMIUM,
  WEBGPU_FLAGS,
  startBrowserHarness,
  type BrowserHarness,
} from '../test/support/browser-harness.js';
import { fixturePath, randomArray } from '../test/support/fixtures.js';
import type { BrowserBenchScenarios, Live, Loaded } from './browser-page.js';
import { convertedModel } from './converted-cache.js';
import { convertFolder } from './models.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'tiny,base' },
    backends: { type: 'string', default: 'wasm,webgl,webgpu' },
    durations: { type: 'string', default: '1,5,10' },
    runs: { type: 'string', default: '3' },
    live: { type: 'boolean', default: true },
    gpu: { type: 'boolean', default: false },
    'chromium-args': { type: 'string', default: '' },
    skip: { type: 'string', default: '' },
    write: { type: 'string' },
  },
  allowNegative: true,
});

const SAMPLE_RATE = 16000;
const HERE = fileURLToPath(new URL('./', import.meta.url));
const durations = args.durations.split(',').map(Number);
const runs = Number(args.runs);
const models = args.models.split(',');
const backends = args.backends.split(',');

/** `--skip base/webgl,base/webgpu` as a set of `model/backend`; a pair this run would not measure is a typo. */
function parseSkips(list: string): Set<string> {
  const pairs = list.split(',').filter(Boolean);
  for (const pair of pairs) {
    const [model, backend, rest] = pair.split('/');
    if (rest !== undefined || !models.includes(model!) || !backends.includes(backend!))
      throw new Error(
        `--skip ${pair}: name model/backend pairs of this run (--models ${args.models}, --backends ${args.backends})`,
      );
  }
  return new Set(pairs);
}

/** The tests' flags and WebGPU's, less --disable-gpu with --gpu, plus --chromium-args. */
function chromiumFlags(): string[] {
  const base = CHROMIUM_FLAGS.filter((flag) => !(args.gpu && flag === '--disable-gpu'));
  return [...base, ...WEBGPU_FLAGS, ...args['chromium-args'].split(/\s+/).filter(Boolean)];
}

interface Row extends Loaded {
  kind: 'measured';
  model: string;
  requested: string;
  firstPredictMs: number;
  /** Median of `runs` after one warm-up, by audio length in seconds. */
  latencyMs: Record<string, number>;
  live: Live | null;
  uptime: string;
}

/** A model/backend pair without numbers: skipped with --skip, or failed; the tables say which. */
interface NoteRow {
  kind: 'note';
  model: string;
  backend: string;
  note: string;
}

/** A converted model as the page fetches it: its URL folder, its local folder, model.json and its shards. */
interface ServedModel {
  name: string;
  folder: string;
  dir: string;
  files: string[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** One model on one backend through the page's steps, reporting each on stderr as it lands. */
async function benchOne(
  harness: BrowserHarness<BrowserBenchScenarios>,
  model: ServedModel,
  backend: string,
  audios: { seconds: number; samples: number[] }[],
): Promise<Row> {
  const uptime = loadavg()[0]!.toFixed(2);
  const say = (text: string) => process.stderr.write(`  ${model.name} on ${backend}: ${text}\n`);
  say(`load average ${uptime}, loading from the Cache API...`);
  const loaded = await harness.run('load', { folder: model.folder, files: model.files, backend });
  say(`loaded in ${loaded.loadMs.toFixed(0)} ms (cache read ${loaded.readMs.toFixed(0)} ms) on ${loaded.backend}`);
  try {
    const [firstPredictMs] = await harness.run('time', { samples: audios[0]!.samples, warmUps: 0, runs: 1 });
    say(`first predict (${audios[0]!.seconds} s) ${firstPredictMs!.toFixed(0)} ms`);
    const latencyMs: Record<string, number> = {};
    for (const { seconds, samples } of audios) {
      const times = await harness.run('time', { samples, warmUps: 1, runs });
      latencyMs[String(seconds)] = median(times);
      say(`${seconds} s audio: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
    }
    let live: Live | null = null;
    if (args.live) {
      live = await harness.run('live', { audio: '/test/fixtures/long/phrases.wav' });
      say(
        `live: ${live.segments.map((s) => `${s.start.toFixed(2)}-${s.end.toFixed(2)} s +${s.latencyMs.toFixed(0)} ms`).join(', ')}`,
      );
    }
    return {
      kind: 'measured',
      model: model.name,
      requested: backend,
      ...loaded,
      firstPredictMs: firstPredictMs!,
      latencyMs,
      live,
      uptime,
    };
  } finally {
    await harness.run('finish');
  }
}

/** A note row: the note in the first column after the backend, a dash in the others. */
function noteCells(row: NoteRow, columns: number): string[] {
  return [row.model, row.backend, row.note, ...Array<string>(columns - 3).fill('–')];
}

function markdown(header: string[], lines: string[][]): string {
  return [header, header.map((_, i) => (i < 2 ? '---' : '---:')), ...lines]
    .map((cells) => `| ${cells.join(' | ')} |`)
    .join('\n');
}

function filesTable(rows: (Row | NoteRow)[]): string {
  const longest = durations[durations.length - 1]!;
  const header = [
    'model',
    'backend',
    'load from the Cache API (ms)',
    'first predict (ms)',
    ...durations.map((d) => `${d} s audio (ms)`),
    `real-time factor (${longest} s)`,
    'load average (1 min)',
  ];
  return markdown(
    header,
    rows.map((r) =>
      r.kind === 'note'
        ? noteCells(r, header.length)
        : [
            r.model,
            r.backend,
            r.loadMs.toFixed(0),
            r.firstPredictMs.toFixed(0),
            ...durations.map((d) => r.latencyMs[String(d)]!.toFixed(0)),
            (r.latencyMs[String(longest)]! / (longest * 1000)).toFixed(3),
            r.uptime,
          ],
    ),
  );
}

function liveTable(rows: (Row | NoteRow)[]): string {
  const header = [
    'model',
    'backend',
    'speech segments',
    'end of segment to result (ms), each',
    'median (ms)',
    'load average (1 min)',
  ];
  return markdown(
    header,
    rows
      .filter((r) => r.kind === 'note' || r.live)
      .map((r) =>
        r.kind === 'note'
          ? noteCells(r, header.length)
          : [
              r.model,
              r.backend,
              String(r.live!.segments.length),
              r.live!.segments.map((s) => s.latencyMs.toFixed(0)).join(', '),
              r.live!.segments.length ? median(r.live!.segments.map((s) => s.latencyMs)).toFixed(0) : '–',
              r.uptime,
            ],
      ),
  );
}

/**
 * A model as a converted folder, as users serve it: tiny converted from its fixture checkpoint into `scratch` (it
 * takes a moment), the synthetic base or large converted once into .bench-cache (bench/converted-cache.ts).
 */
async function prepareModel(name: string, scratch: string): Promise<ServedModel> {
  let dir: string;
  if (name === 'tiny') {
    dir = join(scratch, 'tiny');
    await convertFolder(fixturePath('tiny'), dir, 'float32');
  } else {
    dir = resolve(await convertedModel(name));
  }
  const manifest = JSON.parse(readFileSync(join(dir, CONVERTED_MANIFEST), 'utf8')) as ConvertedManifest;
  const shards = manifest.weightsManifest.flatMap((group) => group.paths);
  return { name, folder: `/models/${name}/`, dir: `${dir}/`, files: [CONVERTED_MANIFEST, ...shards] };
}

/** Why a skipped pair has no numbers: software rendering is what makes a row take minutes. */
function skipNote(backend: string, renderers: { webgl: string; webgpu: string }): string {
  const renderer = backend === 'webgl' ? renderers.webgl : backend === 'webgpu' ? renderers.webgpu : '';
  return /swiftshader|llvmpipe|software/i.test(renderer)
    ? 'skipped (software renderer: minutes per row)'
    : 'skipped (--skip)';
}

/** A failure's message for a table cell: one line, no pipes, capped. */
function cellText(error: unknown): string {
  const message = ((error as Error)?.message ?? String(error)).replace(/\s+/g, ' ').replace(/\|/g, '/');
  return message.length > 120 ? `${message.slice(0, 117)}...` : message;
}

async function main(): Promise<void> {
  if (!HAS_CHROMIUM) {
    process.stdout.write(`bench:browser skipped: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH).\n`);
    return;
  }
  const skips = parseSkips(args.skip);
  const scratch = mkdtempSync(join(tmpdir(), 'e2v-browser-bench-'));
  try {
    await benchInChromium(scratch, skips);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Builds the worker and converts the models into `scratch` (or .bench-cache), then runs every pair in Chromium. */
async function benchInChromium(scratch: string, skips: Set<string>): Promise<void> {
  await build({
    entryPoints: [join(HERE, 'browser-worker.ts')],
    bundle: true,
    format: 'esm',
    splitting: true,
    platform: 'browser',
    target: 'es2022',
    outdir: join(scratch, 'worker'),
    logLevel: 'error',
  });
  const served: ServedModel[] = [];
  for (const name of models) {
    process.stderr.write(`${name}: preparing its converted folder...\n`);
    served.push(await prepareModel(name, scratch));
  }
  const flags = chromiumFlags();
  const harness = await startBrowserHarness<BrowserBenchScenarios>(
    join(HERE, 'browser-page.ts'),
    {
      ...Object.fromEntries(served.map((model) => [model.folder, model.dir])),
      '/worker/': join(scratch, 'worker/'),
    },
    flags,
    true,
  );
  try {
    const renderers = await harness.run('renderers');
    process.stderr.write(`renderers: ${JSON.stringify(renderers)}\n`);
    // The same audio as bench/run.ts: its seeded random samples, scaled to speech-like levels.
    const audios = durations.map((seconds) => ({
      seconds,
      samples: Array.from(randomArray(seconds * SAMPLE_RATE, seconds).map((v) => v * 0.1)),
    }));
    const rows: (Row | NoteRow)[] = [];
    for (const model of served) {
      const measured = backends.filter((backend) => !skips.has(`${model.name}/${backend}`));
      if (measured.length) await harness.run('cacheFiles', { folder: model.folder, files: model.files });
      for (const backend of backends) {
        if (!measured.includes(backend)) {
          const note = skipNote(backend, renderers);
          rows.push({ kind: 'note', model: model.name, backend, note });
          process.stderr.write(`  ${model.name} on ${backend}: ${note}\n`);
          continue;
        }
        try {
          rows.push(await benchOne(harness, model, backend, audios));
        } catch (error) {
          process.stderr.write(`  ${model.name} on ${backend} failed: ${(error as Error)?.message ?? String(error)}\n`);
          rows.push({ kind: 'note', model: model.name, backend, note: `failed: ${cellText(error)}` });
        }
      }
    }
    if (harness.pageErrors.length) process.stderr.write(`page errors: ${harness.pageErrors.join('; ')}\n`);
    const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
    const report =
      `Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine}; \`npm run bench:browser -- ${process.argv.slice(2).join(' ')}\`; ` +
      `Chromium ${CHROMIUM} with flags \`${flags.join(' ')}\`; WebGL renderer "${renderers.webgl}", WebGPU adapter "${renderers.webgpu}"; ` +
      `page cross-origin isolated: ${renderers.isolated} (${renderers.cores} cores); the model in a module worker, ` +
      `loaded from its converted folder (model.json and shards) in the Cache API; ` +
      `median of ${runs} run(s) after one warm-up per length; the same random audio as \`npm run bench\`.\n\n` +
      `Files:\n\n${filesTable(rows)}\n\n` +
      (args.live ? `Live input (phrases.wav in real time, 20 ms pushes):\n\n${liveTable(rows)}\n\n` : '');
    process.stdout.write(report);
    if (args.write) appendFileSync(args.write, report);
  } finally {
    await harness.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});

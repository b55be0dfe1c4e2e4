/**
 * `npm run bench:browser`: the model in headless Chromium, in a module worker (`Emotion2VecWorker`), per backend:
 *
 * - files: load time with the files in the Cache API (a second visit), the first predict (shaders compiled, weights
 *   uploaded), latency per audio length and the real-time factor;
 * - live: test/fixtures/long/phrases.wav pushed into `model.stream()` in real time; for each speech segment, the
 *   time from the push of its last sample to its result (it includes the segmenter's 0.3 s hangover).
 *
 * The page is cross-origin isolated (COOP/COEP), so wasm runs tfjs' threaded build. Without a GPU (the default,
 * --disable-gpu) Chromium runs WebGL and WebGPU in software (SwiftShader): the table names the renderer it got.
 *
 *   npm run bench:browser                                             # tiny and base; wasm, webgl, webgpu
 *   npm run bench:browser -- --models tiny --backends webgpu --durations 5 --runs 1
 *   npm run bench:browser -- --gpu                                    # a machine with a GPU: drop --disable-gpu
 *   npm run bench:browser -- --gpu --chromium-args="--use-angle=vulkan"
 *   npm run bench:browser -- --write bench/RESULTS.md                 # also append the markdown tables there
 *
 * CHROMIUM_PATH picks another Chromium (default /usr/bin/chromium).
 */
import { build } from 'esbuild';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeSafetensors } from '../src/model/checkpoint/safetensors.js';
import {
  CHROMIUM,
  CHROMIUM_FLAGS,
  HAS_CHROMIUM,
  WEBGPU_FLAGS,
  startBrowserHarness,
  type BrowserHarness,
} from '../test/support/browser-harness.js';
import { fixturePath, randomArray, syntheticWeights, type FixtureCase } from '../test/support/fixtures.js';
import type { BrowserBenchScenarios, Live, Loaded } from './browser-page.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'tiny,base' },
    backends: { type: 'string', default: 'wasm,webgl,webgpu' },
    durations: { type: 'string', default: '1,5,10' },
    runs: { type: 'string', default: '3' },
    live: { type: 'boolean', default: true },
    gpu: { type: 'boolean', default: false },
    'chromium-args': { type: 'string', default: '' },
    write: { type: 'string' },
  },
  allowNegative: true,
});

const SAMPLE_RATE = 16000;
const HERE = fileURLToPath(new URL('./', import.meta.url));
const durations = args.durations.split(',').map(Number);
const runs = Number(args.runs);

/** The tests' flags and WebGPU's, less --disable-gpu with --gpu, plus --chromium-args. */
function chromiumFlags(): string[] {
  const base = CHROMIUM_FLAGS.filter((flag) => !(args.gpu && flag === '--disable-gpu'));
  return [...base, ...WEBGPU_FLAGS, ...args['chromium-args'].split(/\s+/).filter(Boolean)];
}

interface Row extends Loaded {
  model: string;
  requested: string;
  firstPredictMs: number;
  /** Median of `runs` after one warm-up, by audio length in seconds. */
  latencyMs: Record<string, number>;
  live: Live | null;
  uptime: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** One model on one backend through the page's steps, reporting each on stderr as it lands. */
async function benchOne(
  harness: BrowserHarness<BrowserBenchScenarios>,
  model: { name: FixtureCase; folder: string; files: string[] },
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

function markdown(header: string[], lines: string[][]): string {
  return [header, header.map((_, i) => (i < 2 ? '---' : '---:')), ...lines]
    .map((cells) => `| ${cells.join(' | ')} |`)
    .join('\n');
}

function filesTable(rows: Row[]): string {
  const longest = durations[durations.length - 1]!;
  return markdown(
    [
      'model',
      'backend',
      'load from the Cache API (ms)',
      'first predict (ms)',
      ...durations.map((d) => `${d} s audio (ms)`),
      `real-time factor (${longest} s)`,
      'load average (1 min)',
    ],
    rows.map((r) => [
      r.model,
      r.backend,
      r.loadMs.toFixed(0),
      r.firstPredictMs.toFixed(0),
      ...durations.map((d) => r.latencyMs[String(d)]!.toFixed(0)),
      (r.latencyMs[String(longest)]! / (longest * 1000)).toFixed(3),
      r.uptime,
    ]),
  );
}

function liveTable(rows: Row[]): string {
  return markdown(
    [
      'model',
      'backend',
      'speech segments',
      'end of segment to result (ms), each',
      'median (ms)',
      'load average (1 min)',
    ],
    rows
      .filter((r) => r.live)
      .map((r) => [
        r.model,
        r.backend,
        String(r.live!.segments.length),
        r.live!.segments.map((s) => s.latencyMs.toFixed(0)).join(', '),
        r.live!.segments.length ? median(r.live!.segments.map((s) => s.latencyMs)).toFixed(0) : '–',
        r.uptime,
      ]),
  );
}

/** Folder URL and file names of a model: tiny as the fixture checkpoint, base/large as synthetic safetensors. */
function prepareModel(name: FixtureCase, scratch: string): { name: FixtureCase; folder: string; files: string[] } {
  if (name === 'tiny') return { name, folder: '/tiny/', files: ['config.yaml', 'tokens.txt', 'model.pt'] };
  const tensors = [...syntheticWeights(name)].map(([key, entry]) => ({
    name: key,
    shape: [...entry.shape],
    data: entry.read(),
  }));
  writeFileSync(join(scratch, 'model.safetensors'), writeSafetensors(tensors));
  for (const file of ['config.yaml', 'tokens.txt'])
    writeFileSync(join(scratch, file), readFileSync(fixturePath(name, file)));
  return { name, folder: '/model/', files: ['config.yaml', 'tokens.txt', 'model.safetensors'] };
}

async function main(): Promise<void> {
  if (!HAS_CHROMIUM) {
    process.stdout.write(`bench:browser skipped: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH).\n`);
    return;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'e2v-browser-bench-'));
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
  const flags = chromiumFlags();
  const harness = await startBrowserHarness<BrowserBenchScenarios>(
    join(HERE, 'browser-page.ts'),
    { '/model/': `${scratch}/`, '/tiny/': `${fixturePath('tiny')}/`, '/worker/': join(scratch, 'worker/') },
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
    const rows: Row[] = [];
    for (const name of args.models.split(',') as FixtureCase[]) {
      const model = prepareModel(name, scratch);
      await harness.run('cacheFiles', { folder: model.folder, files: model.files });
      for (const backend of args.backends.split(',')) {
        try {
          rows.push(await benchOne(harness, model, backend, audios));
        } catch (error) {
          process.stderr.write(`  ${name} on ${backend} failed: ${(error as Error)?.message ?? String(error)}\n`);
        }
      }
    }
    if (harness.pageErrors.length) process.stderr.write(`page errors: ${harness.pageErrors.join('; ')}\n`);
    const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
    const report =
      `Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine}; \`npm run bench:browser -- ${process.argv.slice(2).join(' ')}\`; ` +
      `Chromium ${CHROMIUM} with flags \`${flags.join(' ')}\`; WebGL renderer "${renderers.webgl}", WebGPU adapter "${renderers.webgpu}"; ` +
      `page cross-origin isolated: ${renderers.isolated} (${renderers.cores} cores); the model in a module worker; ` +
      `median of ${runs} run(s) after one warm-up per length; the same random audio as \`npm run bench\`.\n\n` +
      `Files:\n\n${filesTable(rows)}\n\n` +
      (args.live ? `Live input (phrases.wav in real time, 20 ms pushes):\n\n${liveTable(rows)}\n\n` : '');
    process.stdout.write(report);
    if (args.write) appendFileSync(args.write, report);
  } finally {
    await harness.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});

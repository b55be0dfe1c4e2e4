/**
 * `npm run bench:browser`: the measurement of `npm run bench` (load time, latency per audio length, real-time
 * factor, leaked tensors) on the WebGL backend inside headless Chromium. Without a GPU (--disable-gpu, the
 * default) Chromium renders WebGL2 in software with SwiftShader; the table names the renderer it got.
 *
 *   npm run bench:browser                                          # tiny and base, 1/5/10 s, median of 3
 *   npm run bench:browser -- --models large --durations 10 --runs 1
 *   npm run bench:browser -- --gpu                                 # a machine with a GPU: drop --disable-gpu
 *   npm run bench:browser -- --gpu --chromium-args="--use-angle=vulkan --enable-features=Vulkan"
 *   npm run bench:browser -- --write bench/RESULTS.md              # also append the markdown table there
 *
 * CHROMIUM_PATH picks another Chromium (default /usr/bin/chromium).
 */
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
  startBrowserHarness,
  type BrowserHarness,
} from '../test/support/browser-harness.js';
import { fixturePath, randomArray, syntheticWeights, type FixtureCase } from '../test/support/fixtures.js';
import type { Finished, Loaded, WebglScenarios } from './webgl-page.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'tiny,base' },
    durations: { type: 'string', default: '1,5,10' },
    runs: { type: 'string', default: '3' },
    gpu: { type: 'boolean', default: false },
    'chromium-args': { type: 'string', default: '' },
    write: { type: 'string' },
  },
});

const SAMPLE_RATE = 16000;
const PAGE = fileURLToPath(new URL('./webgl-page.ts', import.meta.url));
const durations = args.durations.split(',').map(Number);
const runs = Number(args.runs);

/** The flags Chromium gets: the tests' flags, less --disable-gpu with --gpu, plus --chromium-args. */
function chromiumFlags(): string[] {
  const base = CHROMIUM_FLAGS.filter((flag) => !(args.gpu && flag === '--disable-gpu'));
  return [...base, ...args['chromium-args'].split(/\s+/).filter(Boolean)];
}

interface Row extends Loaded, Finished {
  model: string;
  /** The first predict: WebGL compiles its shaders and uploads the weights to textures here. */
  firstPredictMs: number;
  /** Median of `runs` after one warm-up, by audio length in seconds. */
  latencyMs: Record<string, number>;
  uptime: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** One model through the page's steps, reporting each on stderr as it lands (a slow renderer takes minutes). */
async function benchModel(
  harness: BrowserHarness<WebglScenarios>,
  name: FixtureCase,
  scratch: string,
  audios: { seconds: number; samples: number[] }[],
): Promise<Row> {
  const uptime = loadavg()[0]!.toFixed(2);
  const say = (text: string) => process.stderr.write(`  ${name}: ${text}\n`);
  say(`load average ${uptime}, loading...`);
  const loaded = await harness.run('load', prepareModel(name, scratch));
  say(`loaded in ${loaded.loadMs.toFixed(0)} ms on ${loaded.backend} (float${loaded.floatPrecision})`);
  const [firstPredictMs] = await harness.run('time', { samples: audios[0]!.samples, warmUps: 0, runs: 1 });
  say(`first predict (${audios[0]!.seconds} s) ${firstPredictMs!.toFixed(0)} ms`);
  const latencyMs: Record<string, number> = {};
  for (const { seconds, samples } of audios) {
    const times = await harness.run('time', { samples, warmUps: 1, runs });
    latencyMs[String(seconds)] = median(times);
    say(`${seconds} s audio: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
  }
  const finished = await harness.run('finish');
  say(`tensors leaked ${finished.leaked}, ${finished.leftAfterDispose} left after dispose`);
  rmSync(join(scratch, 'model.safetensors'), { force: true });
  return { model: name, ...loaded, firstPredictMs: firstPredictMs!, latencyMs, ...finished, uptime };
}

function table(rows: Row[], renderer: string): string {
  const longest = durations[durations.length - 1]!;
  const header = [
    'model',
    'backend',
    'load (ms)',
    'first predict (ms)',
    ...durations.map((d) => `${d} s audio (ms)`),
    `real-time factor (${longest} s)`,
    'weights on backend (MiB)',
    'tensors leaked',
    'load average (1 min)',
  ];
  const lines = rows.map((r) => [
    r.model,
    `${r.backend}, float${r.floatPrecision}, ${renderer}`,
    r.loadMs.toFixed(0),
    r.firstPredictMs.toFixed(0),
    ...durations.map((d) => r.latencyMs[String(d)]!.toFixed(0)),
    (r.latencyMs[String(longest)]! / (longest * 1000)).toFixed(3),
    r.weightMiB.toFixed(1),
    `${r.leaked} (${r.leftAfterDispose} after dispose)`,
    r.uptime,
  ]);
  return [header, header.map((_, i) => (i < 2 ? '---' : '---:')), ...lines]
    .map((cells) => `| ${cells.join(' | ')} |`)
    .join('\n');
}

async function main(): Promise<void> {
  if (!HAS_CHROMIUM) {
    process.stdout.write(`bench:browser skipped: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH).\n`);
    return;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'e2v-webgl-bench-'));
  const flags = chromiumFlags();
  const harness = await startBrowserHarness<WebglScenarios>(
    PAGE,
    { '/model/': `${scratch}/`, '/tiny/': `${fixturePath('tiny')}/` },
    flags,
  );
  try {
    const gl = await harness.run('renderer');
    const renderer = /SwiftShader/i.test(gl.renderer) ? 'SwiftShader (software)' : gl.renderer;
    process.stderr.write(`WebGL renderer: ${gl.vendor} / ${gl.renderer} (${gl.version})\n`);
    // The same audio as bench/run.ts: its seeded random samples, scaled to speech-like levels.
    const audios = durations.map((seconds) => ({
      seconds,
      samples: Array.from(randomArray(seconds * SAMPLE_RATE, seconds).map((v) => v * 0.1)),
    }));
    const rows: Row[] = [];
    for (const name of args.models.split(',') as FixtureCase[])
      rows.push(await benchModel(harness, name, scratch, audios));
    if (harness.pageErrors.length) process.stderr.write(`page errors: ${harness.pageErrors.join('; ')}\n`);
    const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
    const report =
      `Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine}; \`npm run bench:browser -- ${process.argv.slice(2).join(' ')}\`; ` +
      `Chromium ${CHROMIUM} with flags \`${flags.join(' ')}\`; WebGL renderer "${gl.vendor} / ${gl.renderer}"; ` +
      `median of ${runs} run(s) after one warm-up per length; the same random audio as \`npm run bench\`.\n\n${table(rows, renderer)}\n\n`;
    process.stdout.write(report);
    if (args.write) appendFileSync(args.write, report);
  } finally {
    await harness.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Folder URL and file names of a model for the page: tiny as the fixture checkpoint, base/large as synthetic
 * safetensors.
 */
function prepareModel(name: FixtureCase, scratch: string): { folder: string; files: string[] } {
  if (name === 'tiny') return { folder: '/tiny/', files: ['config.yaml', 'tokens.txt', 'model.pt'] };
  const tensors = [...syntheticWeights(name)].map(([key, entry]) => ({
    name: key,
    shape: [...entry.shape],
    data: entry.read(),
  }));
  writeFileSync(join(scratch, 'model.safetensors'), writeSafetensors(tensors));
  for (const file of ['config.yaml', 'tokens.txt'])
    writeFileSync(join(scratch, file), readFileSync(fixturePath(name, file)));
  return { folder: '/model/', files: ['config.yaml', 'tokens.txt', 'model.safetensors'] };
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
